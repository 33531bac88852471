"""Enrichment on the real stack: `loglane apply` writes this test's service catalog to its own
catalog topic, a `loglane worker` subprocess adds region and cluster (from the test's
rules/enrich.yaml) and owner team and tier (from the catalog) to each processed event; a catalog
change applied while the worker runs reaches later events without a restart."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.cli import cli
from loglane.settings import Settings
from loglane.stack.manager import Stack
from tests.integration.test_stream import (
    SCHEMAS,
    Project,
    log_event,
    read_exactly,
    worker,
)

__all__ = ["worker"]  # the fixture, shared with test_stream; it runs on this module's `project`

ROLES = (*SCHEMAS, "service-catalog")
PLACES = {"prod": {"region": "test-north-1", "cluster": "prod-a"}, "staging": {"region": "test-south-2"}}
CATALOG = {"checkout": {"owner_team": "shop", "tier": "tier-1"}, "payments": {"owner_team": "payments", "tier": "tier-1"}}


def apply(directory: Path) -> str:
    result = CliRunner().invoke(cli, ["apply", "--yes", "--project-dir", str(directory)])
    assert result.exit_code == 0, result.output
    return result.output


def write_catalog(directory: Path, services: dict[str, dict[str, str]]) -> None:
    (directory / "services.yaml").write_text(yaml.safe_dump({"services": services}))


@pytest.fixture
def project(stack: Stack, settings: Settings, unique: str, tmp_path: Path) -> Iterator[Project]:
    """A project naming this test's topics, its own environments and catalog, applied by `loglane apply`."""
    own = Project(tmp_path / "project", {role: f"it-enrich-{role}-{unique}" for role in ROLES}, f"it-enrich-{unique}")
    shutil.copytree(settings.project_dir / "schemas", own.dir / "schemas")
    shutil.copytree(settings.project_dir / "rules", own.dir / "rules")
    (own.dir / "rules" / "alerts.yaml").unlink()  # no alerting here: its topics are not this test's
    (own.dir / "rules" / "enrich.yaml").write_text(yaml.safe_dump({"environments": PLACES}))
    write_catalog(own.dir, CATALOG)
    declared = [{"role": role, "name": name, "value_schema": SCHEMAS[role]} if role in SCHEMAS
                else {"role": role, "name": name, "config": {"cleanup.policy": "compact"}}
                for role, name in own.topics.items()]
    (own.dir / "topics.yaml").write_text(yaml.safe_dump({"defaults": {"partitions": 1}, "topics": declared}))
    applied = apply(own.dir)
    assert "+ create service checkout" in applied
    yield own
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    internal = [name for name in admin.list_topics(timeout=10).topics if name.startswith(f"{own.app_id}-")]
    for future in admin.delete_topics(list(own.topics.values()) + internal).values():
        future.result(timeout=30)


class Traffic:
    """Produces LogEvents to the raw topic and reads what comes out processed, keyed by event id."""

    def __init__(self, project: Project, settings: Settings) -> None:
        self.settings = settings
        self.raw, self.processed = project.topics["raw"], project.topics["processed"]
        registry = SchemaRegistryClient({"url": settings.registry_url})
        self._serialize = AvroSerializer(
            registry, (project.dir / "schemas" / SCHEMAS["raw"]).read_text(), conf={"auto.register.schemas": False}
        )
        self._deserialize = AvroDeserializer(registry)
        self._producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
        self._sent = 0

    def send(self, **fields: Any) -> str:
        """One event (a message of its own, so dedup never takes it for a repeat); its event id."""
        self._sent += 1
        event = log_event(datetime.now(UTC), message=f"order {self._sent} created", **fields)
        self._producer.produce(self.raw, key=event["service"], value=self._serialize(
            event, SerializationContext(self.raw, MessageField.VALUE)))
        assert self._producer.flush(30) == 0
        return str(event["event_id"])

    def decode(self, value: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = self._deserialize(value, SerializationContext(self.processed, MessageField.VALUE))
        return decoded


def enrichment(event: dict[str, Any]) -> tuple[str | None, ...]:
    return event["region"], event["cluster"], event["owner_team"], event["tier"]


def test_events_are_enriched_and_a_catalog_change_applies_without_a_restart(
    worker: subprocess.Popen[bytes], project: Project, settings: Settings
) -> None:
    # Arrange: the catalog was applied before the worker started.
    traffic = Traffic(project, settings)

    # Act 1: a listed service in each listed environment, and an unlisted service in an unlisted one.
    ids = [
        traffic.send(service="checkout", environment="prod"),
        traffic.send(service="payments", environment="staging"),
        traffic.send(service="legacy", environment="qa"),
    ]

    # Assert 1
    out = {
        str(value["event_id"]): value
        for value in map(traffic.decode, (m.value() for m in read_exactly(
            settings.kafka_bootstrap, traffic.processed, len(ids), timeout=60)))
    }
    assert [enrichment(out[event_id]) for event_id in ids] == [
        ("test-north-1", "prod-a", "shop", "tier-1"),
        ("test-south-2", None, "payments", "tier-1"),
        (None, None, None, None),
    ]

    # Act 2: checkout changes hands and payments leaves the catalog, applied while the worker runs.
    write_catalog(project.dir, {"checkout": {"owner_team": "storefront", "tier": "tier-2"}})
    applied = apply(project.dir)
    assert '~ update service checkout\n    owner_team: "shop" -> "storefront"\n' in applied
    assert "- delete service payments" in applied

    # Assert 2: events sent from now on carry the new values once the worker has read the change (it
    # follows the topic beside the events, so the first few may still carry the old ones), and never
    # the old ones again after that.
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([traffic.processed])
    sent: dict[str, str] = {}
    seen: dict[str, list[tuple[str | None, ...]]] = {"checkout": [], "payments": []}
    changed = {"checkout": ("test-north-1", "prod-a", "storefront", "tier-2"),
               "payments": ("test-north-1", "prod-a", None, None)}
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and any(changed[s] not in seen[s] for s in seen):
            for service in seen:
                sent[traffic.send(service=service, environment="prod")] = service
            for message in consumer.consume(50, 1.0):
                value = traffic.decode(message.value()) if message.error() is None else {}
                if str(value.get("event_id")) in sent:
                    seen[sent[str(value["event_id"])]].append(enrichment(value))
    finally:
        consumer.close()
    assert worker.poll() is None, "the worker exited"
    before = {"checkout": ("test-north-1", "prod-a", "shop", "tier-1"),
              "payments": ("test-north-1", "prod-a", "payments", "tier-1")}
    for service, values in seen.items():
        assert changed[service] in values, (service, values)
        switch = values.index(changed[service])
        assert values == [before[service]] * switch + [changed[service]] * (len(values) - switch), (service, values)
