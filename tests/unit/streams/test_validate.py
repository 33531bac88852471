from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from streams.stages.types import ErrorKind, Rejection
from streams.stages.validate import REQUIRED, validate
from tests.unit.streams.records import NOW, log_event


def refusal(event: dict[str, Any]) -> Rejection:
    result = validate(event, NOW)
    assert isinstance(result, Rejection), result
    assert result.stage == "validate"
    assert result.event_id == str(event["event_id"])
    return result


@pytest.mark.parametrize(
    "given, level",
    [
        ("INFO", "INFO"), ("info", "INFO"), (" Info ", "INFO"), ("trace", "TRACE"), ("Debug", "DEBUG"),
        ("warn", "WARN"), ("WARNING", "WARN"), ("err", "ERROR"), ("Error", "ERROR"),
        ("fatal", "FATAL"), ("CRITICAL", "FATAL"),
    ],
)
def test_should_normalize_level_aliases(given: str, level: str) -> None:
    valid = validate(log_event(level=given), NOW)
    assert isinstance(valid, dict)
    assert valid["level"] == level


def test_an_unknown_level_is_an_invalid_field_naming_the_value() -> None:
    rejection = refusal(log_event(level="LOUD"))
    assert rejection.error_kind is ErrorKind.INVALID_FIELD
    assert "'LOUD'" in rejection.reason and "WARN" in rejection.reason


@pytest.mark.parametrize("field", REQUIRED)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_mandatory_field_is_missing(field: str, blank: str) -> None:
    rejection = refusal(log_event(**{field: blank}))
    assert rejection.error_kind is ErrorKind.MISSING_FIELD
    assert rejection.reason.startswith(f"{field} is empty")


def test_a_timestamp_more_than_a_day_ahead_is_bad_and_shown_in_iso() -> None:
    rejection = refusal(log_event(timestamp=NOW + timedelta(days=3)))
    assert rejection.error_kind is ErrorKind.BAD_TIMESTAMP
    assert "2026-03-04T12:00:00.000Z" in rejection.reason
    assert "1 day ahead" in rejection.reason


def test_a_timestamp_older_than_a_week_is_bad() -> None:
    rejection = refusal(log_event(timestamp=NOW - timedelta(days=8)))
    assert rejection.error_kind is ErrorKind.BAD_TIMESTAMP
    assert "2026-02-21T12:00:00.000Z" in rejection.reason and "7 days old" in rejection.reason


def test_clock_skew_within_the_limits_is_accepted() -> None:
    for moment in (NOW + timedelta(hours=23), NOW - timedelta(days=6)):
        assert isinstance(validate(log_event(timestamp=moment), NOW), dict)


def test_writers_without_logical_types_are_normalized_to_datetime_and_text() -> None:
    # fastavro gives epoch millis and text when the writer schema lacks timestamp-millis and uuid.
    millis = int((NOW - timedelta(minutes=1)).timestamp() * 1000)
    valid = validate(log_event(timestamp=millis, event_id="e-1"), NOW)
    assert isinstance(valid, dict)
    assert valid["timestamp"] == datetime(2026, 3, 1, 11, 59, tzinfo=timezone.utc)
    assert valid["event_id"] == "e-1"
    with_uuid = validate(log_event(event_id=UUID(int=1)), NOW)
    assert isinstance(with_uuid, dict) and with_uuid["event_id"] == str(UUID(int=1))
