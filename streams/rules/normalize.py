"""rules/normalize.yaml: level aliases and how far an event time may be from the stream's clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from streams.rules.durations import Duration
from streams.rules.files import RuleModel, label, load_model
from streams.stages.timestamps import iso, parse_timestamp

FILE = "normalize.yaml"
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


class Timestamps(RuleModel):
    max_ahead: Duration = Field(timedelta(days=1))
    max_age: Duration = Field(timedelta(days=7))

    @field_validator("max_ahead", "max_age")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class NormalizeTest(RuleModel):
    level: str | None = None
    timestamp: str | None = None
    expect: str | None = Field(description="the level name, the ISO time, or null when it must not normalize")

    @model_validator(mode="after")
    def _one(self) -> NormalizeTest:
        if (self.level is None) == (self.timestamp is None):
            raise ValueError("a test names either a level or a timestamp")
        return self


class NormalizeFile(RuleModel):
    levels: dict[str, list[str]] = Field(default_factory=dict)
    timestamps: Timestamps = Field(default_factory=Timestamps)
    tests: list[NormalizeTest] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(LEVELS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: levels are {', '.join(LEVELS)}")
        seen: dict[str, str] = {name.lower(): name for name in LEVELS}
        for name, aliases in value.items():
            for alias in aliases:
                folded = str(alias).strip().lower()
                if folded in seen and seen[folded] != name:
                    raise ValueError(f"alias {alias!r} of {name} is already {seen[folded]}'s")
                seen[folded] = name
        return value


class NormalizeRules:
    def __init__(self, document: NormalizeFile) -> None:
        self.document = document
        self.max_ahead = document.timestamps.max_ahead
        self.max_age = document.timestamps.max_age
        self._aliases = {name.lower(): name for name in LEVELS}
        for name, aliases in document.levels.items():
            self._aliases.update({str(alias).strip().lower(): name for alias in aliases})

    def level(self, value: str) -> str | None:
        """TRACE..FATAL for a spelling producers use, case-insensitive; None when unknown."""
        return self._aliases.get(value.strip().lower())

    @property
    def aliases(self) -> list[str]:
        return list(self._aliases)

    def test_failures(self) -> list[str]:
        failures = []
        for index, test in enumerate(self.document.tests):
            if test.level is not None:
                got = self.level(test.level)
            else:
                moment = parse_timestamp(test.timestamp)
                got = iso(moment) if moment else None
            if got != test.expect:
                given = test.level if test.level is not None else test.timestamp
                failures.append(f"{label(FILE)}: tests[{index}]: {given!r} gave {got!r}, expected {test.expect!r}")
        return failures


def load(project_dir: Path) -> NormalizeRules:
    return NormalizeRules(load_model(project_dir, FILE, NormalizeFile))


def from_mapping(document: dict[str, Any]) -> NormalizeRules:
    return NormalizeRules(NormalizeFile.model_validate(document))
