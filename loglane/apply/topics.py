"""Kafka topics from topics.yaml: created, config altered, partitions grown; never shrunk or moved."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from loglane.apply.plan import Change, Kind, Step, decide, diff_config
from loglane.catalog import TopicSpec
from loglane.errors import LoglaneError, UnreachableError
from loglane.settings import Settings

MIN_ISR = "min.insync.replicas"
_TIMEOUT = 30.0


@dataclass(frozen=True)
class TopicState:
    partitions: int
    replication_factor: int
    config: dict[str, str]


def fit_to_cluster(spec: TopicSpec, brokers: int) -> tuple[TopicSpec, tuple[str, ...]]:
    """The spec as this cluster can hold it: RF at most the broker count, min ISR below RF.

    Why: one declaration serves the single-node dev stack and a 3-broker cluster alike."""
    notes: list[str] = []
    rf = min(spec.replication_factor, brokers)
    if rf < spec.replication_factor:
        notes.append(f"replication_factor {spec.replication_factor} capped at {rf} (brokers in the cluster)")
    config = dict(spec.config)
    if MIN_ISR in config and int(config[MIN_ISR]) > max(1, rf - 1):
        # A min ISR equal to RF would make one broker restart block acks=all producers.
        capped = str(max(1, rf - 1))
        notes.append(f"{MIN_ISR} {config[MIN_ISR]} capped at {capped} (replication factor {rf})")
        config[MIN_ISR] = capped
    return replace(spec, replication_factor=rf, config=config), tuple(notes)


def plan_topic(spec: TopicSpec, actual: TopicState | None, notes: tuple[str, ...] = ()) -> Step:
    """Pure: the step that takes actual to spec (spec already fitted to the cluster)."""
    if actual is None:
        changes = (
            Change("partitions", None, str(spec.partitions)),
            Change("replication_factor", None, str(spec.replication_factor)),
            *diff_config(None, spec.config),
        )
        return Step(Kind.TOPIC, spec.name, decide(False, changes), changes, notes)
    found: list[Change] = []
    refusals: list[str] = []
    if spec.partitions > actual.partitions:
        found.append(Change("partitions", str(actual.partitions), str(spec.partitions)))
    elif spec.partitions < actual.partitions:
        refusals.append(
            f"partitions {actual.partitions} -> {spec.partitions}: Kafka cannot remove partitions; "
            f"declare {actual.partitions} in topics.yaml, or delete and recreate the topic"
        )
    if spec.replication_factor != actual.replication_factor:
        refusals.append(
            f"replication_factor {actual.replication_factor} -> {spec.replication_factor}: loglane does not "
            f"move replicas; reassign them with kafka-reassign-partitions.sh, or declare {actual.replication_factor}"
        )
    declared = {key: actual.config[key] for key in spec.config if key in actual.config}
    changes = (*found, *diff_config(declared, spec.config))
    action = decide(True, changes, tuple(refusals))
    return Step(Kind.TOPIC, spec.name, action, changes, notes if changes or refusals else (), tuple(refusals))


def admin_client(settings: Settings) -> AdminClient:
    # librdkafka logs every failed connection attempt to stderr; an unreachable Kafka is reported
    # once, as an UnreachableError, so its lines go to Python logging instead.
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap, "logger": logging.getLogger("loglane.kafka")}
    return AdminClient(config)


def cluster_state(admin: AdminClient, settings: Settings, names: list[str]) -> tuple[int, dict[str, TopicState]]:
    """The broker count, and the partitions, RF and config of those of names that exist."""
    try:
        metadata = admin.list_topics(timeout=10)
    except KafkaException as exc:
        why = exc.args[0].str()
        raise UnreachableError("kafka", settings.kafka_bootstrap, why, "LOGLANE_KAFKA_BOOTSTRAP") from exc
    present = [name for name in names if name in metadata.topics]
    if not present:  # describe_configs refuses an empty list
        return len(metadata.brokers), {}
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in present])
    states: dict[str, TopicState] = {}
    for resource, future in futures.items():
        partitions = metadata.topics[resource.name].partitions
        states[resource.name] = TopicState(
            partitions=len(partitions),
            replication_factor=len(partitions[0].replicas) if partitions else 0,
            config={key: entry.value for key, entry in future.result(timeout=_TIMEOUT).items()},
        )
    return len(metadata.brokers), states


def _wait(futures: Mapping[str, Future[Any]], what: str) -> None:
    for name, future in futures.items():
        try:
            future.result(timeout=_TIMEOUT)
        except KafkaException as exc:
            raise LoglaneError(f'topic "{name}": {what} failed: {exc.args[0]}') from exc


def _create(admin: AdminClient, spec: TopicSpec) -> None:
    topic = NewTopic(spec.name, spec.partitions, spec.replication_factor, config=dict(spec.config))
    _wait(admin.create_topics([topic]), "create")


def _update(admin: AdminClient, spec: TopicSpec, step: Step) -> None:
    entries = [
        ConfigEntry(c.key, c.new, incremental_operation=AlterConfigOpType.SET)
        for c in step.changes
        if c.key in spec.config
    ]
    if entries:
        resource = ConfigResource(ResourceType.TOPIC, spec.name, incremental_configs=entries)
        _wait({spec.name: admin.incremental_alter_configs([resource])[resource]}, "config change")
    if any(c.key == "partitions" for c in step.changes):
        _wait(admin.create_partitions([NewPartitions(spec.name, spec.partitions)]), "partition increase")


def plan(settings: Settings, specs: list[TopicSpec]) -> list[Step]:
    admin = admin_client(settings)
    brokers, states = cluster_state(admin, settings, [s.name for s in specs])
    steps: list[Step] = []
    for declared in specs:
        spec, notes = fit_to_cluster(declared, brokers)
        actual = states.get(spec.name)
        step = plan_topic(spec, actual, notes)
        run = partial(_create, admin, spec) if actual is None else partial(_update, admin, spec, step)
        steps.append(replace(step, run=run))
    return steps
