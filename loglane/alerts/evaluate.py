"""Pure evaluation: one rule, one group, one closed window's counts (and the windows before it, for a
baseline) in; the rule's new state and a fired or resolved alert (or nothing) out. No clock, no I/O:
the caller passes the time of the decision.

Episodes: a rule fires once when its condition holds and it is not firing; while the condition keeps
holding nothing more is emitted (the peak is kept); the first window where it no longer holds
resolves it, with the same alert id. A new episode may fire only once the cooldown has passed since
the end of the window that fired the previous one (event time, so a replay decides the same)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from loglane.alerts.rules import ConditionKind, Group, Rule, level_rank

MAX_SAMPLES = 5
_ALERT_NAMESPACE = uuid.UUID("6f1c1c62-5b4e-4d38-9a0b-6c3f4d1e2a77")


@dataclass(frozen=True)
class WindowCounts:
    """One group's events in one window: counts per level and a few event ids per level."""

    start_ms: int
    end_ms: int
    levels: Mapping[str, int] = field(default_factory=dict)
    samples: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.levels.values())

    def at_or_above(self, level: str) -> int:
        rank = level_rank(level)
        return sum(n for name, n in self.levels.items() if level_rank(name) >= rank)

    def samples_at_or_above(self, level: str, limit: int = MAX_SAMPLES) -> tuple[str, ...]:
        rank = level_rank(level)
        found: list[str] = []
        # Most severe first: a FATAL's id says more than an ERROR's.
        for name in sorted(self.samples, key=level_rank, reverse=True):
            if level_rank(name) >= rank:
                found.extend(self.samples[name])
        return tuple(found[:limit])


@dataclass(frozen=True)
class Observation:
    met: bool
    observed: float  # count, ratio, or count (baseline)
    threshold: float  # what observed had to exceed


def observe(rule: Rule, counts: WindowCounts, history: Sequence[WindowCounts] | None = ()) -> Observation:
    """Does the rule's condition hold for this window? history: the windows before it, for a baseline;
    None when the service was not counted that long ago (new, or new to this worker's tables): a
    baseline rule then does not fire, as there is no baseline to exceed."""
    condition = rule.condition
    hits = counts.at_or_above(condition.level)
    if condition.kind is ConditionKind.COUNT:
        return Observation(hits > condition.above, float(hits), condition.above)
    if condition.kind is ConditionKind.RATIO:
        total = counts.total
        ratio = hits / total if total else 0.0
        return Observation(total >= condition.min_events and ratio > condition.above, ratio, condition.above)
    if history is None:
        return Observation(False, float(hits), float("inf"))
    # A window missing from history had no events: it counts as 0, not as unknown.
    windows = condition.baseline_windows
    mean = sum(w.at_or_above(condition.level) for w in history[-windows:]) / windows if windows else 0.0
    threshold = condition.above * mean
    return Observation(hits >= condition.min_events and hits > threshold, float(hits), threshold)


