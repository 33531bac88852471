"""The rules a worker runs: every record of the rules topic, read from its beginning and then followed,
so `loglane apply` changes them without a restart. Every worker reads the whole topic (no consumer
group), as each evaluates its own partitions against all rules."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from loglane.alerts.rules import Channel, Rule

log = logging.getLogger(__name__)


class RuleBook:
    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, Rule] = {rule.name: rule for rule in rules}
        # Channels of rules since removed: an open episode's resolution is still delivered.
        self._retired: dict[str, Channel] = {}
        self._ready: asyncio.Event | None = None

    def rules(self) -> list[Rule]:
        return list(self._rules.values())

    def channel(self, name: str) -> Channel | None:
        for rule in self._rules.values():
            for channel in rule.channels:
                if channel.name == name:
                    return channel
        return self._retired.get(name)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the rules topic: a rule as JSON, or a tombstone that removes it."""
        if key is None:
            log.warning("alerts: a record without a key in the rules topic; ignored")
            return
        name = key.decode(errors="replace")
        if value is None:
            removed = self._rules.pop(name, None)
            if removed is not None:
                self._retired.update({c.name: c for c in removed.channels})
                log.info("alerts: rule %s removed", name)
            return
        try:
            rule = Rule.from_bytes(value)
        except (ValueError, KeyError, TypeError) as exc:
            # `loglane apply` writes only valid rules; this is someone else's record. Keep the old one.
            log.error("alerts: rule %s in the rules topic is not a rule this loglane reads (%s); kept %s",
                      name, exc, "the previous version" if name in self._rules else "none")
            return
        if rule.name != name:
            log.error("alerts: record key %s holds rule %s; ignored", name, rule.name)
            return
        changed = self._rules.get(name) != rule
        self._rules[name] = rule
        if changed:
            log.info("alerts: rule %s: %s, scope %s, %s, channels %s", name, rule.condition.describe(),
                     rule.scope.render(), rule.severity, ", ".join(rule.channel_names) or "none")

    @property
    def ready(self) -> asyncio.Event:
        """Set once the topic has been read up to its end as of the start."""
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def follow(self, bootstrap: str, topic: str, poll_ms: int = 1000) -> None:
        """Read the topic from its beginning, then keep reading until cancelled; a failure (Kafka
        away) is logged and the topic read again from its beginning, which gives the same rules."""
        while True:
            try:
                await self._follow(bootstrap, topic, poll_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep the last rules and try again
                log.error("alerts: reading rules from %s failed (%s: %s); again in 5s", topic, type(exc).__name__, exc)
                await asyncio.sleep(5)

    async def _follow(self, bootstrap: str, topic: str, poll_ms: int) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition  # the worker's Kafka client (Faust's)

        partitions = sorted(await self._partitions(bootstrap, topic))
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            assigned = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            ends = await consumer.end_offsets(assigned)
            while True:
                batches = await consumer.getmany(timeout_ms=poll_ms)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.ready.is_set():
                    positions = [await consumer.position(tp) for tp in assigned]
                    if all(position >= ends[tp] for tp, position in zip(assigned, positions, strict=True)):
                        log.info("alerts: %d rule(s) loaded from %s", len(self._rules), topic)
                        self.ready.set()
        finally:
            await consumer.stop()

    @staticmethod
    async def _partitions(bootstrap: str, topic: str) -> set[int]:
        from confluent_kafka.admin import AdminClient

        def ask() -> set[int]:
            described = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics.get(topic)
            return set(described.partitions) if described is not None and described.error is None else set()

        for _ in range(30):
            found = await asyncio.to_thread(ask)
            if found:
                return found
            await asyncio.sleep(1)
        raise RuntimeError(f"alerts: topic {topic} has no partitions; create it with `loglane apply`")
