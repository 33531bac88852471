"""Alert rules as data: rules/alerts.yaml parsed, checked and normalized.

A rule has a scope (tenant, service, environment; shell-style wildcards), a condition over a
tumbling event-time window, a severity (P0-P3), channels and a cooldown. Conditions:

- ``count``: events at or above ``level`` in the window, above ``above``;
- ``ratio``: those events over all events of the window, above ``above`` (0..1), once the window
  holds at least ``min_events``;
- ``baseline``: that count above ``factor`` times its mean over the ``windows`` windows before
  (the service's own baseline), and at least ``min_count``.

Every problem is reported, each naming the file, the rule and the field. A rule is stored in the
compacted rules topic as its normalized JSON (durations in ms, defaults filled in, channels
expanded), so a running worker needs nothing but that record."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from loglane.errors import ConfigError

RULES_FILE = "rules/alerts.yaml"
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SEVERITIES = ("P0", "P1", "P2", "P3")
CHANNEL_TYPES = ("webhook", "slack", "email")
FORMAT_VERSION = 1  # of the JSON a rule is stored as

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
ENV_PLACEHOLDER = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

DEFAULT_GRACE_MS = 10_000
DEFAULT_COOLDOWN_MS = 15 * 60_000
DEFAULT_SEVERITY = "P2"
DEFAULT_MIN_EVENTS = 20  # ratio: a window of 3 events, 1 an error, is no 33 % error rate worth a page
DEFAULT_MIN_COUNT = 10  # baseline: 0 -> 3 errors is not a spike
DEFAULT_BASELINE_WINDOWS = 6


class ConditionKind(StrEnum):
    COUNT = "count"
    RATIO = "ratio"
    BASELINE = "baseline"


def level_rank(level: str) -> int:
    """TRACE 0 .. FATAL 5; an unknown level (not normalized) ranks as INFO."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return LEVELS.index("INFO")


def parse_duration(text: str) -> int:
    """'90s', '5m', '1h30m', '250ms' -> milliseconds."""
    if not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 5m, 1h, 1h30m)")
    return sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text))


def format_duration(ms: int) -> str:
    """Milliseconds as the shortest duration text: 90000 -> '1m30s'."""
    if ms == 0:
        return "0s"
    parts: list[str] = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNIT_MS[unit]
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


@dataclass(frozen=True)
class Group:
    """What a rule is evaluated per: one service of one tenant in one environment."""

    tenant: str
    service: str
    environment: str

    def render(self) -> str:
        return f"{self.service} ({self.environment}, tenant {self.tenant})"


@dataclass(frozen=True)
class Scope:
    tenant: str = "*"
    service: str = "*"
    environment: str = "*"

    def matches(self, group: Group) -> bool:
        return (
            fnmatchcase(group.tenant, self.tenant)
            and fnmatchcase(group.service, self.service)
            and fnmatchcase(group.environment, self.environment)
        )

    def render(self) -> str:
        return f"tenant={self.tenant} service={self.service} environment={self.environment}"


@dataclass(frozen=True)
class Condition:
    kind: ConditionKind
    level: str  # counted: events at or above this level
    window_ms: int
    grace_ms: int
    above: float  # count: N; ratio: R; baseline: the factor K
    min_events: int = 0  # ratio: events the window must hold; baseline: the least count that fires
    baseline_windows: int = 0  # baseline: D, the windows before that make the baseline

    @property
    def horizon_ms(self) -> int:
        """How far back from a window's start its evaluation reads."""
        return self.window_ms * self.baseline_windows

    def describe(self) -> str:
        window = format_duration(self.window_ms)
        counted = f"level >= {self.level}"
        if self.kind is ConditionKind.COUNT:
            return f"count({counted}) over {window} > {self.above:g}"
        if self.kind is ConditionKind.RATIO:
            return f"ratio({counted}) over {window} > {self.above:g} (min {self.min_events} events)"
        return (
            f"count({counted}) over {window} > {self.above:g} x its mean over the previous "
            f"{self.baseline_windows} windows (min {self.min_events})"
        )


@dataclass(frozen=True)
class Channel:
    name: str
    type: str  # webhook | slack | email
    url: str | None = None  # webhook, slack: a URL or ${env:NAME}, resolved when delivering
    to: tuple[str, ...] = ()  # email: recipients

    def target(self) -> str:
        """Where it delivers, for messages: the URL as written (an ${env:...} stays one), or the recipients."""
        return ", ".join(self.to) if self.type == "email" else str(self.url)


