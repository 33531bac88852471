"""rules/parse.yaml: the stack-trace extractors to run and the ordered patterns that parse text."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from streams.rules.files import Regex, RuleModel, load_model

FILE = "parse.yaml"
NAME = re.compile(r"[a-z][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class StackTrace(StrEnum):
    PYTHON = "python"
    JAVA = "java"


class LevelReading(StrEnum):
    ALIAS = "alias"  # as rules/normalize.yaml's aliases read it
    SYSLOG_PRI = "syslog_pri"  # a syslog PRI: facility * 8 + severity
    HTTP_STATUS = "http_status"  # 5xx ERROR, 4xx WARN, else INFO




class LevelFrom(RuleModel):
    group: str
    read_as: LevelReading = LevelReading.ALIAS


class Fields(RuleModel):
    """The keys of a JSON object or logfmt line that hold the message, level and time."""

    message: list[str] = Field(default_factory=list)
    level: list[str] = Field(default_factory=list)
    timestamp: list[str] = Field(default_factory=list)


class RegexPattern(RuleModel):
    name: str
    type: Literal["regex"]
    regex: Regex
    prefix: str = ""
    message: str | None = Field(None, description="a group, or a template of groups: '{method} {path}'")
    timestamp: str | None = None
    level: LevelFrom | None = None

    @model_validator(mode="after")
    def _groups_exist(self) -> RegexPattern:
        groups = set(re.compile(self.regex).groupindex)
        if not groups:
            raise ValueError("the regex has no named groups ((?P<name>...)): nothing to extract")
        named = [("timestamp", self.timestamp), ("level.group", self.level.group if self.level else None)]
        if self.message is not None:
            wanted = PLACEHOLDER.findall(self.message) or [self.message]
            named += [("message", group) for group in wanted]
        for where, group in named:
            if group is not None and group not in groups:
                raise ValueError(f"{where}: no group {group!r} in the regex; groups: {', '.join(sorted(groups))}")
        return self


class JsonPattern(RuleModel):
    name: str
    type: Literal["json"]
    embedded: bool = Field(False, description="find an object inside the text, not only a whole-JSON message")
    prefix: str = ""
    fields: Fields = Field(default_factory=Fields)


class LogfmtPattern(RuleModel):
    name: str
    type: Literal["logfmt"]
    prefix: str = ""
    fields: Fields = Field(default_factory=Fields)


Pattern = Annotated[RegexPattern | JsonPattern | LogfmtPattern, Field(discriminator="type")]


class Multiline(RuleModel):
    continuation: Regex = r"^[ \t]+\S"


class ParseTest(RuleModel):
    """A check `loglane validate` runs: what parsing input must give (unnamed keys: not checked)."""

    input: str
    pattern: str | None = Field(description="the pattern that must match; null: none may")
    message: str | None = None
    level: str | None = None
    timestamp: str | None = None
    exception_type: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class ParseFile(RuleModel):
    stack_traces: list[StackTrace] = Field(default_factory=lambda: [StackTrace.PYTHON, StackTrace.JAVA])
    patterns: list[Pattern] = Field(default_factory=list)
    multiline: Multiline = Field(default_factory=Multiline)
    tests: list[ParseTest] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> ParseFile:
        seen: set[str] = set()
        for index, pattern in enumerate(self.patterns):
            if not NAME.fullmatch(pattern.name):
                raise ValueError(f"patterns[{index}]: name {pattern.name!r}: use lower-case letters, digits and _")
            if pattern.name in seen:
                raise ValueError(f"patterns[{index}]: name {pattern.name!r} is used twice")
            seen.add(pattern.name)
        for index, test in enumerate(self.tests):
            if test.pattern is not None and test.pattern not in seen:
                raise ValueError(f"tests[{index}]: no pattern named {test.pattern!r}")
        return self


def load(project_dir: Path) -> ParseFile:
    return load_model(project_dir, FILE, ParseFile)


def from_mapping(document: dict[str, Any]) -> ParseFile:
    return ParseFile.model_validate(document)
