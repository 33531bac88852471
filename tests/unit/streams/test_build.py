from __future__ import annotations

import fastavro

from loglane import __version__
from streams.stages.build import dead_letter, processed
from streams.stages.enrich import enrich
from streams.stages.types import ErrorKind, RawRecord, Rejection
from streams.stages.normalize import normalize
from tests.unit.streams.records import DEAD_LETTER, NOW, PROCESSED, RULES, log_event

RECORD = RawRecord("logs.raw", 3, 1207, b"checkout", b"\x00raw-bytes")


def test_processed_is_flat_and_fits_its_schema() -> None:
    event = normalize(
        log_event(exception={"type": "Declined", "message": "card declined", "stack": "at pay()"}), NOW, RULES.normalize
    )
    assert isinstance(event, dict)
    record = processed(enrich(event, RULES.enrich, {}), 2, RECORD, NOW)
    assert fastavro.validate(record, PROCESSED, raise_errors=True)
    assert (record["exception_type"], record["exception_message"], record["exception_stack"]) == (
        "Declined", "card declined", "at pay()",
    )
    assert (record["source_topic"], record["source_partition"], record["source_offset"]) == ("logs.raw", 3, 1207)
    assert (record["pii_masked"], record["pipeline_version"], record["processed_at"]) == (2, __version__, NOW)
    assert "exception" not in record


def test_an_event_without_exception_has_empty_exception_columns() -> None:
    event = normalize(log_event(), NOW, RULES.normalize)
    assert isinstance(event, dict)
    record = processed(enrich(event, RULES.enrich, {}), 0, RECORD, NOW)
    assert fastavro.validate(record, PROCESSED, raise_errors=True)
    assert record["exception_type"] is record["exception_message"] is record["exception_stack"] is None


def test_dead_letter_keeps_the_original_bytes_and_says_why() -> None:
    rejection = Rejection("validate", ErrorKind.MISSING_FIELD, "trace_id is empty", "e-1")
    letter = dead_letter(rejection, RECORD, NOW)
    assert fastavro.validate(letter, DEAD_LETTER, raise_errors=True)
    assert letter == {
        "stage": "validate",
        "error_kind": "missing_field",
        "reason": "trace_id is empty",
        "original": b"\x00raw-bytes",
        "original_key": b"checkout",
        "source_topic": "logs.raw",
        "source_partition": 3,
        "source_offset": 1207,
        "event_id": "e-1",
        "failed_at": NOW,
    }
