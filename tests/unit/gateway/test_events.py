"""JSON records -> LogEvent values: what is kept, what is filled in, and why a record is refused."""

from __future__ import annotations

import io
import json

import pytest
from fastavro import parse_schema, schemaless_reader

from loglane import catalog
from loglane.gateway.avro import AvroValueWriter
from loglane.gateway.events import (
    GENERATED_TRACE_ATTRIBUTE,
    Invalid,
    RequestDefaults,
    iter_batch,
    parse_line,
    parse_timestamp,
    to_event,
)

EVENT_ID = "6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6f"


def record(**changes: object) -> dict:
    base = {
        "service": "checkout",
        "environment": "prod",
        "timestamp": "2024-05-01T12:00:00.123Z",
        "level": "INFO",
        "message": "order created",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def convert(raw: object, defaults: RequestDefaults = RequestDefaults(), tenant: str = "shop"):
    return to_event(raw, tenant, defaults, new_event_id=lambda: EVENT_ID, new_trace_id=lambda: "generated-trace")


def test_should_map_a_complete_record_and_fill_in_id_and_tenant() -> None:
    event = convert(record(span_id="00f067aa0ba902b7", attributes={"order_id": "ord-1", "items": 3}))
    assert event == {
        "event_id": EVENT_ID,
        "timestamp": 1714564800123,
        "service": "checkout",
        "environment": "prod",
        "level": "INFO",
        "message": "order created",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "tenant": "shop",
        "attributes": {"order_id": "ord-1", "items": "3"},
        "exception": None,
    }


def test_should_keep_a_given_event_id_in_canonical_form() -> None:
    event = convert(record(event_id=EVENT_ID.upper()))
    assert event["event_id"] == EVENT_ID


def test_should_move_unknown_top_level_fields_to_attributes_as_strings() -> None:
    event = convert(record(device="d-17", seq=12, ok=True, ctx={"a": [1, 2]}, nothing=None, attributes={"seq": "kept"}))
    assert event["attributes"] == {"seq": "kept", "device": "d-17", "ok": "true", "ctx": '{"a":[1,2]}'}


@pytest.mark.parametrize(
    ("value", "millis"),
    [
        ("2024-05-01T12:00:00.123Z", 1714564800123),
        ("2024-05-01T14:00:00.123+02:00", 1714564800123),
        ("2024-05-01T12:00:00.123", 1714564800123),  # no zone: UTC
        ("2024-05-01 12:00:00", 1714564800000),
        (1714564800, 1714564800000),  # epoch seconds
        (1714564800.123, 1714564800123),  # Fluent Bit's date: seconds as a float
        (1714564800123, 1714564800123),  # milliseconds
        (1714564800123456, 1714564800123),  # microseconds
        (1714564800123456789, 1714564800123),  # nanoseconds
        ("1714564800.5", 1714564800500),  # numeric text
    ],
)
def test_timestamps_may_be_iso_8601_or_epoch_numbers(value: object, millis: int) -> None:
    assert parse_timestamp(value) == millis


@pytest.mark.parametrize("value", ["yesterday", "", True, None, {"s": 1}, float("nan"), "2024-13-01T00:00:00Z"])
def test_should_refuse_what_is_not_a_timestamp(value: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_should_name_every_missing_field_in_one_reason() -> None:
    rejected = convert({"message": "hello"})
    assert isinstance(rejected, Invalid)
    assert rejected.kind == "missing"
    assert rejected.reason == "missing service, environment, level, timestamp, trace_id"


def test_should_name_every_bad_field_with_what_was_sent() -> None:
    rejected = convert(record(timestamp="yesterday", level=True, service="", span_id=5, event_id="abc", exception="boom"))
    assert isinstance(rejected, Invalid)
    assert rejected.kind == "invalid"
    for part in (
        "service: must be a non-empty string",
        "level: must be a non-empty string, not a boolean",
        "timestamp: 'yesterday' is neither ISO-8601",
        "span_id: must be a string or null, not a number",
        "event_id: 'abc' is not a UUID",
        "exception: must be an object {type, message, stack?}, not a string",
    ):
        assert part in rejected.reason


def test_should_refuse_a_record_that_names_another_tenant() -> None:
    rejected = convert(record(tenant="other"))
    assert rejected == Invalid("tenant", "tenant: 'other' is not this token's tenant 'shop'")
    assert convert(record(tenant="shop"))["tenant"] == "shop"


@pytest.mark.parametrize(("raw", "what"), [([1], "an array"), ("text", "a string"), (3, "a number"), (None, "null")])
def test_should_refuse_what_is_not_an_object(raw: object, what: str) -> None:
    assert convert(raw) == Invalid("shape", f"expected a JSON object, got {what}")


def test_numeric_levels_are_kept_as_written() -> None:
    assert convert(record(level=30))["level"] == "30"


def test_should_accept_fluent_bit_records_with_request_defaults() -> None:
    # Fluent Bit's HTTP output, format json: epoch-seconds `date`, the line in `log`, nothing else.
    defaults = RequestDefaults(service="nginx", environment="prod", level="INFO", generate_trace_id=True)
    event = convert({"date": 1700000000.123, "log": "GET / 200", "stream": "stdout"}, defaults)
    assert event["timestamp"] == 1700000000123
    assert event["message"] == "GET / 200"
    assert (event["service"], event["environment"], event["level"]) == ("nginx", "prod", "INFO")
    assert event["trace_id"] == "generated-trace"
    assert event["attributes"] == {"stream": "stdout", GENERATED_TRACE_ATTRIBUTE: "generated"}


def test_record_values_win_over_request_defaults_and_aliases() -> None:
    defaults = RequestDefaults(service="nginx", environment="prod", level="INFO")
    event = convert(record(service="api", log="raw line", date=1), defaults)
    assert event["service"] == "api"
    assert event["message"] == "order created"
    assert event["attributes"] == {"log": "raw line", "date": "1"}


def test_should_refuse_a_missing_trace_id_unless_the_request_asks_to_generate_one() -> None:
    assert convert(record(trace_id=...)) == Invalid("missing", "missing trace_id")
    generated = convert(record(trace_id=...), RequestDefaults(generate_trace_id=True))
    assert generated["trace_id"] == "generated-trace"


def test_mapped_events_are_writable_with_the_log_event_schema() -> None:
    text = catalog.schema_text("log_event.avsc")
    event = convert(record(exception={"type": "KeyError", "message": "'sku'"}, attributes={"a": 1}))
    value = AvroValueWriter(text, 42)(event)
    assert value[:5] == b"\x00\x00\x00\x00\x2a"
    decoded = schemaless_reader(io.BytesIO(value[5:]), parse_schema(json.loads(text)))
    assert decoded["message"] == "order created"
    assert decoded["exception"] == {"type": "KeyError", "message": "'sku'", "stack": None}
    assert decoded["attributes"] == {"a": "1"}


def test_batches_are_json_arrays_or_ndjson() -> None:
    assert list(iter_batch(b' [{"a": 1}, 2]')) == [{"a": 1}, 2]
    items = list(iter_batch(b'{"a": 1}\n\n{oops\r\n{"b": 2}\n'))
    assert items[0] == {"a": 1}
    assert isinstance(items[1], Invalid) and items[1].kind == "json"
    assert items[2] == {"b": 2}
    with pytest.raises(ValueError, match="not a JSON array"):
        list(iter_batch(b'[{"a": 1},'))


def test_parse_line_reports_undecodable_bytes() -> None:
    assert isinstance(parse_line(b"\xff\xfe"), Invalid)


def test_generated_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from loglane.gateway.events import _new_event_id, _new_trace_id

    event_ids = [_new_event_id() for _ in range(10_000)]
    assert len(set(event_ids)) == len(event_ids)
    for value in event_ids[:500]:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, value)
    assert uuid.UUID(_new_trace_id()).version == 4


def test_deeply_nested_json_is_refused_not_fatal() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert parse_line(deep).kind == "json"
    with pytest.raises(ValueError, match="nested too deeply"):
        list(iter_batch(deep))


def test_the_gateway_writes_the_same_bytes_as_the_shared_avro_writer() -> None:
    from confluent_kafka.schema_registry import RegisteredSchema, SchemaRegistryClient

    from loglane.avro import AvroWriter
    from loglane.catalog import TopicSpec

    registry = SchemaRegistryClient.new_client({"url": "mock://gateway-unit"})  # confluent-kafka's in-memory one
    registry.lookup_schema = lambda subject, schema, **_: RegisteredSchema(  # type: ignore[method-assign]
        schema_id=42, guid=None, schema=schema, subject=subject, version=1
    )
    shared = AvroWriter(registry, TopicSpec("raw", "raw-unit", 1, 1, value_schema="log_event.avsc"))
    event = convert(record(span_id="00f067aa0ba902b7", exception={"type": "E", "message": "m", "stack": "s"}, x=1))
    assert AvroValueWriter(catalog.schema_text("log_event.avsc"), 42)(event) == shared(event)
