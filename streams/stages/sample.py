"""Sample: whether rules/sampling.yaml drops the event (by the first rule that matches it, by a
hash of its event_id or trace_id, never WARN and above); dropped events are counted by rule."""

from __future__ import annotations

from streams.rules.sampling import SamplingRules
from streams.stages.types import LogEvent

STAGE = "sample"


def sample(event: LogEvent, rules: SamplingRules) -> str | None:
    """The name of the rule that drops the event, or None when it is kept."""
    rule = rules.decide(event)
    return rule.name if rule is not None else None
