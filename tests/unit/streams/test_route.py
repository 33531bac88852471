from __future__ import annotations

from pathlib import Path

import pytest

from loglane.catalog import load_topics
from loglane.settings import get_settings
from streams.rules import routing
from streams.stages.route import route
from tests.unit.streams.records import log_event

PROJECT = get_settings().project_dir
RULES = routing.load(PROJECT)


@pytest.mark.parametrize(
    "level, roles", [("ERROR", ["alert-candidates"]), ("FATAL", ["alert-candidates"]), ("WARN", []), ("INFO", [])]
)
def test_error_and_fatal_go_to_the_alert_candidates(level: str, roles: list[str]) -> None:
    assert route(log_event(level=level), RULES) == roles


def test_the_projects_routes_name_topics_holding_processed_events() -> None:
    assert RULES.reference_problems(load_topics(PROJECT / "topics.yaml")) == []


def test_routes_to_missing_or_wrong_topics_are_named(tmp_path: Path) -> None:
    rules = routing.from_mapping({"routes": [
        {"name": "a", "match": {"level": ["ERROR"]}, "to": "nowhere"},
        {"name": "b", "match": {}, "to": "deadletter"},
        {"name": "c", "match": {"service": ["x"]}, "to": "processed"},
    ]})
    assert rules.reference_problems(load_topics(PROJECT / "topics.yaml")) == [
        "rules/routing.yaml: routes[0] (a).to: no topic has role 'nowhere' in topics.yaml",
        "rules/routing.yaml: routes[1] (b).to: topic logs.deadletter holds dead_letter.avsc, not processed_log_event.avsc",
    ]
    assert route(log_event(service="x", level="ERROR"), rules) == ["nowhere", "deadletter", "processed"]
