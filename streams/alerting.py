"""Faust-side helpers of alerting (the agents are streams/agents/alerts.py): whether the project has
alerting at all, the tick topic, and the windows engine's Store on Faust tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from loglane import catalog
from loglane.alerts.rules import Group
from loglane.alerts.windows import Bucket, GroupEntry, PartitionClock
from loglane.settings import Settings
from streams.errors import StreamError

# The roles alerting needs besides `processed`; a project without them (or without rules) runs no
# alert agents, so the worker still runs on a topics.yaml that declares only the pipeline's topics.
ROLES = ("alerts", "alert-rules", "deadletter.notify")
OUTPUT_ROLES = ("alerts", "deadletter.notify")  # written in Avro: their schemas must be registered
TICKS_RETENTION_MS = 3_600_000


def enabled() -> bool:
    return all(catalog.declares(role) for role in ROLES)


def ticks_topic(settings: Settings) -> str:
    """The wall-clock ticks that close the windows of idle partitions: one record per partition per
    second, partitioned like `processed`, so a tick reaches the worker that owns the partition's tables."""
    return f"{settings.stream_app_id}-alert-ticks"


def ensure_ticks_topic(admin: AdminClient, settings: Settings, partitions: int, replication: int,
                       existing: dict[str, int]) -> None:
    """Create the tick topic, or check its partitions match `processed` (existing: name -> partitions)."""
    name = ticks_topic(settings)
    if name in existing:
        if existing[name] != partitions:
            raise StreamError(
                f"kafka: topic {name} has {existing[name]} partitions, {catalog.topic('processed').name} has "
                f"{partitions}; they must match: delete {name} (it holds only ticks) and start the worker again"
            )
        return
    config = {"cleanup.policy": "delete", "retention.ms": str(TICKS_RETENTION_MS)}
    future = admin.create_topics([NewTopic(name, partitions, replication, config=config)])[name]
    try:
        future.result(timeout=30)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):  # another worker created it meanwhile
            raise StreamError(f"kafka: cannot create topic {name}: {exc}") from exc


def _group_key(group: Group) -> tuple[str, str, str]:
    return (group.tenant, group.service, group.environment)


class FaustStore:
    """The engine's Store on two Faust tables with RocksDB stores and compacted changelogs:

    - counts, a tumbling-window table of `step` seconds: (tenant, service, environment) per window ->
      a Bucket (counts per level, a few event ids);
    - state: ("g", tenant, service, environment) -> GroupEntry, ("p", partition) -> PartitionClock.

    Each write goes to the changelog partition of the event being processed, which is the partition
    of `processed` (or of the co-partitioned tick topic) the engine passes: a worker that takes the
    partition over recovers exactly that partition's counts and states."""

    def __init__(self, counts: Any, state: Any) -> None:
        self._counts = counts  # faust WindowWrapper
        self._window = counts.table.window
        self._state = state  # faust Table

    def _range(self, start: int) -> Any:
        return self._window.current(start / 1000)

    def get_bucket(self, partition: int, group: Group, start: int) -> Bucket | None:
        try:
            value = self._counts[_group_key(group)][self._range(start)]
        except KeyError:
            return None
        return Bucket.from_json(value)

    def put_bucket(self, partition: int, group: Group, start: int, bucket: Bucket) -> None:
        self._counts[_group_key(group)][self._range(start)] = bucket.to_json()

    def drop_bucket(self, partition: int, group: Group, start: int) -> None:
        key = (_group_key(group), self._range(start))
        if key in self._counts.table:
            del self._counts.table[key]

    def get_group(self, partition: int, group: Group) -> GroupEntry | None:
        value = self._state.get(("g", *_group_key(group)))
        return None if value is None else GroupEntry.from_json(value)

    def put_group(self, partition: int, group: Group, entry: GroupEntry) -> None:
        self._state[("g", *_group_key(group))] = entry.to_json()

    def drop_group(self, partition: int, group: Group) -> None:
        key = ("g", *_group_key(group))
        if key in self._state:
            del self._state[key]

    def groups(self, partition: int) -> Iterator[tuple[Group, GroupEntry]]:
        # Iterates the partitions this worker is active for; an entry records its own partition.
        for key, value in list(self._state.items()):
            if key[0] == "g" and value.get("p") == partition:
                yield Group(*key[1:]), GroupEntry.from_json(value)

    def get_clock(self, partition: int) -> PartitionClock | None:
        value = self._state.get(("p", partition))
        return None if value is None else PartitionClock.from_json(value)

    def put_clock(self, partition: int, clock: PartitionClock) -> None:
        self._state[("p", partition)] = clock.to_json()
