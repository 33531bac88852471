"""Validate: the rules Avro cannot express. Mandatory strings must be non-empty; the result has
its event_id as text (a UUID when the writer schema has the uuid logical type). The level and
timestamp are the normalize stage's."""

from __future__ import annotations

from streams.stages.types import ErrorKind, LogEvent, Rejection

STAGE = "validate"
REQUIRED = ("service", "environment", "level", "trace_id")


def validate(event: LogEvent) -> LogEvent | Rejection:
    event_id = str(event["event_id"])
    for name in REQUIRED:
        if not event[name].strip():
            return Rejection(STAGE, ErrorKind.MISSING_FIELD, f"{name} is empty; every event needs a {name}", event_id)
    return {**event, "event_id": event_id}
