"""The stream worker's Faust tables: dedup's sightings, and the service catalog.

Dedup's is bounded in memory and on disk: RocksDB keeps the data on disk (Faust's key index in
memory is an LRU of table_key_index_size), its entries expire after twice the dedup window (RocksDB
TTL, enforced at compaction), and the changelog topic is compacted *and* deleted after the same
time, so a restarted worker recovers at most that much. Keys are hashes; values 20-byte sightings.

The service catalog's table follows the compacted topic `loglane apply` writes services.yaml to, so
a change applies to the next events without a restart."""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import StoreT

from loglane import catalog
from loglane.services import CATALOG_ROLE, Service
from loglane.settings import get_settings
from streams.app import app
from streams.stages.dedup import Sighting
from streams.stages.enrich import NO_SERVICES, ServiceLookup

log = logging.getLogger(__name__)

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


class CatalogTable(faust.GlobalTable):
    """A global table (every worker holds all of it) on a topic of the project's, written by `loglane
    apply`, not on a changelog Faust names and writes; kept in memory and read whole on every start:
    it is small, and no stored offset can outlive a recreated topic. Works around two things in Faust
    0.15.3: its assignor asks _changelog_topic_name(), which ignores changelog_topic=, and
    store="memory://" is an empty URL to yarl, so Faust would take the app's rocksdb:// instead."""

    def _changelog_topic_name(self) -> str:
        return self.changelog_topic.get_topic_name()

    def _new_store(self) -> StoreT[bytes, bytes]:
        return self._new_store_by_url("memory://")


class TableServices:
    """streams.stages.enrich's ServiceLookup over the catalog table (name -> the service's JSON as
    `loglane apply` wrote it). Each record is read once, and again only when it changes; a record this
    loglane cannot read counts as none (logged once), so it never dead-letters a service's events."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._read: dict[bytes, Service | None] = {}  # by the record's bytes: grows only with catalog edits

    def get(self, name: str, /) -> Service | None:
        value = self._table.get(name.encode())
        if value is None:
            return None
        if value not in self._read:
            self._read[value] = self._parse(name, value)
        return self._read[value]

    @staticmethod
    def _parse(name: str, value: bytes) -> Service | None:
        try:
            return Service.from_bytes(value)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("service catalog: the record of %r is not a service (%s); its events get no owner_team or tier",
                      name, exc)
            return None


def _service_catalog() -> ServiceLookup:
    """The catalog table when topics.yaml declares the role service-catalog; without it, none."""
    if not catalog.declares(CATALOG_ROLE):
        return NO_SERVICES
    topic = catalog.topic(CATALOG_ROLE)
    table = app.tables.add(
        CatalogTable(
            app,
            name="service-catalog",
            partitions=topic.partitions,
            changelog_topic=app.topic(topic.name),
            beacon=app.tables.beacon,
            key_type=bytes,
            value_type=bytes,
            is_global=True,
            # Faust applies what it reads of the topic in batches of this size, after recovery too:
            # with its default (1000), an edit would wait for 999 more.
            recovery_buffer_size=1,
            help="the service catalog: service name -> owner team and tier as JSON, following the catalog topic",
        )
    )
    return TableServices(table)


service_catalog = _service_catalog()
