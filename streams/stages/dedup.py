"""Deduplicate: drop an event whose event_id, or whose (tenant, service, timestamp, message), the
stream saw within a window (LOGLANE_DEDUP_WINDOW) on another record.

Retries and replays resend an event with its event_id; some producers (agents re-reading a file)
resend the same line under a new id, hence the content key. A redelivery of the same record (same
partition and offset: the worker restarted before committing) is not a duplicate: at-least-once
reading must not turn into loss. Keys are hashes, so the store (a Faust table on RocksDB and its
changelog topic in the worker) holds no message text and no PII. Lookups are per raw partition:
producers key by service, so an event's repeats reach the same partition and the same worker."""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from streams.stages.types import LogEvent, RawRecord

STAGE = "dedup"
EVENT_ID, CONTENT = "event_id", "content"
_SIGHTING = struct.Struct(">qiq")  # at (ms), partition, offset


@dataclass(frozen=True)
class Sighting:
    """When the stream first saw a key (its clock, epoch ms), and on which raw record."""

    at_ms: int
    partition: int
    offset: int

    def to_bytes(self) -> bytes:
        return _SIGHTING.pack(self.at_ms, self.partition, self.offset)

    @classmethod
    def from_bytes(cls, data: bytes) -> Sighting:
        return cls(*_SIGHTING.unpack(data))


class SeenStore(Protocol):
    """Where sightings are kept: a Faust table in the worker (streams.tables), MemorySeen elsewhere."""

    def get(self, key: bytes, /) -> Sighting | None: ...

    def put(self, key: bytes, sighting: Sighting, /) -> None: ...


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()


def keys(event: LogEvent) -> tuple[bytes, bytes]:
    """The event's two keys: by event_id, and by (tenant, service, timestamp in ms, message)."""
    millis = str(int(event["timestamp"].timestamp() * 1000))
    return (
        b"i" + _digest(str(event["event_id"])),
        b"c" + _digest(event["tenant"], event["service"], millis, event["message"]),
    )


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Deduplicator:
    def __init__(self, seen: SeenStore, window: timedelta) -> None:
        self._seen = seen
        self._window_ms = int(window.total_seconds() * 1000)

    @property
    def enabled(self) -> bool:
        return self._window_ms > 0

    def check(self, event: LogEvent, record: RawRecord, now: datetime) -> str | None:
        """EVENT_ID or CONTENT when the event repeats one seen within the window on another record;
        else None, and the event is remembered."""
        if not self.enabled:
            return None
        here = Sighting(_millis(now), record.partition, record.offset)
        found = keys(event)
        for reason, key in zip((EVENT_ID, CONTENT), found):
            prior = self._seen.get(key)
            if (
                prior is not None
                and (prior.partition, prior.offset) != (here.partition, here.offset)
                and 0 <= here.at_ms - prior.at_ms < self._window_ms
            ):
                return reason
        for key in found:
            self._seen.put(key, here)
        return None


class MemorySeen:
    """Sightings in memory, the oldest forgotten once older than the window or beyond max_keys:
    for tests, the benchmark and single-process use."""

    def __init__(self, window: timedelta, max_keys: int = 1_000_000) -> None:
        self._window_ms = int(window.total_seconds() * 1000)
        self._max_keys = max_keys
        self._data: OrderedDict[bytes, Sighting] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes, /) -> Sighting | None:
        return self._data.get(key)

    def put(self, key: bytes, sighting: Sighting, /) -> None:
        self._data[key] = sighting
        self._data.move_to_end(key)
        horizon = sighting.at_ms - self._window_ms
        while self._data:
            oldest = next(iter(self._data.values()))
            if oldest.at_ms >= horizon and len(self._data) <= self._max_keys:
                break
            self._data.popitem(last=False)
