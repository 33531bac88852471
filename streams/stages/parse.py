"""Parse: an event whose message carries unstructured text (JSON, logfmt, syslog, access logs, a
stack trace...) is parsed by the patterns of rules/parse.yaml, and what they extract goes to its
attributes; see that file for the semantics. Parsing never refuses an event: text no pattern
reads stays as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.rules.files import label
from streams.rules.parse import (
    FILE, PLACEHOLDER, Fields, JsonPattern, LevelReading, LogfmtPattern, ParseFile, RegexPattern, StackTrace,
)
from streams.stages.timestamps import iso, parse_timestamp
from streams.stages.types import LogEvent

STAGE = "parse"
PARSER = "loglane.parser"  # the attribute naming what parsed the event
LevelOf = Callable[[str], str | None]

SYSLOG_SEVERITY = ("FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")  # RFC 5424, 0-7


@dataclass(frozen=True)
class Parsed:
    """What the text gave: the parsers that read it (a stack trace, then a pattern), attributes,
    and the message, level (a level name) and time when the text holds them."""

    parsers: tuple[str, ...]
    attributes: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    level: str | None = None
    timestamp: datetime | None = None
    exception: dict[str, str | None] | None = None


@dataclass(frozen=True)
class _Found:
    attributes: dict[str, str]
    message: str | None = None
    level: str | None = None
    timestamp: datetime | None = None


# --- stack traces ----------------------------------------------------------------------------
PY_TRACEBACK = "Traceback (most recent call last):"
_PY_CHAIN = ("Traceback (", "During handling of the above exception", "The above exception was the direct cause")
_PY_TYPE = re.compile(r"[A-Za-z_][\w.]*")
_JAVA_HEADER = re.compile(
    r'^(?:Exception in thread "[^"\n]*" )?(?P<type>(?:[a-zA-Z_$][\w$]*\.)+[A-Za-z_$][\w$]*)(?:: (?P<message>.*))?$',
    re.MULTILINE,
)
_JAVA_FRAME = re.compile(r"[ \t]+at [\w$.<>/]+\(")


def python_trace(text: str) -> tuple[str, dict[str, str | None]] | None:
    """(the text before the trace, the exception) for a Python traceback in text."""
    start = text.find(PY_TRACEBACK)
    if start < 0:
        return None
    trace = text[start:].rstrip()
    for line in reversed(trace.splitlines()):
        if line.strip() and not line[0].isspace() and not line.startswith(_PY_CHAIN):
            kind, _, message = line.partition(": ")
            if not _PY_TYPE.fullmatch(kind):
                kind, message = line, ""
            return text[:start].rstrip(), {"type": kind, "message": message, "stack": trace}
    return None


def java_trace(text: str) -> tuple[str, dict[str, str | None]] | None:
    """(the text before the trace, the exception) for a Java stack trace (a qualified exception
    type, then "at ..." frames) in text."""
    if "at " not in text:
        return None
    for match in _JAVA_HEADER.finditer(text):
        following = text[match.end() + 1:]
        if _JAVA_FRAME.match(following):
            exception = {"type": match["type"], "message": match["message"] or "", "stack": text[match.start():].rstrip()}
            return text[:match.start()].rstrip(), exception
    return None


TRACES: dict[StackTrace, Callable[[str], tuple[str, dict[str, str | None]] | None]] = {
    StackTrace.PYTHON: python_trace,
    StackTrace.JAVA: java_trace,
}


# --- patterns --------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def flatten(document: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested keys joined with dots; values as text (lists and numbers as JSON); nulls left out."""
    flat: dict[str, str] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        elif value is not None:
            flat[name] = _text(value)
    return flat


_LOGFMT_PAIR = re.compile(r'([\w.\-/@]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))')
_SPACE = re.compile(r"\s+")


def logfmt_pairs(text: str) -> dict[str, str] | None:
    """The pairs of a line that is nothing but key=value pairs (at least two), else None."""
    pairs: dict[str, str] = {}
    position, end = 0, len(text)
    while position < end:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
            continue
        match = _LOGFMT_PAIR.match(text, position)
        if match is None:
            return None
        quoted = match.group(2)
        pairs[match.group(1)] = quoted.replace('\\"', '"') if quoted is not None else match.group(3)
        position = match.end()
    return pairs if len(pairs) >= 2 else None