class AlertState(StrEnum):
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class RuleState:
    """What one rule remembers about one group between windows. While firing it also keeps what the
    alert said (severity, scope, condition, channels as when it fired), so the episode resolves the
    same way even if the rule changed or was removed meanwhile."""

    alert_id: str | None = None  # set while an episode is open (firing)
    fired_at: int | None = None
    window_start: int | None = None  # of the window that fired
    window_end: int | None = None
    observed: float = 0.0  # the peak while firing
    threshold: float = 0.0
    samples: tuple[str, ...] = ()
    last_fired_end: int | None = None  # end of the window that fired last: the cooldown counts from it
    severity: str = ""
    scope: str = ""
    condition: str = ""
    channels: tuple[str, ...] = ()

    @property
    def firing(self) -> bool:
        return self.alert_id is not None

    def to_json(self) -> dict[str, Any]:
        if not self.firing:
            return {"last_fired_end": self.last_fired_end}
        return {
            "alert_id": self.alert_id, "fired_at": self.fired_at, "window_start": self.window_start,
            "window_end": self.window_end, "observed": self.observed, "threshold": self.threshold,
            "samples": list(self.samples), "last_fired_end": self.last_fired_end, "severity": self.severity,
            "scope": self.scope, "condition": self.condition, "channels": list(self.channels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleState:
        return cls(
            data.get("alert_id"), data.get("fired_at"), data.get("window_start"), data.get("window_end"),
            float(data.get("observed", 0.0)), float(data.get("threshold", 0.0)), tuple(data.get("samples", ())),
            data.get("last_fired_end"), str(data.get("severity", "")), str(data.get("scope", "")),
            str(data.get("condition", "")), tuple(data.get("channels", ())),
        )

    def alert(self, rule: str, group: Group, status: AlertState, now: int, summary: str) -> Alert:
        """The alert record of this episode (fired, or resolved at now)."""
        assert self.alert_id is not None and self.fired_at is not None, "no open episode"
        assert self.window_start is not None and self.window_end is not None
        return Alert(
            self.alert_id, rule, status, self.severity, group, self.scope, self.condition, self.window_start,
            self.window_end, self.observed, self.threshold, self.fired_at,
            now if status is AlertState.RESOLVED else None, self.samples, self.channels, summary, now,
        )

    def resolution(self, rule: str, group: Group, now: int, why: str) -> Alert:
        summary = f"RESOLVED {rule}: {group.render()}: {why}"
        return self.alert(rule, group, AlertState.RESOLVED, now, summary)


@dataclass(frozen=True)
class Alert:
    """A fired or resolved alert: the Alert record of schemas/alert.avsc, times in ms."""

    alert_id: str
    rule: str
    state: AlertState
    severity: str
    group: Group
    scope: str
    condition: str
    window_start: int
    window_end: int
    observed: float
    threshold: float
    fired_at: int
    resolved_at: int | None
    sample_event_ids: tuple[str, ...]
    channels: tuple[str, ...]
    summary: str
    updated_at: int

    def to_record(self) -> dict[str, Any]:
        """As the Avro writer takes it (timestamp-millis fields as ms ints)."""
        return {
            "alert_id": self.alert_id, "rule": self.rule, "state": str(self.state), "severity": self.severity,
            "tenant": self.group.tenant, "service": self.group.service, "environment": self.group.environment,
            "scope": self.scope, "condition": self.condition, "window_start": self.window_start,
            "window_end": self.window_end, "observed": self.observed, "threshold": self.threshold,
            "fired_at": self.fired_at, "resolved_at": self.resolved_at,
            "sample_event_ids": list(self.sample_event_ids), "channels": list(self.channels),
            "summary": self.summary, "updated_at": self.updated_at,
        }


def alert_id(rule: str, group: Group, window_start: int) -> str:
    """Stable per episode: evaluating the same window again (after a crash) gives the same id, so the
    PostgreSQL upsert and receivers that dedupe see one alert."""
    return str(uuid.uuid5(_ALERT_NAMESPACE, f"{rule}\x1f{group.tenant}\x1f{group.service}\x1f{group.environment}\x1f{window_start}"))


def iso(ms: int) -> str:
    """Epoch milliseconds as UTC ISO 8601, e.g. 2026-03-01T12:00:00Z."""
    moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


def _value(rule: Rule, value: float) -> str:
    return f"{value:.1%}" if rule.condition.kind is ConditionKind.RATIO else f"{value:g}"


def evaluate(
    rule: Rule,
    group: Group,
    counts: WindowCounts,
    history: Sequence[WindowCounts] | None,
    state: RuleState,
    now: int,
    applies: bool = True,
) -> tuple[RuleState, Alert | None]:
    """The state after this window and the alert it emits, if any. applies=False: the rule no longer
    covers the group (its scope changed, or it was removed), which clears the condition."""
    seen = observe(rule, counts, history) if applies else Observation(False, 0.0, rule.condition.above)
    if state.firing:
        if seen.met:
            return replace(state, observed=max(state.observed, seen.observed)), None
        why = (
            f"{state.condition} no longer holds (window {iso(counts.start_ms)} to {iso(counts.end_ms)}: "
            f"{_value(rule, seen.observed)})" if applies else "the rule no longer covers it"
        )
        return RuleState(last_fired_end=state.last_fired_end), state.resolution(rule.name, group, now, why)
    if not seen.met:
        return state, None
    if state.last_fired_end is not None and counts.end_ms < state.last_fired_end + rule.cooldown_ms:
        return state, None  # in cooldown: this storm is not a new episode worth a notification
    fired = RuleState(
        alert_id(rule.name, group, counts.start_ms), now, counts.start_ms, counts.end_ms, seen.observed,
        seen.threshold, counts.samples_at_or_above(rule.condition.level), counts.end_ms, rule.severity,
        rule.scope.render(), rule.condition.describe(), rule.channel_names,
    )
    summary = (
        f"[{rule.severity}] {rule.name}: {group.render()}: {_value(rule, seen.observed)} "
        f"where {rule.condition.describe()} (threshold {_value(rule, seen.threshold)}, "
        f"window {iso(counts.start_ms)} to {iso(counts.end_ms)})"
    )
    return fired, fired.alert(rule.name, group, AlertState.FIRED, now, summary)
