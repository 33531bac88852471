from __future__ import annotations

import json
from uuid import UUID

import pytest

from streams.stages.decode import decode, parse
from streams.stages.types import ErrorKind, Rejection
from tests.unit.streams.records import LOG_EVENT, LOG_EVENT_TEXT, NOW, SCHEMA_ID, log_event, older_writer_text, wire

SCHEMAS = {SCHEMA_ID: LOG_EVENT_TEXT}


def refusal(value: bytes | None, schemas: dict[int, str] = SCHEMAS) -> Rejection:
    result = decode(value, schemas, LOG_EVENT)
    assert isinstance(result, Rejection), result
    assert result.stage == "decode"
    return result


def test_should_decode_wire_format_with_the_writer_schema_from_the_source() -> None:
    event = decode(wire(log_event(level="warning")), SCHEMAS, LOG_EVENT)
    assert isinstance(event, dict)
    assert event["level"] == "warning"
    assert event["event_id"] == UUID("0b6f6e2c-6f8e-4d55-9d4b-1f0c0f9b7a11")
    assert event["timestamp"] < NOW and event["timestamp"].tzinfo is not None
    assert event["attributes"] == {"order_id": "ord-1"}


def test_an_older_writer_is_read_with_the_current_schemas_defaults() -> None:
    older = older_writer_text()
    fields = {f["name"] for f in json.loads(older)["fields"]}
    value = wire({k: v for k, v in log_event().items() if k in fields}, 7, parse(older))
    event = decode(value, {7: older}, LOG_EVENT)
    assert isinstance(event, dict)
    assert (event["tenant"], event["attributes"], event["exception"]) == ("default", {}, None)


@pytest.mark.parametrize(
    "value, says",
    [
        (b'{"message": "plain JSON"}', "not Confluent wire format"),
        (b"\x00\x00\x00", "not Confluent wire format"),
        (b"", "not Confluent wire format"),
        (None, "tombstone"),
    ],
)
def test_bytes_without_the_wire_header_are_undecodable(value: bytes | None, says: str) -> None:
    rejection = refusal(value)
    assert rejection.error_kind is ErrorKind.UNDECODABLE
    assert says in rejection.reason


def test_an_id_the_registry_does_not_know_is_an_unknown_schema() -> None:
    rejection = refusal(wire(log_event(), schema_id=987_654))
    assert rejection.error_kind is ErrorKind.UNKNOWN_SCHEMA
    assert "987654" in rejection.reason


def test_a_torn_body_is_undecodable() -> None:
    rejection = refusal(wire(log_event())[:12])
    assert rejection.error_kind is ErrorKind.UNDECODABLE
    assert f"writer schema id {SCHEMA_ID}" in rejection.reason


def test_bytes_after_the_record_are_undecodable() -> None:
    rejection = refusal(wire(log_event()) + b"\x01\x02")
    assert rejection.error_kind is ErrorKind.UNDECODABLE
    assert "2 bytes left" in rejection.reason


def test_a_writer_schema_that_is_not_a_log_event_is_undecodable() -> None:
    other = json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "long"}]})
    value = wire({"n": 1}, 5, parse(other))
    rejection = refusal(value, {5: other})
    assert rejection.error_kind is ErrorKind.UNDECODABLE
    assert "schema id 5" in rejection.reason