class Parser:
    """rules/parse.yaml, compiled. level_of reads a level alias (rules/normalize.yaml)."""

    def __init__(self, document: ParseFile, level_of: LevelOf) -> None:
        self.document = document
        self._level_of = level_of
        self._regexes = {
            p.name: re.compile(p.regex, re.DOTALL) for p in document.patterns if isinstance(p, RegexPattern)
        }
        self.continuation = re.compile(document.multiline.continuation)

    def _level(self, value: str, reading: LevelReading) -> str | None:
        try:
            if reading is LevelReading.SYSLOG_PRI:
                return SYSLOG_SEVERITY[int(value) % 8]
            if reading is LevelReading.HTTP_STATUS:
                status = int(value)
                return "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        except ValueError:
            return None
        return self._level_of(value)

    def _fields(self, flat: dict[str, str], fields: Fields, prefix: str, now: datetime) -> _Found:
        """The message, level and time of a parsed object, taken out of its attributes when read
        (a level that reads as none stays an attribute)."""
        used: set[str] = set()
        message = next((flat[key] for key in fields.message if key in flat), None)
        if message is not None:
            used.add(next(key for key in fields.message if key in flat))
        level_key = next((key for key in fields.level if key in flat), None)
        level = self._level_of(flat[level_key]) if level_key else None
        if level is not None and level_key:
            used.add(level_key)
        time_key = next((key for key in fields.timestamp if key in flat), None)
        moment = parse_timestamp(flat[time_key], now) if time_key else None
        if moment is not None and time_key:
            used.add(time_key)
        attributes = {f"{prefix}{key}": value for key, value in flat.items() if key not in used}
        return _Found(attributes, message, level, moment)

    def _json(self, pattern: JsonPattern, text: str, now: datetime) -> _Found | None:
        if "{" not in text:
            return None
        stripped = text.strip()
        document: Any = None
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                document = json.loads(stripped)
            except ValueError:
                document = None
        if document is None and pattern.embedded:
            decoder = json.JSONDecoder()
            start = text.find("{")
            for _ in range(8):  # the first few candidates only: linear on long text
                if start < 0:
                    break
                try:
                    document, _ = decoder.raw_decode(text, start)
                    break
                except ValueError:
                    start = text.find("{", start + 1)
        if not isinstance(document, dict) or not document:
            return None
        return self._fields(flatten(document), pattern.fields, pattern.prefix, now)

    def _logfmt(self, pattern: LogfmtPattern, text: str, now: datetime) -> _Found | None:
        if "=" not in text:
            return None
        pairs = logfmt_pairs(text.strip())
        return None if pairs is None else self._fields(pairs, pattern.fields, pattern.prefix, now)

    def _regex(self, pattern: RegexPattern, text: str, now: datetime) -> _Found | None:
        match = self._regexes[pattern.name].search(text)
        if match is None:
            return None
        groups = {name: value for name, value in match.groupdict().items() if value not in (None, "", "-")}
        used: set[str] = set()
        message = None
        if pattern.message is not None:
            names = PLACEHOLDER.findall(pattern.message)
            if names:
                message = PLACEHOLDER.sub(lambda m: groups.get(m.group(1), "-"), pattern.message)
            elif pattern.message in groups:
                message = groups[pattern.message]
                used.add(pattern.message)
            else:
                message = ""
        moment = None
        if pattern.timestamp and pattern.timestamp in groups:
            moment = parse_timestamp(groups[pattern.timestamp], now)
            if moment is not None:
                used.add(pattern.timestamp)
        level = None
        if pattern.level and pattern.level.group in groups:
            level = self._level(groups[pattern.level.group], pattern.level.read_as)
            if level is not None and pattern.level.read_as is LevelReading.ALIAS:
                used.add(pattern.level.group)
        attributes = {f"{pattern.prefix}{name}": value for name, value in groups.items() if name not in used}
        return _Found(attributes, message, level, moment)

    def extract(self, text: str, now: datetime) -> Parsed | None:
        """What the text holds, or None when neither a stack trace nor any pattern reads it."""
        parsers: list[str] = []
        exception = None
        for kind in self.document.stack_traces:
            trace = TRACES[kind](text)
            if trace is not None:
                text, exception = trace
                parsers.append(kind.value)
                break
        found = None
        for pattern in self.document.patterns:
            if isinstance(pattern, RegexPattern):
                found = self._regex(pattern, text, now)
            elif isinstance(pattern, JsonPattern):
                found = self._json(pattern, text, now)
            else:
                found = self._logfmt(pattern, text, now)
            if found is not None:
                parsers.append(pattern.name)
                break
        if not parsers:
            return None
        if found is None:  # only a stack trace: the text before it, or the exception's own line
            summary = f"{exception['type']}: {exception['message']}".rstrip(": ") if exception else ""
            return Parsed(tuple(parsers), message=text or summary, exception=exception)
        return Parsed(tuple(parsers), found.attributes, found.message, found.level, found.timestamp, exception)

    @property
    def pattern_names(self) -> list[str]:
        return [pattern.name for pattern in self.document.patterns]

    def test_failures(self, now: datetime) -> list[str]:
        failures = []
        for index, test in enumerate(self.document.tests):
            parsed = self.extract(test.input, now)
            pattern = parsed.parsers[-1] if parsed and parsed.parsers[-1] in self.pattern_names else None
            got: dict[str, object] = {"pattern": pattern}
            want: dict[str, object] = {"pattern": test.pattern}
            if parsed is not None:
                actual = {
                    "message": parsed.message, "level": parsed.level,
                    "timestamp": iso(parsed.timestamp) if parsed.timestamp else None,
                    "exception_type": parsed.exception["type"] if parsed.exception else None,
                }
                for key, value in actual.items():
                    if getattr(test, key) is not None:
                        got[key], want[key] = value, getattr(test, key)
                for key, value in test.attributes.items():
                    got[f"attributes.{key}"], want[f"attributes.{key}"] = parsed.attributes.get(key), value
            wrong = [f"{key} {got.get(key)!r} (expected {value!r})" for key, value in want.items() if got.get(key) != value]
            if wrong:
                failures.append(f"{label(FILE)}: tests[{index}]: {test.input[:60]!r} gave " + ", ".join(wrong))
        return failures


def parse(event: LogEvent, parser: Parser, now: datetime) -> LogEvent:
    """The event with what its message holds: attributes added (the producer's win), the message,
    level and time replaced when the text has them, the exception when the event had none."""
    parsed = parser.extract(event["message"], now)
    if parsed is None:
        return event
    attributes = {**parsed.attributes, **event["attributes"], PARSER: ",".join(parsed.parsers)}
    result: LogEvent = {**event, "attributes": attributes}
    if parsed.message is not None:
        result["message"] = parsed.message
    if parsed.level is not None:
        result["level"] = parsed.level
    if parsed.timestamp is not None:
        result["timestamp"] = parsed.timestamp
    if parsed.exception is not None and event.get("exception") is None:
        result["exception"] = parsed.exception
    return result
