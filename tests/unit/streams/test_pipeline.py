from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from loglane.avro import RegistryUnavailable
from streams.pipeline import Pipeline, handle_until_done
from streams.stages.types import RawRecord
from tests.unit.streams.records import (
    DEAD_LETTER,
    LOG_EVENT,
    LOG_EVENT_TEXT,
    NOW,
    PROCESSED,
    SCHEMA_ID,
    Capture,
    build_pipeline,
    log_event,
    wire,
)


class Outage:
    """A schema source whose registry is down for the first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def get(self, schema_id: int, /) -> str | None:
        if self.failures:
            self.failures -= 1
            raise RegistryUnavailable("registry: connection refused")
        return LOG_EVENT_TEXT


def raw(value: bytes | None, offset: int = 9) -> RawRecord:
    return RawRecord("logs.raw", 0, offset, b"key-1", value)


def test_should_turn_a_valid_event_into_a_processed_record_keyed_by_service() -> None:
    stages, processed, dead = build_pipeline()
    output = stages.handle(raw(wire(log_event(level="warning", message="by ana@example.com"))))
    assert (output.role, output.key) == ("processed", b"checkout")
    [value] = processed.values
    assert (value["level"], value["message"], value["pii_masked"]) == ("WARN", "by <email>", 1)
    assert value["source_offset"] == 9
    assert output.value == wire(value, 1, PROCESSED)
    assert dead.values == []


@pytest.mark.parametrize(
    "value, stage, kind",
    [
        (b"not avro", "decode", "undecodable"),
        (wire(log_event(), schema_id=987_654), "decode", "unknown_schema"),
        (wire(log_event(trace_id="")), "validate", "missing_field"),
        (wire(log_event(timestamp=NOW + timedelta(days=3))), "validate", "bad_timestamp"),
        (wire(log_event(level="LOUD")), "validate", "invalid_field"),
    ],
)
def test_every_refusal_becomes_one_dead_letter_with_the_original(value: bytes, stage: str, kind: str) -> None:
    stages, processed, dead = build_pipeline()
    output = stages.handle(raw(value))
    assert (output.role, output.key) == ("deadletter", b"key-1")
    [letter] = dead.values
    assert (letter["stage"], letter["error_kind"], letter["original"], letter["original_key"]) == (
        stage, kind, value, b"key-1",
    )
    assert letter["reason"]
    assert processed.values == []


def test_a_bug_dead_letters_the_record_instead_of_losing_it() -> None:
    def broken(value: dict[str, Any]) -> bytes:
        raise ValueError("field 'level' is not a string")

    stages = Pipeline({SCHEMA_ID: LOG_EVENT_TEXT}, LOG_EVENT, broken, dead := Capture(DEAD_LETTER), clock=lambda: NOW)
    output = stages.handle(raw(wire(log_event())))
    assert output.role == "deadletter"
    [letter] = dead.values
    assert (letter["stage"], letter["error_kind"]) == ("process", "internal")
    assert "ValueError: field 'level' is not a string" in letter["reason"]


def test_a_registry_outage_is_retried_with_backoff_never_dead_lettered() -> None:
    stages, processed, dead = build_pipeline(Outage(failures=3))
    with pytest.raises(RegistryUnavailable):
        stages.handle(raw(wire(log_event())))

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    output = asyncio.run(handle_until_done(stages, raw(wire(log_event())), sleep))
    assert output.role == "processed"
    assert waits == [1.0, 2.0]  # the first call above used one failure
    assert dead.values == []
