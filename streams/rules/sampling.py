"""rules/sampling.yaml: which events the stream drops or keeps only a share of."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from streams.rules.files import RuleModel, label, load_model
from streams.rules.match import Match, Matcher

FILE = "sampling.yaml"
PROTECTED = frozenset({"WARN", "ERROR", "FATAL"})  # never sampled, whatever a rule says


class SamplingRule(RuleModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    match: Match = Field(default_factory=Match)
    keep: float = Field(ge=0, le=1, description="the share kept: 0 drops all, 0.01 keeps 1 in 100, 1 keeps all")
    by: Literal["event_id", "trace_id"] = "event_id"

    @model_validator(mode="after")
    def _never_warnings(self) -> SamplingRule:
        if self.keep < 1:
            exposed = sorted(Matcher(self.match).levels() & PROTECTED)
            if exposed:
                raise ValueError(
                    f"would sample {', '.join(exposed)}: WARN and above are never sampled; "
                    "name the levels it is for (level: [TRACE, DEBUG, INFO])"
                )
        return self


class SamplingTest(RuleModel):
    """A check `loglane validate` runs: the event (defaults filled in) must be kept or dropped."""

    event: dict[str, str]
    kept: bool
    rule: str | None = None  # the rule that decides it (None: no rule matches)


class SamplingFile(RuleModel):
    rules: list[SamplingRule] = Field(default_factory=list)
    tests: list[SamplingTest] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> SamplingFile:
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"rule name(s) used twice: {', '.join(twice)}")
        return self


def share(key: str) -> float:
    """Where key falls in [0, 1): the same for the same key on every run and every worker."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64


TEST_DEFAULTS = {
    "event_id": "00000000-0000-4000-8000-000000000000", "trace_id": "0" * 32, "tenant": "default",
    "environment": "prod", "service": "svc", "level": "INFO", "message": "",
}


class SamplingRules:
    def __init__(self, document: SamplingFile) -> None:
        self.document = document
        self._rules = [(rule, Matcher(rule.match)) for rule in document.rules]

    def decide(self, event: dict[str, Any]) -> SamplingRule | None:
        """The rule that drops the event, or None when it is kept."""
        if event["level"] in PROTECTED:
            return None
        for rule, matches in self._rules:
            if matches(event):
                if rule.keep >= 1 or (rule.keep > 0 and share(str(event[rule.by])) < rule.keep):
                    return None
                return rule
        return None

    def first_match(self, event: dict[str, Any]) -> SamplingRule | None:
        return next((rule for rule, matches in self._rules if matches(event)), None)

    def test_failures(self) -> list[str]:
        failures = []
        for index, test in enumerate(self.document.tests):
            event = {**TEST_DEFAULTS, **test.event}
            kept = self.decide(event) is None
            rule = self.first_match(event)
            if kept != test.kept or (test.rule is not None and (rule is None or rule.name != test.rule)):
                failures.append(
                    f"{label(FILE)}: tests[{index}]: {test.event} was {'kept' if kept else 'dropped'} by rule "
                    f"{rule.name if rule else None!r}, expected {'kept' if test.kept else 'dropped'}"
                    + (f" by {test.rule!r}" if test.rule else "")
                )
        return failures


def load(project_dir: Path) -> SamplingRules:
    return SamplingRules(load_model(project_dir, FILE, SamplingFile))


def from_mapping(document: dict[str, Any]) -> SamplingRules:
    return SamplingRules(SamplingFile.model_validate(document))
