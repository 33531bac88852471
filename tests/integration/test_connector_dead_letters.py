"""Which failures reach each sink's dead-letter topic, and that the tasks keep running.

Converter errors (a value that is not Avro) reach every sink's DLQ. A document OpenSearch refuses
reaches the OpenSearch DLQ with OpenSearch's reason. Debezium's JDBC sink 3.6 has no dead letters
for database errors: the task fails and the record stays in Kafka until the cause is fixed."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import psycopg
import requests
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from loglane import catalog
from loglane.avro import AvroWriter
from loglane.settings import Settings
from tests.support import Project, consume, eventually

SINKS = ("opensearch-logs", "postgres-logs", "s3-archive")


def processed_event(**changes: object) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "event_id": str(uuid.uuid4()), "timestamp": now, "service": "checkout", "environment": "prod",
        "tenant": "dlq-test", "level": "ERROR", "message": "payment declined", "trace_id": uuid.uuid4().hex,
        "span_id": None, "attributes": {"order_id": "ord-1"}, "exception_type": None, "exception_message": None,
        "exception_stack": None, "processed_at": now, "pipeline_version": "test", "pii_masked": 0,
        "source_topic": "logs.raw", "source_partition": 0, "source_offset": 0, **changes,
    }


def task_states(settings: Settings, connector: str) -> list[dict]:
    response = requests.get(f"{settings.connect_url}/connectors/{connector}/status", timeout=10)
    return response.json().get("tasks", []) if response.ok else []


def running(settings: Settings, connector: str) -> bool:
    tasks = task_states(settings, connector)
    return bool(tasks) and all(t["state"] == "RUNNING" for t in tasks)


def headers(message) -> dict[str, str]:  # noqa: ANN001 - confluent_kafka.Message
    return {k: (v or b"").decode(errors="replace") for k, v in (message.headers() or [])}


def test_converter_errors_and_refused_documents_reach_the_dead_letter_topics(
    project: Project, settings: Settings
) -> None:
    # Arrange: the project's sinks, applied under this test's unique names.
    applied = project.cli("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    connectors = [f"{stem}-{project.unique}" for stem in SINKS]
    for connector in connectors:
        eventually(lambda c=connector: running(settings, c), 90, what=f"{connector} RUNNING")
    topics = {t.role: t.name for t in catalog.topics(project.directory)}
    processed = topics["processed"]
    serialize = AvroWriter(
        SchemaRegistryClient({"url": settings.registry_url}),
        catalog.topic("processed", project.directory),
        project.directory,
    )
    # A keyword longer than Lucene's 32766-byte term limit: valid Avro, a valid row, an object
    # S3 stores, but a document OpenSearch refuses.
    refused = processed_event(trace_id="t" * 40_000)

    # Act
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(processed, key=b"k", value=b"not avro at all")
    producer.produce(processed, key=b"k", value=serialize(refused))
    assert producer.flush(30) == 0

    # Assert: the converter error reached all three DLQs with its context headers.
    opensearch_dlq = consume(settings.kafka_bootstrap, topics["deadletter.opensearch"], 2, timeout=90)
    assert len(opensearch_dlq) == 2
    reasons = {m.value(): headers(m) for m in opensearch_dlq}
    assert "__connect.errors.exception.class.name" in reasons[b"not avro at all"]
    refused_reason = next(h for v, h in reasons.items() if v != b"not avro at all")
    assert "immense term" in refused_reason["__connect.errors.exception.message"] or "max_bytes_length" in (
        refused_reason["__connect.errors.exception.message"]
    )
    for role in ("deadletter.postgres", "deadletter.s3"):
        letters = consume(settings.kafka_bootstrap, topics[role], 1, timeout=90)
        assert [m.value() for m in letters] == [b"not avro at all"]
        assert headers(letters[0])["__connect.errors.stage"] == "VALUE_CONVERTER"

    # ... the refused document still reached the other sinks, and every task keeps running.
    table = f"it_{project.unique}"

    def row() -> tuple | None:
        with psycopg.connect(settings.postgres_conninfo) as conn:
            if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
                return None
            return conn.execute(f'select event_id from "{table}" where event_id = %s', (refused["event_id"],)).fetchone()

    eventually(row, 90, what="row of the refused document in PostgreSQL")
    for connector in connectors:
        assert running(settings, connector), task_states(settings, connector)


def test_a_database_error_fails_the_jdbc_task_and_loses_nothing(project: Project, settings: Settings) -> None:
    # Arrange: the sinks applied, the table created by a first event, then a constraint it will break.
    applied = project.cli("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    connector = f"postgres-logs-{project.unique}"
    eventually(lambda: running(settings, connector), 90, what=f"{connector} RUNNING")
    processed = catalog.topic("processed", project.directory).name
    serialize = AvroWriter(
        SchemaRegistryClient({"url": settings.registry_url}),
        catalog.topic("processed", project.directory),
        project.directory,
    )
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    first, breaking = processed_event(), processed_event(message="x" * 500)
    producer.produce(processed, value=serialize(first))
    assert producer.flush(30) == 0
    table = f"it_{project.unique}"

    def count(event_id: str) -> int:
        with psycopg.connect(settings.postgres_conninfo) as conn:
            if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
                return 0
            return conn.execute(f'select count(*) from "{table}" where event_id = %s', (event_id,)).fetchone()[0]

    eventually(lambda: count(first["event_id"]) == 1, 90, what="first row")
    with psycopg.connect(settings.postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'alter table "{table}" add constraint short_message check (char_length(message) < 100)')

    # Act
    producer.produce(processed, value=serialize(breaking))
    assert producer.flush(30) == 0

    # Assert: the task fails naming the constraint; nothing reaches the DLQ; the record is kept.
    failed = eventually(
        lambda: next((t for t in task_states(settings, connector) if t["state"] == "FAILED"), None),
        120, what="JDBC task FAILED",
    )
    assert "short_message" in failed["trace"]
    assert consume(settings.kafka_bootstrap, catalog.topic("deadletter.postgres", project.directory).name, 1, 5) == []
    with psycopg.connect(settings.postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'alter table "{table}" drop constraint short_message')
    requests.post(f"{settings.connect_url}/connectors/{connector}/tasks/0/restart", timeout=30).raise_for_status()
    eventually(lambda: count(breaking["event_id"]) == 1, 120, what="the kept record written after the fix")
    assert running(settings, connector)
