from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from streams.stages.types import ErrorKind, Rejection
from streams.stages.validate import REQUIRED, validate
from tests.unit.streams.records import log_event


def refusal(event: dict[str, Any]) -> Rejection:
    result = validate(event)
    assert isinstance(result, Rejection), result
    assert result.stage == "validate"
    assert result.event_id == str(event["event_id"])
    return result


@pytest.mark.parametrize("field", REQUIRED)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_mandatory_field_is_missing(field: str, blank: str) -> None:
    rejection = refusal(log_event(**{field: blank}))
    assert rejection.error_kind is ErrorKind.MISSING_FIELD
    assert rejection.reason.startswith(f"{field} is empty")


def test_a_valid_event_passes_with_its_event_id_as_text() -> None:
    valid = validate(log_event(event_id=UUID(int=1)))
    assert valid == log_event(event_id=str(UUID(int=1)))
