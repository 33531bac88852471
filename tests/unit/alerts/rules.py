"""Rules and event streams for the alerting tests: rules written as in rules/alerts.yaml, events at
exact times (ms) from a fixed origin."""

from __future__ import annotations

from itertools import count
from typing import Any

import yaml

from loglane.alerts.rules import Group, Limits, Rule, parse_rules
from loglane.alerts.windows import Sighting, WindowConfig

STEP, RETENTION = 10_000, 7_200_000
LIMITS = Limits(STEP, RETENTION)
CONFIG = WindowConfig(STEP, RETENTION, max_delay_ms=30_000)
T0 = 1_772_366_400_000  # 2026-03-01T12:00:00Z, a multiple of every window used here
CHECKOUT = Group("shop", "checkout", "prod")
_ids = count()


def rule(condition: dict[str, Any], **fields: Any) -> Rule:
    """One rule, checked by the same parser as rules/alerts.yaml (cooldown 0 unless given)."""
    entry = {"name": fields.pop("name", "r"), "condition": condition, "cooldown": fields.pop("cooldown", "0s"), **fields}
    document = {"channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}}, "rules": [entry]}
    rules, errors = parse_rules(yaml.safe_load(yaml.safe_dump(document)), "test.yaml", LIMITS)
    assert not errors, errors
    return rules[0]


def at(ms: int, level: str = "ERROR", group: Group = CHECKOUT) -> Sighting:
    return Sighting(T0 + ms, group, level, f"e{next(_ids)}")


def burst(start_ms: int, n: int, level: str = "ERROR", spacing_ms: int = 100, group: Group = CHECKOUT) -> list[Sighting]:
    return [at(start_ms + i * spacing_ms, level, group) for i in range(n)]
