"""rules/alerts.yaml: parsed, every problem named by file, rule and field; the stored JSON round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loglane.alerts.rules import (
    Channel, ConditionKind, Group, Rule, Scope, format_duration, load_rules, parse_duration, parse_rules,
)
from loglane.settings import get_settings
from tests.unit.alerts.rules import LIMITS


def parse(text: str) -> tuple[list[Rule], list[str]]:
    return parse_rules(yaml.safe_load(text), "rules/alerts.yaml", LIMITS)


def test_the_projects_own_rules_are_valid() -> None:
    rules, errors = load_rules(get_settings().project_dir, LIMITS)
    assert errors == []
    assert {r.name for r in rules} >= {"error-storm", "error-ratio", "error-spike"}
    assert {r.condition.kind for r in rules} == set(ConditionKind)


def test_defaults_channels_and_durations_are_filled_in() -> None:
    rules, errors = parse("""
defaults: {severity: P1, cooldown: 5m, grace: 20s, channels: [ops]}
channels:
  ops: {type: slack, url: "${env:SLACK_URL}"}
  mail: {type: email, to: oncall@example.test}
rules:
  - name: storm
    scope: {service: "pay-*"}
    condition: {count: {window: 1m30s, above: 50}}
  - name: ratio
    condition: {ratio: {level: WARN, window: 5m, above: 0.1}}
    channels: [mail]
    severity: P0
""")
    assert errors == []
    storm, ratio = rules
    assert (storm.severity, storm.cooldown_ms, storm.channels) == ("P1", 300_000, (Channel("ops", "slack", "${env:SLACK_URL}"),))
    assert (storm.condition.level, storm.condition.window_ms, storm.condition.grace_ms) == ("ERROR", 90_000, 20_000)
    assert storm.scope == Scope("*", "pay-*", "*")
    assert ratio.channels == (Channel("mail", "email", None, ("oncall@example.test",)),)
    assert ratio.condition.min_events == 20 and ratio.severity == "P0"


def test_every_problem_names_the_file_the_rule_and_the_field() -> None:
    _, errors = parse("""
channels:
  hook: {type: webhook, url: "ftp://nope"}
rules:
  - name: a
    condition: {count: {level: LOUD, window: 15s, above: -1}}
    severity: P9
    channels: [nowhere]
  - name: b
    condition: {ratio: {window: five minutes, above: 2}}
    cooldown: 3d
  - name: c
    condition: {baseline: {window: 30m, factor: 1, windows: 12}}
    colour: red
  - name: a
    condition: {median: {}}
""")
    assert errors == [
        "rules/alerts.yaml: channels.hook.url: must be an http(s) URL or ${env:NAME} (for a secret), not 'ftp://nope'",
        "rules/alerts.yaml: rules[0] (a): condition.count.level: must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, not 'LOUD'",
        "rules/alerts.yaml: rules[0] (a): condition.count.window: 15s is not a positive multiple of the step 10s (LOGLANE_ALERTS_STEP)",
        "rules/alerts.yaml: rules[0] (a): condition.count.above: must be at least 0, not -1",
        "rules/alerts.yaml: rules[0] (a): severity: must be one of P0, P1, P2, P3, not 'P9'",
        "rules/alerts.yaml: rules[0] (a): channels: no channel 'nowhere' under channels:; channels: none",
        "rules/alerts.yaml: rules[1] (b): condition.ratio.window: 'five minutes' is not a duration (e.g. 30s, 5m, 1h, 1h30m)",
        "rules/alerts.yaml: rules[1] (b): condition.ratio.above: must be at least 0 and below 1, not 2",
        "rules/alerts.yaml: rules[1] (b): cooldown: 3d is beyond the 2h of history kept",
        "rules/alerts.yaml: rules[2] (c): unknown keys ['colour']; known: ['channels', 'condition', 'cooldown', "
        "'description', 'name', 'scope', 'severity']",
        "rules/alerts.yaml: rules[2] (c): condition.baseline.factor: must be above 1, not 1",
        "rules/alerts.yaml: rules[2] (c): condition.baseline: window x (1 + windows) + grace is 6h30m10s, beyond the "
        "2h of counts kept (LOGLANE_ALERTS_RETENTION)",
        "rules/alerts.yaml: rules[3] (a): condition: must be one of {count: ...}, {ratio: ...}, {baseline: ...}, "
        "not {'median': {}}",
        "rules/alerts.yaml: rules[3] (a): the name is declared twice",
    ]


def test_no_file_is_no_rules(tmp_path: Path) -> None:
    assert load_rules(tmp_path, LIMITS) == ([], [])


def test_a_stored_rule_reads_back_as_itself() -> None:
    rules, _ = parse(Path(get_settings().project_dir / "rules" / "alerts.yaml").read_text())
    for rule in rules:
        assert Rule.from_bytes(rule.to_bytes()) == rule
    with pytest.raises(ValueError, match="format version"):
        Rule.from_json({**rules[0].to_json(), "version": 99})


def test_scopes_match_with_wildcards() -> None:
    scope = Scope(tenant="*", service="pay-*", environment="prod")
    assert scope.matches(Group("shop", "pay-api", "prod"))
    assert not scope.matches(Group("shop", "pay-api", "staging"))
    assert not scope.matches(Group("shop", "checkout", "prod"))


def test_durations() -> None:
    assert parse_duration("1h30m") == 5_400_000 and parse_duration("250ms") == 250
    assert format_duration(5_400_000) == "1h30m" and format_duration(0) == "0s"
    with pytest.raises(ValueError):
        parse_duration("5 minutes")
