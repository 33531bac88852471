"""What flows between stages. Event shapes are plain dicts: schemas/*.avsc is their only
definition, and the Avro writers check every output against it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

LogEvent = dict[str, Any]  # schemas/log_event.avsc, as fastavro reads it
ProcessedLogEvent = dict[str, Any]  # schemas/processed_log_event.avsc
DeadLetter = dict[str, Any]  # schemas/dead_letter.avsc


class ErrorKind(StrEnum):
    """DeadLetter.error_kind: stable, for dashboards and replay tooling."""

    UNDECODABLE = "undecodable"  # not Confluent wire format, torn, or an Avro body that does not read
    UNKNOWN_SCHEMA = "unknown_schema"  # the registry does not know the schema id
    MISSING_FIELD = "missing_field"  # a mandatory field is empty
    # Kept for the records it named: implausible timestamps are now flagged, not dead-lettered
    # (stages.normalize).
    BAD_TIMESTAMP = "bad_timestamp"
    INVALID_FIELD = "invalid_field"  # a field holds a value the pipeline cannot normalize
    INTERNAL = "internal"  # a loglane bug tripped on this record: kept to replay after the fix


@dataclass(frozen=True)
class RawRecord:
    """One record of the raw topic as Kafka delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: datetime | None = None  # when Kafka received it (the record's timestamp), if known


@dataclass(frozen=True)
class Rejection:
    """Why a stage refused a record; build.dead_letter turns it into a DeadLetter."""

    stage: str
    error_kind: ErrorKind
    reason: str
    event_id: str | None = None
