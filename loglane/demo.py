"""`loglane demo`: the whole pipeline on this machine, fed with realistic traffic, then where to look."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from loglane import catalog
from loglane.avro import AvroWriter
from loglane.apply import execute, make_plan, project
from loglane.samples import invalid_events, sample_events, undecodable_values
from loglane.settings import Settings
from loglane.stack.components.s3 import s3_client
from loglane.stack.manager import Stack

Say = Callable[[str], None]


@dataclass(frozen=True)
class Landed:
    documents: int
    rows: int
    archive_objects: int
    dead_letters: int


def produce_traffic(settings: Settings, events: int, say: Say) -> tuple[int, int]:
    """Sample requests from several services, with every kind of bad input mixed in."""
    raw = catalog.topic("raw").name
    serialize = AvroWriter(SchemaRegistryClient({"url": settings.registry_url}), catalog.topic("raw"))
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "linger.ms": 20}
    )
    good = sample_events(events, seed=int(time.time()))
    bad = [serialize(event) for _, event in invalid_events()]
    bad += [value for _, value in undecodable_values(serialize(good[0]), unknown_schema_id=987_654)]
    every = max(1, len(good) // len(bad))
    for n, event in enumerate(good):
        producer.produce(raw, key=event["service"], value=serialize(event))
        if n % every == 0 and bad:
            producer.produce(raw, key=b"device-without-sdk", value=bad.pop())
        producer.poll(0)
    for value in bad:
        producer.produce(raw, key=b"device-without-sdk", value=value)
    producer.flush(60)
    dead = len(invalid_events()) + len(undecodable_values(b"\0" * 8, 0))
    say(f"produced {len(good)} events from 5 services to {raw}, and {dead} malformed records")
    return len(good), dead


def topic_size(settings: Settings, role: str) -> int:
    name = catalog.topic(role).name
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "loglane-demo-count"})
    try:
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        marks = [consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10) for p in partitions]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()


def landed(settings: Settings) -> Landed:
    requests.post(f"{settings.opensearch_url}/logs-*/_refresh", timeout=30)
    count = requests.get(f"{settings.opensearch_url}/logs-*/_count", timeout=30)
    documents = count.json().get("count", 0) if count.ok else 0
    with psycopg.connect(settings.postgres_conninfo) as conn:
        exists = conn.execute("select to_regclass('log_events')").fetchone()
        rows = conn.execute("select count(*) from log_events").fetchone()[0] if exists and exists[0] else 0
    listed = s3_client(settings).list_objects_v2(Bucket=settings.s3_bucket, Prefix="archive/")
    return Landed(documents, rows, listed.get("KeyCount", 0), topic_size(settings, "deadletter"))


def run(settings: Settings, events: int, say: Say) -> Landed:
    say("1/5 starting the local stack")
    Stack(settings).up()
    say("2/5 applying topics, schemas, the index template and connectors")
    plan = make_plan(settings, project.load(settings.project_dir))
    execute(plan, lambda step: say(f"    {step.action.symbol} {step.title}"))
    say("3/5 starting the stream worker")
    Stack(settings, only=["worker"]).up()
    before = landed(settings)
    say("4/5 producing sample traffic")
    good, bad = produce_traffic(settings, events, say)
    say("5/5 waiting for the sinks (the S3 archive writes a file every 30 s)")
    deadline = time.monotonic() + 180
    after = landed(settings)
    while time.monotonic() < deadline and (
        after.documents < before.documents + good
        or after.rows < before.rows + good
        or after.dead_letters < before.dead_letters + bad
        or after.archive_objects <= before.archive_objects
    ):
        time.sleep(2)
        after = landed(settings)
    return after


def where_to_look(settings: Settings, result: Landed) -> list[str]:
    os_url = settings.opensearch_url
    return [
        f"OpenSearch: {result.documents} documents",
        f"  curl -s '{os_url}/logs-*/_search?q=level:ERROR&size=3&sort=timestamp:desc&pretty'",
        f"PostgreSQL: {result.rows} rows in log_events",
        f"  PGPASSWORD=... psql -h {settings.postgres_host} -p {settings.postgres_port} -U {settings.postgres_user} "
        f"{settings.postgres_db} -c 'select service, level, count(*) from log_events group by 1, 2 order by 1, 2'",
        f"S3 archive: {result.archive_objects} objects under s3://{settings.s3_bucket}/archive/ "
        "(gzip JSON Lines by year=/month=/day=/hour=)",
        f"  aws --endpoint-url {settings.s3_endpoint} s3 ls s3://{settings.s3_bucket}/archive/ --recursive",
        f"Dead letters: {result.dead_letters} on {catalog.topic('deadletter').name}, each with stage, kind and reason",
        "  loglane connectors status    # the three sinks; loglane stack status  # servers and the worker",
        "  loglane stack down           # stops the worker and every server the stack started",
    ]