@dataclass(frozen=True)
class Rule:
    name: str
    scope: Scope
    condition: Condition
    severity: str
    channels: tuple[Channel, ...]
    cooldown_ms: int
    description: str = ""

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    def to_json(self) -> dict[str, Any]:
        """The normalized form stored in the rules topic (and compared by `loglane plan`)."""
        c = self.condition
        return {
            "version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "scope": {"tenant": self.scope.tenant, "service": self.scope.service,
                      "environment": self.scope.environment},
            "condition": {
                "kind": str(c.kind), "level": c.level, "window_ms": c.window_ms, "grace_ms": c.grace_ms,
                "above": c.above, "min_events": c.min_events, "baseline_windows": c.baseline_windows,
            },
            "severity": self.severity,
            "channels": [{"name": ch.name, "type": ch.type, "url": ch.url, "to": list(ch.to)} for ch in self.channels],
            "cooldown_ms": self.cooldown_ms,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from its stored JSON; raises ValueError (or KeyError, TypeError) when it is not one."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"rule format version {data.get('version')!r}; this loglane reads {FORMAT_VERSION}")
        c = data["condition"]
        condition = Condition(
            ConditionKind(c["kind"]), str(c["level"]), int(c["window_ms"]), int(c["grace_ms"]), float(c["above"]),
            int(c["min_events"]), int(c["baseline_windows"]),
        )
        channels = tuple(
            Channel(str(ch["name"]), str(ch["type"]), ch.get("url"), tuple(ch.get("to") or ())) for ch in data["channels"]
        )
        scope = Scope(**{k: str(v) for k, v in data["scope"].items()})
        return cls(
            str(data["name"]), scope, condition, str(data["severity"]), channels, int(data["cooldown_ms"]),
            str(data.get("description", "")),
        )

    @classmethod
    def from_bytes(cls, value: bytes) -> Rule:
        return cls.from_json(json.loads(value))


@dataclass(frozen=True)
class Limits:
    """What the worker's windows can hold: every window a multiple of the step, every rule's
    history within the retention (settings alerts_step, alerts_retention)."""

    step_ms: int
    retention_ms: int

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(settings.alerts_step * 1000, settings.alerts_retention * 1000)


@dataclass
class _Reader:
    """Collects every problem of one file, each prefixed with the file and the rule."""

    source: str
    limits: Limits
    errors: list[str] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{self.source}: {where}: {message}")


_RULE_KEYS = {"name", "description", "scope", "condition", "severity", "channels", "cooldown"}
_SCOPE_KEYS = {"tenant", "service", "environment"}
_CONDITION_KEYS = {
    ConditionKind.COUNT: {"level", "window", "grace", "above"},
    ConditionKind.RATIO: {"level", "window", "grace", "above", "min_events"},
    ConditionKind.BASELINE: {"level", "window", "grace", "factor", "windows", "min_count"},
}
_DEFAULT_KEYS = {"severity", "cooldown", "grace", "channels"}
_CHANNEL_KEYS = {"webhook": {"type", "url"}, "slack": {"type", "url"}, "email": {"type", "to"}}


