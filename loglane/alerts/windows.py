"""Event-time windows for alert rules, over an injected store (Faust tables in the worker, dicts in
tests and in `loglane alerts test`).

Counting: each event adds 1 to its group's bucket of `step` ms (tenant, service, environment ->
counts per level, a few event ids), by event time. Rule windows are tumbling, aligned to multiples
of their length, and made of buckets.

Watermark, per partition (a group's events share one: `processed` is keyed by service): the latest
event time seen; when a partition has received nothing for `max_delay`, the wall clock minus
`max_delay` instead, so the windows of a service that went silent still close (and resolve).

A rule window [start, end) is decided once the watermark passes end + the rule's grace: an event
that arrives later than that is still counted (it feeds later baselines) but never changes a
decision already made. Events older than the retention are dropped as too late.

Decisions per window go through loglane.alerts.evaluate; this module only knows which windows close
and which counts they hold. The state of each partition (watermark, what is decided, what is
cleaned) and of each group (newest bucket, each rule's episode) is in the store, so a restarted
worker continues where the last one stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from loglane.alerts.evaluate import Alert, RuleState, WindowCounts, evaluate
from loglane.alerts.rules import LEVELS, Group, Rule

SAMPLES_PER_LEVEL = 3
_LEVEL_ALIASES = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "CRIT": "FATAL", "PANIC": "FATAL",
                  "INFORMATION": "INFO", "NOTICE": "INFO"}


@dataclass(frozen=True)
class WindowConfig:
    step_ms: int
    retention_ms: int
    max_delay_ms: int

    @classmethod
    def from_settings(cls, settings: Any) -> WindowConfig:
        return cls(settings.alerts_step * 1000, settings.alerts_retention * 1000, int(settings.alerts_max_delay * 1000))


@dataclass(frozen=True)
class Sighting:
    """What counting needs of one event."""

    timestamp_ms: int
    group: Group
    level: str
    event_id: str


def _millis(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"timestamp {value!r} is neither epoch milliseconds nor ISO 8601")
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is neither epoch milliseconds nor ISO 8601") from None
    return int(value)


def normalize_level(level: str) -> str:
    name = level.strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    return name if name in LEVELS else "INFO"


def sighting_of(event: Mapping[str, Any]) -> Sighting:
    """From a (Processed)LogEvent dict as fastavro reads it, or as JSON (timestamp in ms or ISO 8601)."""
    group = Group(str(event.get("tenant") or "default"), str(event["service"]), str(event["environment"]))
    return Sighting(_millis(event["timestamp"]), group, normalize_level(str(event["level"])), str(event["event_id"]))


@dataclass(frozen=True)
class Bucket:
    levels: Mapping[str, int] = field(default_factory=dict)
    samples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, level: str, event_id: str) -> Bucket:
        levels = {**self.levels, level: self.levels.get(level, 0) + 1}
        kept = self.samples.get(level, ())
        samples = self.samples if len(kept) >= SAMPLES_PER_LEVEL else {**self.samples, level: (*kept, event_id)}
        return Bucket(levels, samples)

    def to_json(self) -> dict[str, Any]:
        return {"n": dict(self.levels), "s": {k: list(v) for k, v in self.samples.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bucket:
        return cls(dict(data.get("n", {})), {k: tuple(v) for k, v in data.get("s", {}).items()})


@dataclass(frozen=True)
class GroupEntry:
    partition: int
    last: int  # start of the newest bucket holding events
    rules: Mapping[str, RuleState] = field(default_factory=dict)
    first: int | None = None  # start of the oldest bucket ever counted (None: as last)

    @property
    def since(self) -> int:
        return self.last if self.first is None else self.first

    def with_rule(self, name: str, state: RuleState) -> GroupEntry:
        rules = {k: v for k, v in self.rules.items() if k != name}
        if state != RuleState():
            rules[name] = state
        return replace(self, rules=rules)

    @property
    def firing(self) -> bool:
        return any(state.firing for state in self.rules.values())

    def to_json(self) -> dict[str, Any]:
        return {"p": self.partition, "first": self.since, "last": self.last,
                "rules": {k: v.to_json() for k, v in self.rules.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroupEntry:
        rules = {k: RuleState.from_json(v) for k, v in data.get("rules", {}).items()}
        return cls(int(data["p"]), int(data["last"]), rules, data.get("first"))


@dataclass
class PartitionClock:
    watermark: int  # event time this partition has reached (or the wall clock allows)
    evaluated: int  # every rule window closing at or before this is decided
    cut: int  # buckets starting before this are gone: events for them are too late

    def to_json(self) -> dict[str, Any]:
        return {"watermark": self.watermark, "evaluated": self.evaluated, "cut": self.cut}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PartitionClock:
        return cls(int(data["watermark"]), int(data["evaluated"]), int(data["cut"]))


class Store(Protocol):
    """Where counts and states live. Each call concerns one partition (the Faust tables take it
    from the event being processed; a dict store keys by it)."""

    def get_bucket(self, partition: int, group: Group, start: int) -> Bucket | None: ...
    def put_bucket(self, partition: int, group: Group, start: int, bucket: Bucket) -> None: ...
    def drop_bucket(self, partition: int, group: Group, start: int) -> None: ...
    def get_group(self, partition: int, group: Group) -> GroupEntry | None: ...
    def put_group(self, partition: int, group: Group, entry: GroupEntry) -> None: ...
    def drop_group(self, partition: int, group: Group) -> None: ...
    def groups(self, partition: int) -> Iterable[tuple[Group, GroupEntry]]: ...
    def get_clock(self, partition: int) -> PartitionClock | None: ...
    def put_clock(self, partition: int, clock: PartitionClock) -> None: ...


class MemoryStore:
    """The Store in dicts: unit tests and `loglane alerts test`."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[int, Group, int], Bucket] = {}
        self.entries: dict[tuple[int, Group], GroupEntry] = {}
        self.clocks: dict[int, PartitionClock] = {}

    def get_bucket(self, partition: int, group: Group, start: int) -> Bucket | None:
        return self.buckets.get((partition, group, start))

    def put_bucket(self, partition: int, group: Group, start: int, bucket: Bucket) -> None:
        self.buckets[(partition, group, start)] = bucket

    def drop_bucket(self, partition: int, group: Group, start: int) -> None:
        self.buckets.pop((partition, group, start), None)

    def get_group(self, partition: int, group: Group) -> GroupEntry | None:
        return self.entries.get((partition, group))

    def put_group(self, partition: int, group: Group, entry: GroupEntry) -> None:
        self.entries[(partition, group)] = entry

    def drop_group(self, partition: int, group: Group) -> None:
        self.entries.pop((partition, group), None)

    def groups(self, partition: int) -> Iterator[tuple[Group, GroupEntry]]:
        for (p, group), entry in list(self.entries.items()):
            if p == partition:
                yield group, entry

    def get_clock(self, partition: int) -> PartitionClock | None:
        return self.clocks.get(partition)

    def put_clock(self, partition: int, clock: PartitionClock) -> None:
        self.clocks[partition] = PartitionClock(clock.watermark, clock.evaluated, clock.cut)


