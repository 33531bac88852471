"""Alerting: processed (+ ticks) -> windows -> alerts; alerts -> notifications.

- `alert_windows` counts every processed event into its service's bucket (Faust tumbling-window
  table, RocksDB, compacted changelog) and, as event time passes a rule window's end plus its grace,
  decides it (loglane.alerts.windows / .evaluate) and writes fired and resolved alerts to `alerts`.
  A timer writes one tick per partition per second, so the windows of a silent service close too.
- `notify` hands each alert to its channels' queues (loglane.alerts.notify): one task per channel,
  so a slow channel never holds up this agent, let alone counting; failures go to
  `deadletter.notify`.
- The rules come from the compacted rules topic, read whole and then followed (RuleBook).

Only wired when topics.yaml has the alerting roles (streams.alerting.ROLES)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any

import faust
from confluent_kafka.schema_registry import SchemaRegistryClient
from faust.types import TP, EventT

from loglane import catalog
from loglane.alerts.notify import (
    Deliverer, Notification, Notifier, RetryPolicy, Undelivered, dead_letter_record,
)
from loglane.alerts.rulebook import RuleBook
from loglane.alerts.windows import Engine, WindowConfig, sighting_of
from loglane.avro import AvroWriter, RegistryUnavailable
from loglane.settings import get_settings
from streams import alerting
from streams.app import app, offsets
from streams.registry import RegistrySchemas
from streams.stages.decode import decode, parse
from streams.stages.types import Rejection

log = logging.getLogger(__name__)
RETRY_FIRST, RETRY_MAX = 1.0, 30.0
TICK_INTERVAL = 1.0


def _millis() -> int:
    return int(time.time() * 1000)


async def _retrying(what: str, action: Any) -> Any:
    """action() until the registry answers: an outage holds the record, never skips it."""
    delay = RETRY_FIRST
    while True:
        try:
            return action()
        except RegistryUnavailable as exc:
            log.warning("alerts: %s: %s; retrying in %.0fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


if alerting.enabled():
    settings = get_settings()
    processed = catalog.topic("processed")
    config = WindowConfig.from_settings(settings)
    ticks_name = alerting.ticks_topic(settings)
    rulebook = RuleBook()

    # Tables are partitioned like `processed` (keyed by service): a service's counts and states live
    # in the partition its events arrive on. Changelogs are compacted only (no time-based deletion):
    # the engine deletes what it no longer needs, so nothing a window still needs can expire.
    counts = app.Table(
        f"alert-counts-{settings.alerts_step}s", partitions=processed.partitions,
        extra_topic_configs={"cleanup.policy": "compact"},
        help="Events per (tenant, service, environment) and level, per bucket of alerts_step seconds.",
    ).tumbling(settings.alerts_step)
    states = app.Table(
        "alert-state", partitions=processed.partitions, extra_topic_configs={"cleanup.policy": "compact"},
        help="Per service: its newest bucket and each rule's episode; per partition: its event-time clock.",
    )
    engine = Engine(alerting.FaustStore(counts, states), rulebook.rules, config)

    source = app.topic(processed.name, ticks_name, acks=False)  # committed by `offsets`
    ticks = app.topic(ticks_name)
    alerts_topic = app.topic(catalog.topic("alerts").name, acks=False)
    dead_letters = app.topic(catalog.topic("deadletter.notify").name)

    registry = SchemaRegistryClient({"url": settings.registry_url})
    schemas = RegistrySchemas(registry)
    processed_reader = parse(catalog.schema_text(str(processed.value_schema)))
    alert_reader = parse(catalog.schema_text(str(catalog.topic("alerts").value_schema)))
    write_alert = AvroWriter(registry, catalog.topic("alerts"))
    write_dead_letter = AvroWriter(registry, catalog.topic("deadletter.notify"))

    async def _dead_letter(undelivered: Undelivered) -> None:
        record = dead_letter_record(undelivered, datetime.now(timezone.utc))
        value = await _retrying("dead letter", lambda: write_dead_letter(record))
        await dead_letters.send(key=undelivered.notification.key, value=value)

    deliverer = Deliverer(settings)
    notifier = Notifier(
        rulebook.channel, deliverer, _dead_letter, settings.alerts_notify_queue,
        RetryPolicy(settings.alerts_notify_attempts, settings.alerts_notify_backoff),
        settled=lambda done: offsets.release(TP(done.topic, done.partition), done.offset),
    )

    @app.task
    async def follow_rules() -> None:
        await rulebook.follow(settings.kafka_bootstrap, catalog.topic("alert-rules").name)

    @app.timer(TICK_INTERVAL)
    async def tick() -> None:
        now = str(_millis()).encode()
        for partition in range(processed.partitions):
            await ticks.send(value=now, partition=partition)

    @app.on_partitions_revoked.connect
    async def _revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        engine.forget()  # the tables are the truth; a partition may come back changed

    @app.on_partitions_assigned.connect
    async def _assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        engine.forget()

    @app.on_before_shutdown.connect
    async def _shutdown(sender: Any, **kwargs: Any) -> None:
        await notifier.drain(5.0)
        await notifier.close()
        await deliverer.close()

    def _count(event: EventT[bytes], now: int) -> bool:
        decoded = decode(event.value, schemas, processed_reader)
        if isinstance(decoded, Rejection):
            # The stream wrote it, so this is another writer's record: not ours to dead-letter.
            log.warning("alerts: skipped %s[%d]@%d: %s", event.message.topic, event.message.partition,
                        event.message.offset, decoded.reason)
            return False
        return engine.count(event.message.partition, sighting_of(decoded), now)

    @app.agent(source, concurrency=1)
    async def alert_windows(stream: faust.StreamT[bytes]) -> None:
        await rulebook.ready.wait()
        live = False
        async for event in stream.events():
            if not await offsets.admit(event.message):
                continue
            message, now = event.message, _millis()
            if message.topic == ticks_name:
                engine.tick(message.partition, now)
            else:
                await _retrying("decode", lambda: _count(event, now))
            for alert in engine.advance(message.partition, now):
                value = await _retrying("alert", lambda: write_alert(alert.to_record()))
                await alerts_topic.send(key=alert.alert_id.encode(), value=value)
                log.info("alerts: %s %s", alert.state, alert.summary)
            if not live:
                live = True
                log.info("alerts: evaluating %d rule(s) on event time (step %ds, grace per rule, idle after %gs)",
                         len(rulebook.rules()), settings.alerts_step, settings.alerts_max_delay)
            offsets.done(message)

    @app.agent(alerts_topic, concurrency=1)
    async def notify(stream: faust.StreamT[bytes]) -> None:
        await rulebook.ready.wait()
        async for event in stream.events():
            message = event.message
            if not await offsets.admit(message):
                continue
            alert = await _retrying("decode alert", lambda: decode(event.value, schemas, alert_reader))
            if isinstance(alert, Rejection):
                log.warning("alerts: skipped %s[%d]@%d: %s", message.topic, message.partition, message.offset,
                            alert.reason)
            else:
                offsets.hold(message)  # until every channel delivered it or dead-lettered it
                await notifier.submit(
                    Notification(alert, event.value, event.key, message.topic, message.partition, message.offset)
                )
            offsets.done(message)
else:
    log.info("alerts: off (topics.yaml has no role %s)", " / ".join(alerting.ROLES))
