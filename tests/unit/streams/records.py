"""Test records for the stream stages: LogEvents and their Confluent wire-format bytes, built with
fastavro and the schemas in schemas/ (no registry, no broker)."""

from __future__ import annotations

import io
import json
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

import fastavro

from loglane.catalog import schema_text
from loglane.settings import get_settings
from streams import rules
from streams.rules import Rules
from streams.stages.dedup import Deduplicator
from streams.pipeline import Pipeline
from streams.stages.decode import SchemaSource, parse
from streams.stages.enrich import NO_SERVICES, ServiceLookup

LOG_EVENT_TEXT = schema_text("log_event.avsc")
LOG_EVENT = parse(LOG_EVENT_TEXT)
PROCESSED = parse(schema_text("processed_log_event.avsc"))
DEAD_LETTER = parse(schema_text("dead_letter.avsc"))
SCHEMA_ID = 42
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RULES = rules.load(get_settings().project_dir)  # the project's own rules/


def log_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "0b6f6e2c-6f8e-4d55-9d4b-1f0c0f9b7a11",
        "timestamp": NOW - timedelta(seconds=5),
        "service": "checkout",
        "environment": "prod",
        "level": "info",
        "message": "order ord-1 created",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "tenant": "shop",
        "attributes": {"order_id": "ord-1"},
        "exception": None,
    }
    return {**event, **changes}


def wire(event: dict[str, Any], schema_id: int = SCHEMA_ID, schema: Any = LOG_EVENT) -> bytes:
    """Confluent wire format: magic byte 0, the 4-byte schema id, the Avro body."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, event)
    return struct.pack(">bI", 0, schema_id) + body.getvalue()


def older_writer_text() -> str:
    """LogEvent as an early producer wrote it: no tenant, attributes or exception yet."""
    schema = json.loads(LOG_EVENT_TEXT)
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in ("tenant", "attributes", "exception")]
    return json.dumps(schema)


class Capture:
    """A writer that checks each value against its schema and keeps it."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.values: list[dict[str, Any]] = []

    def __call__(self, value: dict[str, Any]) -> bytes:
        fastavro.validate(value, self.schema, raise_errors=True)
        self.values.append(value)
        return wire(value, 1, self.schema)


def build_pipeline(
    schemas: SchemaSource | None = None,
    rules: Rules = RULES,
    dedup: Deduplicator | None = None,
    services: ServiceLookup = NO_SERVICES,
) -> tuple[Pipeline, Capture, Capture]:
    """A pipeline on a dict of schemas, capturing what it writes (processed and every route's
    records in one capture, dead letters in another), its clock stopped at NOW."""
    processed, dead = Capture(PROCESSED), Capture(DEAD_LETTER)
    writers = {"processed": processed, "deadletter": dead, **{role: processed for role in rules.routing.roles}}
    stages = Pipeline(
        schemas or {SCHEMA_ID: LOG_EVENT_TEXT}, LOG_EVENT, writers, rules, dedup, clock=lambda: NOW, services=services
    )
    return stages, processed, dead
