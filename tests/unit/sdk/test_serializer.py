"""AvroEventSerializer: the event's own faults are InvalidEvent (dropped); the registry's are not (kept)."""

from __future__ import annotations

import io
import logging

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import schemaless_reader

from loglane.sdk import AvroEventSerializer, InvalidEvent, Origin, event_from_record

EVENT = event_from_record(logging.LogRecord("shop", logging.INFO, "f.py", 1, "paid", (), None), Origin("checkout", "dev"))


def test_events_serialize_to_confluent_framed_avro() -> None:
    serializer = AvroEventSerializer("mock://", "t", _schema(), auto_register=True, client=SchemaRegistryClient.new_client({"url": "mock://sdk"}))
    value = serializer(EVENT)
    assert value[0] == 0  # magic byte, then the schema id, then the Avro body
    decoded = schemaless_reader(io.BytesIO(value[5:]), serializer._schema, return_named_type=False)
    assert {**decoded, "event_id": str(decoded["event_id"]), "timestamp": EVENT["timestamp"]} == EVENT
    assert int(decoded["timestamp"].timestamp() * 1000) == EVENT["timestamp"]


def test_an_event_that_does_not_fit_is_invalid() -> None:
    serializer = AvroEventSerializer("mock://", "t", _schema(), auto_register=True, client=SchemaRegistryClient.new_client({"url": "mock://sdk2"}))
    with pytest.raises(InvalidEvent):
        serializer({**EVENT, "attributes": {"count": 3}})  # type: ignore[dict-item]


def test_an_unreachable_registry_is_not_the_events_fault() -> None:
    serializer = AvroEventSerializer("http://127.0.0.1:1", "t", _schema(), auto_register=False)
    with pytest.raises(Exception) as raised:
        serializer(EVENT)
    assert not isinstance(raised.value, InvalidEvent)


def _schema() -> str:
    from loglane.catalog import schema_text

    return schema_text("log_event.avsc")
