from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from loglane.errors import ConfigError
from loglane.samples import sample_events
from loglane.settings import get_settings
from streams.rules import sampling
from streams.stages.sample import sample
from tests.unit.streams.records import log_event

PROJECT = get_settings().project_dir
RULES = sampling.from_mapping({"rules": [
    {"name": "errors-stay", "match": {"level": ["ERROR"]}, "keep": 1},
    {"name": "no-debug-in-prod", "match": {"environment": ["prod"], "level": ["DEBUG", "TRACE"]}, "keep": 0},
    {"name": "chatty", "match": {"service": ["health*"], "level": ["INFO"]}, "keep": 0.01},
    {"name": "by-trace", "match": {"service": ["web"], "level": ["INFO"]}, "keep": 0.5, "by": "trace_id"},
    {"name": "noise", "match": {"message": "^GET /health", "level": ["INFO"]}, "keep": 0},
]})


def event(**changes: Any) -> dict[str, Any]:
    return {**log_event(level="INFO"), **changes}


def test_the_first_matching_rule_decides_and_an_unmatched_event_is_kept() -> None:
    assert sample(event(level="DEBUG"), RULES) == "no-debug-in-prod"
    assert sample(event(level="DEBUG", environment="staging"), RULES) is None
    assert sample(event(message="GET /health 200"), RULES) == "noise"
    assert sample(event(), RULES) is None


@pytest.mark.parametrize("level", ["WARN", "ERROR", "FATAL"])
def test_warn_and_above_are_never_sampled(level: str) -> None:
    everything = sampling.from_mapping({"rules": [{"name": "all", "match": {"level": ["INFO"]}, "keep": 0}]})
    assert sample(event(level=level), everything) is None


def test_a_share_is_kept_deterministically_by_event_id() -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20_000)]
    kept = [i for i in ids if sample(event(service="healthcheck", event_id=i), RULES) is None]
    assert 150 < len(kept) < 250  # ~1%
    assert kept == [i for i in ids if sample(event(service="healthcheck", event_id=i), RULES) is None]  # a replay


def test_by_trace_id_a_request_is_kept_or_dropped_whole() -> None:
    for trace in (f"{n:032x}" for n in range(50)):
        decisions = {sample(event(service="web", trace_id=trace, event_id=f"e-{n}"), RULES) for n in range(10)}
        assert len(decisions) == 1


def test_the_projects_rules_keep_all_sample_traffic_and_pass_their_tests() -> None:
    rules = sampling.load(PROJECT)
    assert rules.test_failures() == []
    from streams.rules.normalize import load as load_levels
    levels = load_levels(PROJECT)
    for sampled in sample_events(3000, seed=1):
        assert sample({**sampled, "level": levels.level(sampled["level"])}, rules) is None


def write(tmp_path: Path, document: object) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "sampling.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_rule_that_could_sample_warnings_is_an_error(tmp_path: Path) -> None:
    document = {"rules": [
        {"name": "greedy", "match": {"service": ["x"]}, "keep": 0.5},
        {"name": "loud", "match": {"level": ["INFO", "WARN"]}, "keep": 0},
        {"name": "fine", "match": {"level": ["LOUD"]}, "keep": 2},
    ]}
    with pytest.raises(ConfigError) as raised:
        sampling.load(write(tmp_path, document))
    assert str(raised.value).splitlines() == [
        "rules/sampling.yaml: rules[0]: would sample ERROR, FATAL, WARN: WARN and above are never sampled; "
        "name the levels it is for (level: [TRACE, DEBUG, INFO])",
        "rules/sampling.yaml: rules[1]: would sample WARN: WARN and above are never sampled; "
        "name the levels it is for (level: [TRACE, DEBUG, INFO])",
        "rules/sampling.yaml: rules[2].match.level: LOUD: levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
        "rules/sampling.yaml: rules[2].keep: Input should be less than or equal to 1",
    ]


def test_a_failing_file_test_names_the_rule_that_decided() -> None:
    rules = sampling.from_mapping({
        "rules": [{"name": "no-trace", "match": {"level": ["TRACE"]}, "keep": 0}],
        "tests": [{"event": {"level": "TRACE"}, "kept": True}],
    })
    assert rules.test_failures() == [
        "rules/sampling.yaml: tests[0]: {'level': 'TRACE'} was dropped by rule 'no-trace', expected kept"
    ]