def _floor(value: int, size: int) -> int:
    return (value // size) * size


@dataclass(frozen=True)
class Closing:
    """One rule window to decide: it closes (end + grace) at `at`."""

    at: int
    rule: Rule
    start: int

    @property
    def end(self) -> int:
        return self.start + self.rule.condition.window_ms


class Engine:
    """Counts events into buckets and decides each rule window as the watermark passes it.

    rules: called for the current rules (they change while the worker runs). now, where taken, is
    the wall clock in ms; None (a dry run) means event time only, and decisions are stamped with the
    time their window closed."""

    def __init__(self, store: Store, rules: Callable[[], Sequence[Rule]], config: WindowConfig) -> None:
        self.store = store
        self.rules = rules
        self.config = config
        self.late = 0  # events dropped: older than what is kept
        self._clocks: dict[int, PartitionClock] = {}
        self._persisted: dict[int, int] = {}  # partition -> watermark step last written
        self._last: dict[tuple[int, Group], tuple[int, int]] = {}  # (first, last) bucket per group, as written
        self._arrival: dict[int, int] = {}  # wall clock of the partition's latest event

    def forget(self) -> None:
        """Drop what is cached in memory (after a rebalance: the store is the truth)."""
        self._clocks.clear()
        self._persisted.clear()
        self._last.clear()

    def clock(self, partition: int) -> PartitionClock | None:
        return self._clocks.get(partition) or self.store.get_clock(partition)

    def _clock(self, partition: int, seed: int, now: int | None) -> PartitionClock:
        """The partition's clock; a partition never seen starts at seed (an event's time, or the wall
        clock less max_delay): windows that closed before it are not decided after the fact."""
        clock = self._clocks.get(partition) or self.store.get_clock(partition)
        if clock is None:
            start = seed - 1 if now is None else max(seed - 1, now - self.config.max_delay_ms)
            clock = PartitionClock(seed, start, _floor(start - self.config.retention_ms, self.config.step_ms))
            self.store.put_clock(partition, clock)
            self._persisted[partition] = clock.watermark // self.config.step_ms
        self._clocks[partition] = clock
        return clock

    def count(self, partition: int, event: Sighting, now: int | None = None) -> bool:
        """Count one event; False when it is older than the counts kept (dropped, and counted in .late)."""
        clock = self._clock(partition, event.timestamp_ms, now)
        if now is not None:
            self._arrival[partition] = now
        start = _floor(event.timestamp_ms, self.config.step_ms)
        if start < clock.cut:
            self.late += 1
            return False
        group = event.group
        bucket = self.store.get_bucket(partition, group, start) or Bucket()
        self.store.put_bucket(partition, group, start, bucket.add(event.level, event.event_id))
        first_last = self._last.get((partition, group))
        if first_last is None or not first_last[0] <= start <= first_last[1]:
            entry = self.store.get_group(partition, group)
            if entry is None:
                entry = GroupEntry(partition, start, first=start)
                self.store.put_group(partition, group, entry)
            elif start > entry.last or start < entry.since:
                entry = replace(entry, last=max(entry.last, start), first=min(entry.since, start))
                self.store.put_group(partition, group, entry)
            self._last[(partition, group)] = (entry.since, entry.last)
        clock.watermark = max(clock.watermark, event.timestamp_ms)
        return True

    def tick(self, partition: int, now: int) -> None:
        """The wall clock, for a partition: idle for max_delay, its watermark follows the clock."""
        clock = self._clock(partition, now - self.config.max_delay_ms, now)
        idle_since = self._arrival.setdefault(partition, now)
        if now - idle_since >= self.config.max_delay_ms:
            clock.watermark = max(clock.watermark, now - self.config.max_delay_ms)

    def closing(self, evaluated: int, watermark: int) -> list[Closing]:
        """Every rule window that closes after evaluated and at or before watermark, in time order."""
        found: list[Closing] = []
        for rule in self.rules():
            window, grace = rule.condition.window_ms, rule.condition.grace_ms
            first = _floor(evaluated - window - grace, window) + window
            last = _floor(watermark - window - grace, window)
            # After a long outage, windows older than the retention hold nothing any more.
            first = max(first, last - _floor(self.config.retention_ms, window))
            found.extend(Closing(start + window + grace, rule, start) for start in range(first, last + 1, window))
        return sorted(found, key=lambda c: (c.at, c.rule.name))

    def advance(self, partition: int, now: int | None = None) -> list[Alert]:
        """Decide every rule window the partition's watermark has passed since the last call."""
        clock = self._clocks.get(partition)
        if clock is None or clock.watermark <= clock.evaluated:
            return []
        step = self.config.step_ms
        closing = self.closing(clock.evaluated, clock.watermark)
        crossed = clock.watermark // step > clock.evaluated // step
        alerts: list[Alert] = []
        if closing or crossed:
            entries = dict(self.store.groups(partition))
            before = dict(entries)
            memo: dict[tuple[Group, int], Bucket | None] = {}
            for window in closing:
                for group in list(entries):
                    alert = self._decide(partition, group, entries, window, now, memo)
                    if alert is not None:
                        alerts.append(alert)
            alerts.extend(self._retire(entries, clock.watermark if now is None else now))
            for group, entry in entries.items():
                if entry is not before[group]:
                    self.store.put_group(partition, group, entry)
            self._clean(partition, clock, entries)
        clock.evaluated = clock.watermark
        if crossed or closing or self._persisted.get(partition) != clock.watermark // step:
            self.store.put_clock(partition, clock)
            self._persisted[partition] = clock.watermark // step
        return alerts

    def _counts(self, partition: int, group: Group, start: int, end: int,
                memo: dict[tuple[Group, int], Bucket | None]) -> WindowCounts:
        levels: dict[str, int] = {}
        samples: dict[str, list[str]] = {}
        for bucket_start in range(start, end, self.config.step_ms):
            key = (group, bucket_start)
            if key not in memo:
                memo[key] = self.store.get_bucket(partition, group, bucket_start)
            bucket = memo[key]
            if bucket is None:
                continue
            for level, n in bucket.levels.items():
                levels[level] = levels.get(level, 0) + n
            for level, ids in bucket.samples.items():
                samples.setdefault(level, []).extend(ids)
        return WindowCounts(start, end, levels, {k: tuple(v) for k, v in samples.items()})

    def _decide(self, partition: int, group: Group, entries: dict[Group, GroupEntry], window: Closing,
                now: int | None, memo: dict[tuple[Group, int], Bucket | None]) -> Alert | None:
        rule, entry = window.rule, entries[group]
        state = entry.rules.get(rule.name, RuleState())
        applies = rule.scope.matches(group)
        if not state.firing and (not applies or entry.last < window.start):
            return None  # nothing to fire on: no events of this group in the window, or not its rule
        counts = self._counts(partition, group, window.start, window.end, memo)
        size = rule.condition.window_ms
        history: list[WindowCounts] | None = [
            self._counts(partition, group, window.start - k * size, window.start - (k - 1) * size, memo)
            for k in range(rule.condition.baseline_windows, 0, -1)
        ]
        if rule.condition.baseline_windows and entry.since > window.start - rule.condition.horizon_ms:
            history = None  # not counted that long: no baseline yet
        decided_at = window.at if now is None else now
        new_state, alert = evaluate(rule, group, counts, history, state, decided_at, applies)
        if new_state != state:
            entries[group] = entry.with_rule(rule.name, new_state)
        return alert

    def _retire(self, entries: dict[Group, GroupEntry], now: int) -> list[Alert]:
        """States of rules that no longer exist: an open episode is resolved, the rest forgotten."""
        names = {rule.name for rule in self.rules()}
        alerts: list[Alert] = []
        for group, entry in entries.items():
            for name in [n for n in entry.rules if n not in names]:
                state = entry.rules[name]
                if state.firing:
                    alerts.append(state.resolution(name, group, now, "the rule was removed"))
                entry = entry.with_rule(name, RuleState())
                entries[group] = entry
        return alerts

    def _clean(self, partition: int, clock: PartitionClock, entries: dict[Group, GroupEntry]) -> None:
        """Drop buckets older than the retention, and groups with nothing left to remember."""
        step = self.config.step_ms
        cut = _floor(clock.watermark - self.config.retention_ms, step)
        if cut <= clock.cut:
            return
        for group, entry in entries.items():
            for start in range(clock.cut, min(cut, entry.last + step), step):
                self.store.drop_bucket(partition, group, start)
            if entry.last < cut and not entry.firing and not any(
                s.last_fired_end is not None and s.last_fired_end > cut for s in entry.rules.values()
            ):
                self.store.drop_group(partition, group)
                self._last.pop((partition, group), None)
        clock.cut = cut

    def finish(self, partition: int) -> list[Alert]:
        """A dry run's end: close the window of the last event and the one after it (which resolves
        what still fires)."""
        clock = self._clocks.get(partition)
        if clock is None:
            return []
        longest = max((r.condition.window_ms * 2 + r.condition.grace_ms for r in self.rules()), default=0)
        clock.watermark += longest
        return self.advance(partition)
