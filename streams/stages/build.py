"""Build: the two output records, shaped as schemas/processed_log_event.avsc and
schemas/dead_letter.avsc say (the Avro writers check them against those files)."""

from __future__ import annotations

from datetime import datetime

from loglane import __version__
from streams.stages.enrich import FIELDS as ENRICHED
from streams.stages.types import DeadLetter, LogEvent, ProcessedLogEvent, RawRecord, Rejection


def processed(event: LogEvent, pii_masked: int, record: RawRecord, now: datetime) -> ProcessedLogEvent:
    """A validated, enriched, masked event, flattened: the exception's fields become exception_* columns."""
    exception = event["exception"] or {}
    return {
        "event_id": event["event_id"],
        "timestamp": event["timestamp"],
        "service": event["service"],
        "environment": event["environment"],
        "tenant": event["tenant"],
        **{name: event[name] for name in ENRICHED},
        "level": event["level"],
        "message": event["message"],
        "trace_id": event["trace_id"],
        "span_id": event["span_id"],
        "attributes": event["attributes"],
        "exception_type": exception.get("type"),
        "exception_message": exception.get("message"),
        "exception_stack": exception.get("stack"),
        "processed_at": now,
        "pipeline_version": __version__,
        "pii_masked": pii_masked,
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
    }


def dead_letter(rejection: Rejection, record: RawRecord, now: datetime) -> DeadLetter:
    """The refused record whole (value and key bytes as received) with who refused it and why."""
    return {
        "stage": rejection.stage,
        "error_kind": str(rejection.error_kind),
        "reason": rejection.reason,
        "original": record.value,
        "original_key": record.key,
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
        "event_id": rejection.event_id,
        "failed_at": now,
    }
