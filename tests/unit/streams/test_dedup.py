from __future__ import annotations

from datetime import timedelta

from streams.stages.dedup import CONTENT, EVENT_ID, Deduplicator, MemorySeen, Sighting, keys
from streams.stages.types import RawRecord
from tests.unit.streams.records import NOW, log_event

WINDOW = timedelta(minutes=10)


def record(offset: int, partition: int = 0) -> RawRecord:
    return RawRecord("logs.raw", partition, offset, b"checkout", b"")


def deduplicator(window: timedelta = WINDOW) -> tuple[Deduplicator, MemorySeen]:
    seen = MemorySeen(window)
    return Deduplicator(seen, window), seen


def test_a_repeat_of_an_event_id_within_the_window_is_a_duplicate() -> None:
    dedup, _ = deduplicator()
    event = log_event()
    assert dedup.check(event, record(1), NOW) is None
    assert dedup.check({**event, "message": "other text"}, record(2), NOW + timedelta(minutes=9)) == EVENT_ID
    assert dedup.check(event, record(3), NOW + timedelta(minutes=11)) is None  # the window has passed


def test_the_same_content_under_a_new_id_is_a_duplicate_but_not_for_another_tenant() -> None:
    dedup, _ = deduplicator()
    event = log_event()
    assert dedup.check(event, record(1), NOW) is None
    assert dedup.check({**event, "event_id": "other"}, record(2), NOW) == CONTENT
    assert dedup.check({**event, "event_id": "third", "tenant": "bank"}, record(3), NOW) is None
    later = {**event, "event_id": "fourth", "timestamp": event["timestamp"] + timedelta(milliseconds=1)}
    assert dedup.check(later, record(4), NOW) is None


def test_the_same_record_read_again_is_no_duplicate() -> None:
    dedup, _ = deduplicator()
    assert dedup.check(log_event(), record(7, 2), NOW) is None
    assert dedup.check(log_event(), record(7, 2), NOW + timedelta(seconds=5)) is None
    assert dedup.check(log_event(), record(7, 3), NOW + timedelta(seconds=5)) == EVENT_ID


def test_a_zero_window_turns_dedup_off() -> None:
    dedup, seen = deduplicator(timedelta(0))
    assert not dedup.enabled
    assert dedup.check(log_event(), record(1), NOW) is None and dedup.check(log_event(), record(2), NOW) is None
    assert len(seen) == 0


def test_keys_are_hashes_holding_no_text() -> None:
    by_id, by_content = keys(log_event(message="ana@example.com"))
    assert by_id.startswith(b"i") and by_content.startswith(b"c") and len(by_content) == 17
    assert b"ana" not in by_content


def test_sightings_round_trip_as_bytes() -> None:
    sighting = Sighting(1_772_366_400_000, 5, 123_456_789)
    assert Sighting.from_bytes(sighting.to_bytes()) == sighting and len(sighting.to_bytes()) == 20


def test_memory_is_bounded_by_the_window_and_by_a_count() -> None:
    seen = MemorySeen(timedelta(seconds=10), max_keys=100)
    for n in range(1000):
        seen.put(n.to_bytes(4, "big"), Sighting(n * 1000, 0, n))  # one a second
    assert len(seen) == 11  # the last 10 s
    crowded = MemorySeen(timedelta(days=1), max_keys=100)
    for n in range(1000):
        crowded.put(n.to_bytes(4, "big"), Sighting(0, 0, n))
    assert len(crowded) == 100 and crowded.get((999).to_bytes(4, "big")) is not None
