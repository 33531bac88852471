"""The walking skeleton end to end, on the real stack: producers -> logs.raw -> stream worker ->
logs.processed -> OpenSearch, PostgreSQL and S3; bad input -> dead letters with reasons."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
import requests
from click.testing import CliRunner
from confluent_kafka import ConsumerGroupTopicPartitions, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane import catalog
from loglane.avro import AvroWriter
from loglane.cli import cli
from loglane.samples import invalid_events, sample_events, undecodable_values
from loglane.settings import Settings
from loglane.stack.components.s3 import s3_client
from loglane.stack.manager import Stack
from tests.support import eventually

VALID = 10_000


@pytest.fixture(scope="module")
def applied(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["apply", "--yes"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def worker(applied: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    log = tmp_path_factory.mktemp("e2e") / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglane.cli", "worker"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    # Ready before producing, so the timeouts measure processing, not start-up (records produced
    # during start-up are covered by test_restart).
    eventually(lambda: proc.poll() is not None or b"Worker ready" in log.read_bytes(), 120, 0.5, "worker ready")
    assert proc.poll() is None, log.read_text()[-3000:]
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    print(f"--- worker log {log}, last lines ---", *log.read_text().splitlines()[-30:], sep="\n")


def test_the_working_tree_schemas_are_compatible_with_the_registry(applied: None) -> None:
    result = CliRunner().invoke(cli, ["schemas", "check"])
    assert result.exit_code == 0, result.output


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "e2e-offsets"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def read_from(settings: Settings, topic: str, start: dict[int, int], count: int, timeout: float) -> list:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"e2e-read-{time.time()}"})
    consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
        # Linger briefly: more than `count` would be a bug worth seeing.
        extra = consumer.poll(2.0)
        if extra is not None and extra.error() is None:
            messages.append(extra)
    finally:
        consumer.close()
    return messages


def caught_up(settings: Settings, group: str, topic: str) -> bool:
    """The group's committed offsets reached the topic's end: everything before was written."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    ends = end_offsets(settings, topic)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in ends])
    committed = admin.list_consumer_group_offsets([request])[group].result(timeout=10)
    # An empty partition (no key hashes to it) has nothing to commit: caught up by definition.
    return all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in committed.topic_partitions)


@pytest.mark.slow
def test_ten_thousand_events_reach_every_sink_once_and_bad_input_reaches_dead_letters(
    worker: subprocess.Popen, settings: Settings, unique: str
) -> None:
    # Arrange: this run's events carry their own tenant, so counts ignore earlier runs' data.
    tenant = f"e2e-{unique}"
    raw = catalog.topic("raw").name
    dead = catalog.topic("deadletter").name
    registry = SchemaRegistryClient({"url": settings.registry_url})
    serialize = AvroWriter(registry, catalog.topic("raw"))
    events = [{**e, "tenant": tenant} for e in sample_events(VALID, seed=int(unique[:6], 16))]
    events[0]["message"] = "password reset requested by ada.lovelace@example.org"
    bad = [(kind, serialize({**e, "tenant": tenant})) for kind, e in invalid_events()]
    bad += undecodable_values(serialize(events[1]), unknown_schema_id=987_654)
    dead_start = end_offsets(settings, dead)

    # Produce
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20, "enable.idempotence": True})

    def produce_all() -> None:
        for event in events:
            producer.produce(raw, key=event["service"], value=serialize(event))
            producer.poll(0)
        assert producer.flush(60) == 0

    produce_all()
    for _, value in bad:
        producer.produce(raw, key=b"bad", value=value)
    assert producer.flush(30) == 0

    # Verify: exactly N in each sink, M dead letters with reasons, the e-mail masked everywhere.
    def opensearch_count() -> int:
        requests.post(f"{settings.opensearch_url}/logs-*/_refresh", timeout=30)
        response = requests.get(
            f"{settings.opensearch_url}/logs-*/_count",
            json={"query": {"term": {"tenant": tenant}}},
            timeout=30,
        )
        return response.json().get("count", 0) if response.ok else 0

    def postgres_count() -> int:
        with psycopg.connect(settings.postgres_conninfo) as conn:
            if conn.execute("select to_regclass('log_events')").fetchone()[0] is None:
                return 0
            return conn.execute("select count(*) from log_events where tenant = %s", (tenant,)).fetchone()[0]

    s3 = s3_client(settings)

    def s3_lines() -> list[dict]:
        found = []
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket, Prefix="archive/")
        for page in pages:
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=settings.s3_bucket, Key=obj["Key"])["Body"].read()
                found += [r for r in map(json.loads, gzip.decompress(body).splitlines()) if r["tenant"] == tenant]
        return found

    eventually(lambda: opensearch_count() >= VALID, 240, 2, "documents in OpenSearch")
    eventually(lambda: postgres_count() >= VALID, 240, 2, "rows in PostgreSQL")
    archived = eventually(lambda: (lines := s3_lines()) and len(lines) >= VALID and lines, 240, 5, "lines in S3")
    assert opensearch_count() == VALID
    assert postgres_count() == VALID
    assert len(archived) == VALID
    assert len({r["event_id"] for r in archived}) == VALID

    letters = read_from(settings, dead, dead_start, len(bad), timeout=120)
    deserialize = AvroDeserializer(registry)
    decoded = [deserialize(m.value(), SerializationContext(dead, MessageField.VALUE)) for m in letters]
    assert sorted(d["error_kind"] for d in decoded) == sorted(kind for kind, _ in bad)
    assert all(d["reason"] and d["original"] for d in decoded)

    masked_id = events[0]["event_id"]
    document = requests.get(
        f"{settings.opensearch_url}/logs-*/_search", json={"query": {"term": {"event_id": masked_id}}}, timeout=30
    ).json()["hits"]["hits"][0]["_source"]
    with psycopg.connect(settings.postgres_conninfo) as conn:
        row_message = conn.execute("select message from log_events where event_id = %s", (masked_id,)).fetchone()[0]
    archived_message = next(r["message"] for r in archived if r["event_id"] == masked_id)
    for stored in (document["message"], row_message, archived_message):
        assert "ada.lovelace@example.org" not in stored
        assert stored.startswith("password reset requested by ")

    # Replay: the same events again add no duplicate to OpenSearch or PostgreSQL. The stream drops
    # the repeats it still remembers (dedup window); any it forgot, the sinks upsert by event_id.
    processed = catalog.topic("processed").name
    produce_all()
    eventually(lambda: caught_up(settings, settings.stream_app_id, raw), 240, 2, "the stream read the replay")
    for connector in ("opensearch-logs", "postgres-logs"):
        eventually(lambda c=connector: caught_up(settings, f"connect-{c}", processed), 240, 2, f"{connector} caught up")
    assert opensearch_count() == VALID
    assert postgres_count() == VALID
