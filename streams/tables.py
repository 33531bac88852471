"""The stream worker's Faust tables, on the RocksDB store: dedup's sightings.

Bounded in memory and on disk: RocksDB keeps the data on disk (Faust's key index in memory is an
LRU of table_key_index_size), its entries expire after twice the dedup window (RocksDB TTL,
enforced at compaction), and the changelog topic is compacted *and* deleted after the same time,
so a restarted worker recovers at most that much. Keys are hashes; values 20-byte sightings."""

from __future__ import annotations

from typing import Any

import faust

from loglane import catalog
from loglane.settings import get_settings
from streams.app import app
from streams.stages.dedup import Sighting

settings = get_settings()
EXPIRY = max(60.0, 2 * settings.dedup_window)  # seconds a sighting is kept, at least a minute


class ExpiringTable(faust.Table):  # type: ignore[misc]  # Faust's table types are loosely annotated
    """A table whose changelog is compacted and deleted after `retention` seconds."""

    def __init__(self, *args: Any, retention: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changelog_deleting = True
        self._retention = retention

    def _new_changelog_topic(self, *, retention: Any = None, compacting: Any = None, deleting: Any = None) -> Any:
        return super()._new_changelog_topic(
            retention=retention or self._retention, compacting=compacting, deleting=deleting
        )


# Partitioned like the raw topic (topics.yaml; `loglane worker` checks the cluster agrees): a
# sighting lives in the partition of the record that made it.
dedup = app.tables.add(
    ExpiringTable(
        app,
        name="dedup",
        partitions=catalog.topic("raw").partitions,
        beacon=app.tables.beacon,
        key_type=bytes,
        value_type=bytes,
        retention=EXPIRY,
        options={"ttl": int(EXPIRY)},
        help="dedup sightings: hash of an event_id or of (tenant, service, timestamp, message) -> first seen",
    )
)


class TableSeen:
    """streams.stages.dedup's SeenStore over a Faust table; used only inside the agent's loop
    (writes go to the changelog partition of the event being processed)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: bytes, /) -> Sighting | None:
        value = self._table.get(key)
        return Sighting.from_bytes(value) if value else None

    def put(self, key: bytes, sighting: Sighting, /) -> None:
        self._table[key] = sighting.to_bytes()