def _unknown(reader: _Reader, where: str, entry: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        reader.error(where, f"unknown keys {unknown}; known: {sorted(known)}")


def _duration(reader: _Reader, where: str, value: Any) -> int | None:
    if not isinstance(value, str):
        reader.error(where, f"must be a duration such as 30s, 5m or 1h, not {value!r}")
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        reader.error(where, str(exc))
        return None


def _channels(reader: _Reader, document: Mapping[str, Any]) -> dict[str, Channel]:
    entries = document.get("channels", {})
    if not isinstance(entries, dict):
        reader.error("channels", "must be a mapping of channel name to {type, url} or {type, to}")
        return {}
    found: dict[str, Channel] = {}
    for name, entry in entries.items():
        where = f"channels.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            reader.error(where, "a channel name is lower-case letters, digits, '.', '_' and '-'")
            continue
        if not isinstance(entry, dict) or entry.get("type") not in CHANNEL_TYPES:
            reader.error(f"{where}.type", f"must be one of {', '.join(CHANNEL_TYPES)}")
            continue
        kind = entry["type"]
        _unknown(reader, where, entry, _CHANNEL_KEYS[kind])
        if kind == "email":
            to = entry.get("to")
            to = [to] if isinstance(to, str) else to
            if not isinstance(to, list) or not to or not all(isinstance(a, str) and _EMAIL.match(a) for a in to):
                reader.error(f"{where}.to", f"must be one or more e-mail addresses, not {entry.get('to')!r}")
                continue
            found[name] = Channel(name, kind, None, tuple(to))
        else:
            url = entry.get("url")
            if not isinstance(url, str) or not (url.startswith(("http://", "https://")) or ENV_PLACEHOLDER.match(url)):
                reader.error(f"{where}.url", f"must be an http(s) URL or ${{env:NAME}} (for a secret), not {url!r}")
                continue
            found[name] = Channel(name, kind, url)
    return found


def _number(reader: _Reader, where: str, value: Any, *, low: float, high: float | None = None,
            integer: bool = False, low_open: bool = False) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        reader.error(where, f"must be {'a whole number' if integer else 'a number'}, not {value!r}")
        return None
    if value < low or (low_open and value == low) or (high is not None and value >= high):
        bounds = f"{'above' if low_open else 'at least'} {low:g}" + (f" and below {high:g}" if high is not None else "")
        reader.error(where, f"must be {bounds}, not {value!r}")
        return None
    return float(value)


def _condition(reader: _Reader, where: str, entry: Any, grace_default: int) -> Condition | None:
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in set(ConditionKind):
        reader.error(where, f"must be one of {{count: ...}}, {{ratio: ...}}, {{baseline: ...}}, not {entry!r}")
        return None
    kind = ConditionKind(next(iter(entry)))
    where = f"{where}.{kind}"
    body = entry[kind]
    if not isinstance(body, dict):
        reader.error(where, "must be a mapping (level, window, ...)")
        return None
    before = len(reader.errors)
    _unknown(reader, where, body, _CONDITION_KEYS[kind])
    level = body.get("level", "ERROR")
    if level not in LEVELS:
        reader.error(f"{where}.level", f"must be one of {', '.join(LEVELS)}, not {level!r}")
    window = _duration(reader, f"{where}.window", body.get("window"))
    grace = _duration(reader, f"{where}.grace", body["grace"]) if "grace" in body else grace_default
    step, retention = reader.limits.step_ms, reader.limits.retention_ms
    if window is not None and (window == 0 or window % step):
        reader.error(f"{where}.window", f"{format_duration(window)} is not a positive multiple of the step "
                                        f"{format_duration(step)} (LOGLANE_ALERTS_STEP)")
    above: float | None = None
    min_events, baseline_windows = 0, 0
    if kind is ConditionKind.COUNT:
        above = _number(reader, f"{where}.above", body.get("above"), low=0)
    elif kind is ConditionKind.RATIO:
        above = _number(reader, f"{where}.above", body.get("above"), low=0, high=1)
        min_events = int(_number(reader, f"{where}.min_events", body.get("min_events", DEFAULT_MIN_EVENTS),
                                 low=1, integer=True) or 0)
    else:
        above = _number(reader, f"{where}.factor", body.get("factor"), low=1, low_open=True)
        baseline_windows = int(_number(reader, f"{where}.windows", body.get("windows", DEFAULT_BASELINE_WINDOWS),
                                       low=1, integer=True) or 0)
        min_events = int(_number(reader, f"{where}.min_count", body.get("min_count", DEFAULT_MIN_COUNT),
                                 low=1, integer=True) or 0)
    if window is not None and grace is not None and window + window * baseline_windows + grace > retention:
        reader.error(where, f"window x (1 + windows) + grace is {format_duration(window * (1 + baseline_windows) + grace)}, "
                            f"beyond the {format_duration(retention)} of counts kept (LOGLANE_ALERTS_RETENTION)")
    if len(reader.errors) > before or window is None or grace is None or above is None:
        return None
    return Condition(kind, level, window, grace, above, min_events, baseline_windows)


def _rule(reader: _Reader, index: int, entry: Any, defaults: Mapping[str, Any],
          channels: Mapping[str, Channel]) -> Rule | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        reader.error(f"rules[{index}]", "must be a mapping with a 'name'")
        return None
    name = entry["name"]
    where = f"rules[{index}] ({name})"
    before = len(reader.errors)
    if not _NAME.match(name):
        reader.error(f"{where}: name", "lower-case letters, digits, '.', '_' and '-', at most 100")
    _unknown(reader, where, entry, _RULE_KEYS)
    scope_entry = entry.get("scope", {})
    scope = Scope()
    if not isinstance(scope_entry, dict) or not all(isinstance(v, str) and v for v in scope_entry.values()):
        reader.error(f"{where}: scope", "must map tenant, service, environment to names or patterns ('*', 'pay-*')")
    else:
        _unknown(reader, f"{where}: scope", scope_entry, _SCOPE_KEYS)
        scope = Scope(**{k: v for k, v in scope_entry.items() if k in _SCOPE_KEYS})
    grace_default = defaults.get("grace_ms", DEFAULT_GRACE_MS)
    condition = _condition(reader, f"{where}: condition", entry.get("condition"), grace_default)
    severity = entry.get("severity", defaults.get("severity", DEFAULT_SEVERITY))
    if severity not in SEVERITIES:
        reader.error(f"{where}: severity", f"must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    named = entry.get("channels", defaults.get("channels", []))
    if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
        reader.error(f"{where}: channels", f"must be a list of channel names, not {named!r}")
        named = []
    for missing in [n for n in named if n not in channels]:
        reader.error(f"{where}: channels", f"no channel {missing!r} under channels:; channels: {', '.join(channels) or 'none'}")
    cooldown = defaults.get("cooldown_ms", DEFAULT_COOLDOWN_MS)
    if "cooldown" in entry:
        cooldown = _duration(reader, f"{where}: cooldown", entry["cooldown"])
    if cooldown is not None and cooldown > reader.limits.retention_ms:
        reader.error(f"{where}: cooldown", f"{format_duration(cooldown)} is beyond the "
                                           f"{format_duration(reader.limits.retention_ms)} of history kept")
    description = entry.get("description", "")
    if not isinstance(description, str):
        reader.error(f"{where}: description", "must be text")
    if len(reader.errors) > before or condition is None or cooldown is None:
        return None
    return Rule(name, scope, condition, severity, tuple(channels[n] for n in named), cooldown, description)


def _defaults(reader: _Reader, document: Mapping[str, Any]) -> dict[str, Any]:
    entry = document.get("defaults", {})
    if not isinstance(entry, dict):
        reader.error("defaults", "must be a mapping (severity, cooldown, grace, channels)")
        return {}
    _unknown(reader, "defaults", entry, _DEFAULT_KEYS)
    found: dict[str, Any] = {k: entry[k] for k in ("severity", "channels") if k in entry}
    for key in ("cooldown", "grace"):
        if key in entry:
            found[f"{key}_ms"] = _duration(reader, f"defaults.{key}", entry[key])
    return found


def parse_rules(document: Any, source: str, limits: Limits) -> tuple[list[Rule], list[str]]:
    """The rules a parsed alerts.yaml declares, and every problem found (not just the first)."""
    reader = _Reader(source, limits)
    if document is None:
        return [], []
    if not isinstance(document, dict):
        return [], [f"{source}: expected a mapping with defaults, channels and rules"]
    _unknown(reader, "top level", document, {"defaults", "channels", "rules"})
    defaults = _defaults(reader, document)
    channels = _channels(reader, document)
    entries = document.get("rules", [])
    if not isinstance(entries, list):
        reader.error("rules", "must be a list")
        return [], reader.errors
    rules: list[Rule] = []
    for index, entry in enumerate(entries):
        rule = _rule(reader, index, entry, defaults, channels)
        if rule is not None:
            rules.append(rule)
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if name in seen:
            reader.error(f"rules[{index}] ({name})", "the name is declared twice")
        if isinstance(name, str):
            seen.add(name)
    return rules, reader.errors


def load_rules(project_dir: Path, limits: Limits) -> tuple[list[Rule], list[str]]:
    """rules/alerts.yaml of the project (no file: no rules), and every problem in it."""
    path = project_dir / RULES_FILE
    if not path.exists():
        return [], []
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"{RULES_FILE}: cannot read it: {exc}"]
    return parse_rules(document, RULES_FILE, limits)


def load_valid_rules(project_dir: Path, limits: Limits) -> list[Rule]:
    rules, errors = load_rules(project_dir, limits)
    if errors:
        raise ConfigError("alert rules are not valid:\n  " + "\n  ".join(errors))
    return rules


def rule_named(rules: Sequence[Rule], name: str) -> Rule:
    for rule in rules:
        if rule.name == name:
            return rule
    raise ConfigError(f"{RULES_FILE}: no rule named {name!r}; rules: {', '.join(r.name for r in rules) or 'none'}")
