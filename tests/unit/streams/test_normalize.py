from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from loglane.errors import ConfigError
from loglane.settings import get_settings
from streams.rules import normalize as rules_file
from streams.stages.normalize import normalize
from streams.stages.timestamps import iso, parse_timestamp
from streams.stages.types import ErrorKind, Rejection
from tests.unit.streams.records import NOW, log_event

RULES = rules_file.load(get_settings().project_dir)
UTC = timezone.utc


@pytest.mark.parametrize(
    "given, level",
    [
        ("INFO", "INFO"), ("info", "INFO"), (" Info ", "INFO"), ("trace", "TRACE"), ("Debug", "DEBUG"),
        ("warn", "WARN"), ("WARNING", "WARN"), ("err", "ERROR"), ("Error", "ERROR"), ("fatal", "FATAL"),
        ("CRITICAL", "FATAL"), ("notice", "INFO"), ("emerg", "FATAL"),
        # syslog severities 0-7
        ("0", "FATAL"), ("1", "FATAL"), ("2", "FATAL"), ("3", "ERROR"), ("4", "WARN"), ("5", "INFO"), ("6", "INFO"),
        ("7", "DEBUG"),
        # pino / bunyan
        ("10", "TRACE"), ("20", "DEBUG"), ("30", "INFO"), ("40", "WARN"), ("50", "ERROR"), ("60", "FATAL"),
    ],
)
def test_should_normalize_level_aliases(given: str, level: str) -> None:
    event = normalize(log_event(level=given), NOW, RULES)
    assert isinstance(event, dict)
    assert event["level"] == level


def test_an_unknown_level_is_an_invalid_field_naming_the_value() -> None:
    rejection = normalize(log_event(level="LOUD"), NOW, RULES)
    assert isinstance(rejection, Rejection)
    assert (rejection.stage, rejection.error_kind) == ("normalize", ErrorKind.INVALID_FIELD)
    assert "'LOUD'" in rejection.reason and "WARN" in rejection.reason


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-01-21T10:00:00Z", "2026-01-21T10:00:00.000Z"),
        ("2026-01-21T10:00:00", "2026-01-21T10:00:00.000Z"),  # no zone: UTC
        ("2026-01-21T11:00:00.123456789+01:00", "2026-01-21T10:00:00.123Z"),
        ("2026-01-21 10:00:00,123", "2026-01-21T10:00:00.123Z"),  # Python logging
        ("2026-01-21T10:00:00.5-0530", "2026-01-21T15:30:00.500Z"),
        ("2026/01/21 10:00:00", "2026-01-21T10:00:00.000Z"),
        ("1768989600", "2026-01-21T10:00:00.000Z"),  # epoch s
        ("1768989600.5", "2026-01-21T10:00:00.500Z"),
        ("1768989600123", "2026-01-21T10:00:00.123Z"),  # ms
        ("1768989600123456", "2026-01-21T10:00:00.123Z"),  # µs
        ("1768989600123456789", "2026-01-21T10:00:00.123Z"),  # ns
        ("Jan 21 10:00:00", "2026-01-21T10:00:00.000Z"),  # syslog: this year
        ("Dec 31 23:59:59", "2025-12-31T23:59:59.000Z"),  # syslog: last year, not the future
        ("Jan  1 00:00:00", "2026-01-01T00:00:00.000Z"),
        ("21/Jan/2026:10:00:00 +0100", "2026-01-21T09:00:00.000Z"),  # access logs
        ("Wed, 21 Jan 2026 10:00:00 GMT", "2026-01-21T10:00:00.000Z"),  # RFC 2822
    ],
)
def test_timestamps_as_logs_write_them_become_utc_milliseconds(text: str, expected: str) -> None:
    moment = parse_timestamp(text, datetime(2026, 1, 22, tzinfo=UTC))
    assert moment is not None and iso(moment) == expected
    assert moment.tzinfo is UTC and moment.microsecond % 1000 == 0


@pytest.mark.parametrize("text", ["nonsense", "2026-02-30 10:00:00", "Foo 21 10:00:00", "", "v1.2.3"])
def test_what_is_no_time_is_none(text: str) -> None:
    assert parse_timestamp(text) is None


def test_a_plausible_time_is_kept_to_the_millisecond_in_utc() -> None:
    moment = datetime(2026, 3, 1, 13, 59, 59, 123456, tzinfo=timezone(timedelta(hours=2)))
    event = normalize(log_event(timestamp=moment), NOW, RULES)
    assert isinstance(event, dict)
    assert event["timestamp"] == datetime(2026, 3, 1, 11, 59, 59, 123000, tzinfo=UTC)
    assert "loglane.flag" not in event["attributes"]


@pytest.mark.parametrize(
    "moment, flag", [(NOW + timedelta(days=3), "future_timestamp"), (NOW - timedelta(days=8), "stale_timestamp")]
)
def test_an_implausible_time_is_flagged_and_replaced_by_when_kafka_received_it(moment: datetime, flag: str) -> None:
    received = NOW - timedelta(seconds=2)
    event = normalize(log_event(timestamp=moment), NOW, RULES, received)
    assert isinstance(event, dict)
    assert event["timestamp"] == received
    assert event["attributes"] == {"order_id": "ord-1", "loglane.flag": flag, "loglane.original_timestamp": iso(moment)}


def test_without_a_plausible_receive_time_the_stream_clock_is_used() -> None:
    event = normalize(log_event(timestamp=NOW + timedelta(days=3)), NOW, RULES, NOW + timedelta(days=3))
    assert isinstance(event, dict) and event["timestamp"] == NOW


def test_flags_add_up() -> None:
    event = normalize(log_event(timestamp=0, attributes={"loglane.flag": "x"}), NOW, RULES)
    assert isinstance(event, dict)
    assert event["attributes"]["loglane.flag"] == "x,stale_timestamp"
    assert event["attributes"]["loglane.original_timestamp"] == "1970-01-01T00:00:00.000Z"


def test_limits_within_the_rules_are_accepted() -> None:
    for moment in (NOW + timedelta(hours=23), NOW - timedelta(days=6)):
        event = normalize(log_event(timestamp=moment), NOW, RULES)
        assert isinstance(event, dict) and event["timestamp"] == moment


def test_writers_without_the_logical_type_give_epoch_millis() -> None:
    millis = int((NOW - timedelta(minutes=1)).timestamp() * 1000)
    event = normalize(log_event(timestamp=millis), NOW, RULES)
    assert isinstance(event, dict) and event["timestamp"] == datetime(2026, 3, 1, 11, 59, tzinfo=UTC)


def test_the_projects_rules_pass_their_own_tests() -> None:
    assert RULES.document.tests and RULES.test_failures() == []


def test_a_bad_file_names_each_problem(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "normalize.yaml").write_text(yaml.safe_dump({
        "levels": {"WARN": ["warning"], "ERROR": ["warning"], "LOUD": ["x"]},
        "timestamps": {"max_ahead": "soon", "max_age": 0},
    }))
    with pytest.raises(ConfigError) as raised:
        rules_file.load(tmp_path)
    lines = str(raised.value).splitlines()
    assert lines[0] == "rules/normalize.yaml: levels: LOUD: levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL"
    assert lines[1].startswith("rules/normalize.yaml: timestamps.max_ahead: 'soon' is no duration")
    assert lines[2] == "rules/normalize.yaml: timestamps.max_age: must be longer than zero"
