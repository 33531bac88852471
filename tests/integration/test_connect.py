"""Kafka Connect with its three sinks and the Avro converter, against the real stack."""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Iterator
from datetime import datetime, timezone

import psycopg
import pytest
import requests
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.settings import Settings
from loglane.stack.components.connect import REQUIRED_PLUGINS
from loglane.stack.components.s3 import s3_client
from loglane.stack.manager import Stack
from tests.support import create_topic, eventually

ROW_SCHEMA = {
    "type": "record",
    "name": "Row",
    "namespace": "dev.loglane.test",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "service", "type": "string"},
        {"name": "n", "type": "long"},
    ],
}


SCHEMALESS_JSON = {
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
}


class ConnectorRun:
    """Creates throwaway connectors and deletes them when the test ends."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.connect_url
        self.names: list[str] = []

    def create(self, name: str, config: dict[str, str]) -> None:
        response = requests.put(f"{self.url}/connectors/{name}/config", json=config, timeout=30)
        assert response.ok, response.text
        self.names.append(name)

    def state(self, name: str) -> str:
        response = requests.get(f"{self.url}/connectors/{name}/status", timeout=10)
        if not response.ok:
            return "UNKNOWN"
        status = response.json()
        tasks = status.get("tasks", [])
        if any(t["state"] == "FAILED" for t in tasks):
            raise AssertionError(f"{name} task failed: {tasks[0].get('trace', '')[:2000]}")
        states = {status["connector"]["state"], *(t["state"] for t in tasks)}
        return "RUNNING" if tasks and states == {"RUNNING"} else ",".join(sorted(states))

    def wait_running(self, name: str) -> None:
        eventually(lambda: self.state(name) == "RUNNING", 90, what=f"{name} RUNNING")

    def delete_all(self) -> None:
        for name in self.names:
            requests.delete(f"{self.url}/connectors/{name}", timeout=30)


@pytest.fixture
def connectors(settings: Settings) -> Iterator[ConnectorRun]:
    run = ConnectorRun(settings)
    yield run
    run.delete_all()


def produce_json(bootstrap: str, topic: str, values: list[dict]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, key=value["event_id"], value=json.dumps(value))
    assert producer.flush(30) == 0


def test_connector_plugins_lists_the_three_sinks(stack: Stack, settings: Settings) -> None:
    plugins = requests.get(f"{settings.connect_url}/connector-plugins", timeout=10).json()
    assert set(REQUIRED_PLUGINS) <= {p["class"] for p in plugins}


def test_connect_reads_python_avro_with_the_same_schema_id_into_postgres(
    stack: Stack, settings: Settings, connectors: ConnectorRun, unique: str
) -> None:
    # Arrange: an Avro record written by confluent-kafka's serializer, registered via ccompat.
    topic = f"it_jdbc_{unique}"
    create_topic(stack.bootstrap_servers, topic)
    registry = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(registry, json.dumps(ROW_SCHEMA))
    payload = serializer(
        {"event_id": f"e-{unique}", "service": "checkout", "n": 7},
        SerializationContext(topic, MessageField.VALUE),
    )
    schema_id = struct.unpack(">bI", payload[:5])[1]
    assert schema_id == registry.get_latest_version(f"{topic}-value").schema_id

    # Act: the JDBC sink reads it through Apicurio's AvroConverter, which must look up that same id.
    connectors.create(
        f"it-jdbc-{unique}",
        {
            "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
            "topics": topic,
            "connection.url": settings.postgres_jdbc_url,
            "connection.username": settings.postgres_user,
            "connection.password": settings.postgres_password.get_secret_value(),
            "insert.mode": "upsert",
            "primary.key.mode": "record_value",
            "primary.key.fields": "event_id",
            "schema.evolution": "basic",
            "collection.name.format": "${topic}",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "io.apicurio.registry.utils.converter.AvroConverter",
            "value.converter.apicurio.registry.url": settings.apicurio_url,
        },
    )
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    producer.produce(topic, key=f"e-{unique}", value=payload)
    assert producer.flush(30) == 0
    connectors.wait_running(f"it-jdbc-{unique}")

    # Assert
    def row() -> tuple | None:
        with psycopg.connect(settings.postgres_conninfo) as conn:
            exists = conn.execute("select to_regclass(%s)", (topic,)).fetchone()
            if not exists or exists[0] is None:
                return None
            return conn.execute(f'select event_id, service, n from "{topic}"').fetchone()

    assert eventually(row, 90, what="row in PostgreSQL") == (f"e-{unique}", "checkout", 7)


def test_opensearch_sink_lands_a_document_by_its_event_id(
    stack: Stack, settings: Settings, connectors: ConnectorRun, unique: str
) -> None:
    topic = f"it-os-{unique}"
    create_topic(stack.bootstrap_servers, topic)
    connectors.create(
        f"it-os-{unique}",
        {
            "connector.class": "dev.loglane.connect.opensearch.OpenSearchSinkConnector",
            "topics": topic,
            "opensearch.urls": settings.opensearch_url,
            "index.pattern": f"it-os-{unique}-{{yyyy.MM.dd}}",
            "index.timestamp.field": "timestamp",
            "document.id.field": "event_id",
            **SCHEMALESS_JSON,
        },
    )
    connectors.wait_running(f"it-os-{unique}")
    produce_json(
        stack.bootstrap_servers,
        topic,
        [{"event_id": f"e-{unique}", "timestamp": "2026-01-21T10:00:00.000Z", "message": "hello"}],
    )

    def document() -> dict | None:
        response = requests.get(f"{settings.opensearch_url}/it-os-{unique}-2026.01.21/_doc/e-{unique}", timeout=5)
        return response.json().get("_source") if response.ok else None

    assert eventually(document, 90, what="document in OpenSearch")["message"] == "hello"


def test_s3_sink_lands_gzip_json_lines_under_an_hour_prefix(
    stack: Stack, settings: Settings, connectors: ConnectorRun, unique: str
) -> None:
    topic = f"it-s3-{unique}"
    create_topic(stack.bootstrap_servers, topic)
    connectors.create(
        f"it-s3-{unique}",
        {
            "connector.class": "dev.loglane.connect.s3.S3SinkConnector",
            "topics": topic,
            "s3.endpoint": settings.s3_endpoint,
            "s3.region": settings.s3_region,
            "s3.bucket": settings.s3_bucket,
            "s3.access.key.id": settings.s3_access_key_id,
            "s3.secret.access.key": settings.s3_secret_access_key.get_secret_value(),
            "s3.prefix": f"it/{unique}/",
            "partition.timestamp.field": "timestamp",
            "flush.size": "1",
            **SCHEMALESS_JSON,
        },
    )
    connectors.wait_running(f"it-s3-{unique}")
    event_time = datetime(2026, 1, 21, 10, 0, tzinfo=timezone.utc)
    produce_json(stack.bootstrap_servers, topic, [{"event_id": f"e-{unique}", "timestamp": event_time.isoformat()}])

    client = s3_client(settings)

    def objects() -> list[str]:
        listed = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=f"it/{unique}/")
        return [o["Key"] for o in listed.get("Contents", [])]

    (key,) = eventually(objects, 90, what="object in S3")
    assert key.startswith(f"it/{unique}/{topic}/year=2026/month=01/day=21/hour=10/")
    assert key.endswith(".jsonl.gz")
    lines = gzip.decompress(client.get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()).splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [f"e-{unique}"]
