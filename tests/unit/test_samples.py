import json
from datetime import datetime, timezone

import fastavro

from loglane.catalog import schema_text
from loglane.samples import invalid_events, sample_events

LOG_EVENT = fastavro.parse_schema(json.loads(schema_text("log_event.avsc")))


def test_samples_are_valid_log_events_and_deterministic() -> None:
    start = datetime(2026, 1, 21, 10, tzinfo=timezone.utc)
    events = sample_events(500, seed=3, start=start)
    assert len(events) == 500
    assert events == sample_events(500, seed=3, start=start)
    for event in events:
        assert fastavro.validate(event, LOG_EVENT, raise_errors=True)


def test_samples_span_services_within_a_trace_and_mix_levels() -> None:
    events = sample_events(2000, seed=5)
    services_per_trace = {}
    for event in events:
        services_per_trace.setdefault(event["trace_id"], set()).add(event["service"])
    assert max(len(s) for s in services_per_trace.values()) == 5
    assert {"ERROR", "INFO"} <= {e["level"].upper() for e in events}
    assert any("@example.com" in e["message"] for e in events)
    assert len({e["event_id"] for e in events}) == 2000


def test_invalid_events_still_fit_the_schema() -> None:
    for _, event in invalid_events():
        assert fastavro.validate(event, LOG_EVENT, raise_errors=True)


def test_no_two_sample_events_look_like_repeats_to_the_stream() -> None:
    # The stream drops a second (tenant, service, timestamp, message) within its dedup window.
    events = sample_events(10_000, seed=9)
    keys = {(e["service"], e["timestamp"], e["message"]) for e in events}
    assert len(keys) == len(events)
