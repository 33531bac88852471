from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest

from loglane.avro import RegistryUnavailable
from loglane.errors import ConfigError
from loglane.services import Service
from streams.pipeline import Pipeline, handle_until_done
from streams.rules import sampling
from streams.stages.dedup import Deduplicator, MemorySeen
from streams.stages.enrich import FIELDS as ENRICHED
from streams.stages.types import RawRecord
from tests.unit.streams.records import (
    DEAD_LETTER,
    LOG_EVENT,
    LOG_EVENT_TEXT,
    NOW,
    PROCESSED,
    RULES,
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


def raw(value: bytes | None, offset: int = 9, partition: int = 0) -> RawRecord:
    return RawRecord("logs.raw", partition, offset, b"key-1", value, NOW - timedelta(seconds=1))


def test_should_turn_a_valid_event_into_a_processed_record_keyed_by_service() -> None:
    stages, processed, dead = build_pipeline()
    [output] = stages.handle(raw(wire(log_event(level="warning", message="by ana@example.com"))))
    assert (output.role, output.key) == ("processed", b"checkout")
    [value] = processed.values
    assert (value["level"], value["message"], value["pii_masked"]) == ("WARN", "by <email>", 1)
    assert value["source_offset"] == 9
    assert output.value == wire(value, 1, PROCESSED)
    assert dead.values == []
    assert stages.metrics.total("loglane_stream_records", outcome="processed") == 1
    assert stages.metrics.total("loglane_stream_pii_masked", kind="email") == 1


@pytest.mark.parametrize("level", ["ERROR", "fatal", "critical", "3"])
def test_error_and_fatal_also_go_to_the_alert_candidates(level: str) -> None:
    stages, processed, _ = build_pipeline()
    outputs = stages.handle(raw(wire(log_event(level=level))))
    assert [(o.role, o.key) for o in outputs] == [("processed", b"checkout"), ("alert-candidates", b"checkout")]
    assert outputs[0].value == outputs[1].value  # the same ProcessedLogEvent
    assert stages.metrics.total("loglane_stream_routed", role="alert-candidates") == 1


@pytest.mark.parametrize(
    "value, stage, kind",
    [
        (b"not avro", "decode", "undecodable"),
        (wire(log_event(), schema_id=987_654), "decode", "unknown_schema"),
        (wire(log_event(trace_id="")), "validate", "missing_field"),
        (wire(log_event(level="LOUD")), "normalize", "invalid_field"),
    ],
)
def test_every_refusal_becomes_one_dead_letter_with_the_original(value: bytes, stage: str, kind: str) -> None:
    stages, processed, dead = build_pipeline()
    [output] = stages.handle(raw(value))
    assert (output.role, output.key) == ("deadletter", b"key-1")
    [letter] = dead.values
    assert (letter["stage"], letter["error_kind"], letter["original"], letter["original_key"]) == (
        stage, kind, value, b"key-1",
    )
    assert letter["reason"]
    assert processed.values == []
    assert stages.metrics.total("loglane_stream_dead_letters", stage=stage, error_kind=kind) == 1


def test_a_timestamp_days_ahead_is_kept_flagged_at_the_time_kafka_received_it() -> None:
    stages, processed, dead = build_pipeline()
    [output] = stages.handle(raw(wire(log_event(timestamp=NOW + timedelta(days=3)))))
    assert output.role == "processed" and dead.values == []
    [value] = processed.values
    assert value["timestamp"] == NOW - timedelta(seconds=1)
    assert value["attributes"]["loglane.flag"] == "future_timestamp"
    assert value["attributes"]["loglane.original_timestamp"] == "2026-03-04T12:00:00.000Z"
    assert stages.metrics.total("loglane_stream_flagged", flag="future_timestamp") == 1


def test_a_message_with_structure_is_parsed_before_it_is_normalized_and_masked() -> None:
    stages, processed, _ = build_pipeline()
    message = '{"level": "error", "msg": "refund to ana@example.com failed", "order": "ord-9"}'
    outputs = stages.handle(raw(wire(log_event(level="info", message=message))))
    assert [o.role for o in outputs] == ["processed", "alert-candidates"]  # the parsed level routes it
    value = processed.values[0]
    assert (value["level"], value["message"]) == ("ERROR", "refund to <email> failed")
    assert value["attributes"] == {"order_id": "ord-1", "order": "ord-9", "loglane.parser": "json"}


def test_an_event_sampled_out_is_no_output_and_is_counted_by_rule() -> None:
    rules = dataclasses.replace(RULES, sampling=sampling.from_mapping(
        {"rules": [{"name": "no-debug", "match": {"level": ["DEBUG"]}, "keep": 0}]}
    ))
    stages, processed, dead = build_pipeline(rules=rules)
    assert stages.handle(raw(wire(log_event(level="debug")))) == []
    assert len(stages.handle(raw(wire(log_event(level="info"))))) == 1
    assert stages.metrics.total("loglane_stream_dropped", stage="sample", reason="no-debug") == 1
    assert stages.metrics.total("loglane_stream_records", outcome="dropped") == 1


def test_a_repeated_event_is_dropped_but_a_redelivered_record_is_not() -> None:
    window = timedelta(minutes=10)
    stages, processed, _ = build_pipeline(dedup=Deduplicator(MemorySeen(window), window))
    event = wire(log_event())
    assert len(stages.handle(raw(event, offset=1))) == 1
    assert stages.handle(raw(event, offset=2)) == []  # a replay: another record, the same event_id
    assert len(stages.handle(raw(event, offset=1))) == 1  # the same record again (a restart): not lost
    same_line = wire(log_event(event_id="1b6f6e2c-6f8e-4d55-9d4b-1f0c0f9b7a11"))
    assert stages.handle(raw(same_line, offset=3)) == []  # a new id, the same content
    assert stages.metrics.total("loglane_stream_dropped", stage="dedup") == 2
    assert stages.metrics.total("loglane_stream_dropped", stage="dedup", reason="content") == 1


def test_a_bug_dead_letters_the_record_instead_of_losing_it() -> None:
    def broken(value: dict[str, Any]) -> bytes:
        raise ValueError("field 'level' is not a string")

    dead = Capture(DEAD_LETTER)
    writers = {"processed": broken, "deadletter": dead, "alert-candidates": broken}
    stages = Pipeline({SCHEMA_ID: LOG_EVENT_TEXT}, LOG_EVENT, writers, RULES, clock=lambda: NOW)
    [output] = stages.handle(raw(wire(log_event())))
    assert output.role == "deadletter"
    [letter] = dead.values
    assert (letter["stage"], letter["error_kind"]) == ("process", "internal")
    assert "ValueError: field 'level' is not a string" in letter["reason"]


def test_a_pipeline_without_a_writer_for_a_route_is_refused() -> None:
    with pytest.raises(ConfigError, match="no writer for role\\(s\\) alert-candidates"):
        Pipeline({}, LOG_EVENT, {"processed": Capture(PROCESSED), "deadletter": Capture(DEAD_LETTER)}, RULES)


def test_a_registry_outage_is_retried_with_backoff_never_dead_lettered() -> None:
    stages, processed, dead = build_pipeline(Outage(failures=3))
    with pytest.raises(RegistryUnavailable):
        stages.handle(raw(wire(log_event())))

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    [output] = asyncio.run(handle_until_done(stages, raw(wire(log_event())), sleep))
    assert output.role == "processed"
    assert waits == [1.0, 2.0]  # the first call above used one failure
    assert dead.values == []


def test_should_enrich_from_the_environment_rules_and_the_injected_catalog() -> None:
    stages, processed, _ = build_pipeline(services={"checkout": Service("checkout", "shop", "tier-1")})
    stages.handle(raw(wire(log_event(service="checkout", environment="prod"))))
    stages.handle(raw(wire(log_event(service="unlisted", environment="nowhere", event_id=str(uuid.uuid4())))))
    listed, unlisted = processed.values
    assert [listed[name] for name in ENRICHED] == ["eu-west-1", "prod-eu-1", "shop", "tier-1"]
    assert [unlisted[name] for name in ENRICHED] == [None, None, None, None]


def test_every_stage_is_timed() -> None:
    stages, _, _ = build_pipeline(dedup=Deduplicator(MemorySeen(timedelta(minutes=1)), timedelta(minutes=1)))
    stages.handle(raw(wire(log_event())))
    timed = {key[0] for key in stages.metrics.values["loglane_stream_stage_seconds"]}
    assert timed == {"decode", "validate", "parse", "normalize", "enrich", "sample", "dedup", "mask", "write"}
