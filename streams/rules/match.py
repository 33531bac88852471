"""Which events a sampling or routing rule is about: every field named must fit (values are exact
names or globs, ``checkout-*``), and ``message`` is a regex searched in the message."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from pydantic import Field, field_validator

from streams.rules.files import Regex, RuleModel
from streams.rules.normalize import LEVELS
from streams.stages.types import LogEvent


class Match(RuleModel):
    tenant: list[str] | None = None
    environment: list[str] | None = None
    service: list[str] | None = None
    level: list[str] | None = Field(None, description="level names after normalization: TRACE ... FATAL")
    message: Regex | None = None

    @field_validator("level")
    @classmethod
    def _levels(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(LEVELS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: levels are {', '.join(LEVELS)}")
        return value


def _fits(value: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(value == p or fnmatch.fnmatchcase(value, p) for p in patterns)


class Matcher:
    def __init__(self, match: Match) -> None:
        self.match = match
        self._message = re.compile(match.message) if match.message is not None else None
        self._levels = frozenset(match.level) if match.level is not None else None

    def __call__(self, event: LogEvent | dict[str, Any]) -> bool:
        m = self.match
        return (
            (self._levels is None or event["level"] in self._levels)
            and _fits(event["environment"], m.environment)
            and _fits(event["service"], m.service)
            and _fits(event["tenant"], m.tenant)
            and (self._message is None or self._message.search(event["message"]) is not None)
        )

    def levels(self) -> frozenset[str]:
        """The levels this can match: all six unless it names some."""
        return self._levels if self._levels is not None else frozenset(LEVELS)
