"""The stream worker on the real stack, isolated: a project dir whose topics.yaml names this test's
own topics, their subjects registered here, the worker run as `loglane worker` in a subprocess
with its own app id. Valid events come out processed and masked; every malformed one comes out as
exactly one dead letter with its stage, kind, reason and original bytes; ERROR events also reach
the alert candidates; a repeat and a sampled-out event reach nothing."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane import __version__
from loglane.settings import Settings
from loglane.stack.manager import Stack
from tests.support import create_topic, eventually

SCHEMAS = {
    "raw": "log_event.avsc",
    "processed": "processed_log_event.avsc",
    "alert-candidates": "processed_log_event.avsc",
    "deadletter": "dead_letter.avsc",
}
RAW_PARTITIONS = 2
UNKNOWN_SCHEMA_ID = 0x7FFF_FFF0


@dataclass(frozen=True)
class Project:
    """This test's own project dir, topic names (by role) and Faust app id."""

    dir: Path
    topics: dict[str, str]
    app_id: str


@pytest.fixture
def project(stack: Stack, settings: Settings, unique: str, tmp_path: Path) -> Iterator[Project]:
    """A project dir naming this test's topics, which exist with their schemas registered."""
    own = Project(tmp_path / "project", {role: f"it-stream-{role}-{unique}" for role in SCHEMAS}, f"it-stream-{unique}")
    shutil.copytree(settings.project_dir / "schemas", own.dir / "schemas")
    shutil.copytree(settings.project_dir / "rules", own.dir / "rules")  # masking, parsing, sampling...
    declared = [
        {"role": role, "name": name, "value_schema": SCHEMAS[role], "partitions": RAW_PARTITIONS if role == "raw" else 1}
        for role, name in own.topics.items()
    ]
    (own.dir / "topics.yaml").write_text(yaml.safe_dump({"defaults": {"partitions": 1}, "topics": declared}))
    registry = SchemaRegistryClient({"url": settings.registry_url})
    for role, name in own.topics.items():
        create_topic(stack.bootstrap_servers, name, partitions=RAW_PARTITIONS if role == "raw" else 1)
        registry.register_schema(f"{name}-value", Schema((own.dir / "schemas" / SCHEMAS[role]).read_text(), "AVRO"))
    yield own
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    internal = [name for name in admin.list_topics(timeout=10).topics if name.startswith(f"{own.app_id}-")]
    for future in admin.delete_topics(list(own.topics.values()) + internal).values():  # and the worker's changelogs
        future.result(timeout=30)


@pytest.fixture
def worker(project: Project, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "LOGLANE_PROJECT_DIR": str(project.dir),
        "LOGLANE_STREAM_APP_ID": project.app_id,
        "LOGLANE_HOME": str(tmp_path / "home"),  # the worker's data dir, not the stack's
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglane.cli", "worker", "-l", "info"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    # Ready before producing, so a test's timeouts measure processing, not start-up (records
    # produced during start-up are covered by test_restart).
    eventually(lambda: proc.poll() is not None or b"Worker ready" in log.read_bytes(), 120, 0.5, "worker ready")
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # Shown when the test fails.
    tail = log.read_text().splitlines()[-40:]
    print(f"--- worker exit {proc.returncode}, log {log}, last lines ---", *tail, sep="\n")


def read_exactly(bootstrap: str, topic: str, count: int, timeout: float) -> list[Message]:
    """Every record of topic once `count` arrived, plus any that follow within 2 s (a surplus is a bug)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
            if len(messages) >= count:
                deadline = min(deadline, time.monotonic() + 2)
    finally:
        consumer.close()
    return messages


def committed_to_end(bootstrap: str, group: str, topic: str, partitions: int) -> bool:
    """The group committed every partition of topic up to its end: a restart reads nothing again."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return [tp.offset for tp in offsets] == ends


def log_event(now: datetime, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "timestamp": now - timedelta(seconds=30),
        "service": "checkout",
        "environment": "prod",
        "level": "info",
        "message": "order ord-7 created",
        "trace_id": uuid.uuid4().hex,
        "span_id": None,
        "tenant": "shop",
        "attributes": {"order_id": "ord-7"},
        "exception": None,
    }
    return {**event, **changes}


def test_should_process_valid_events_and_dead_letter_each_malformed_one_with_its_reason(
    worker: subprocess.Popen[bytes], project: Project, settings: Settings
) -> None:
    # Arrange: valid events as a producer writes them, and one record of every malformed kind.
    raw, processed_topic, dead_topic = (project.topics[role] for role in ("raw", "processed", "deadletter"))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    registry = SchemaRegistryClient({"url": settings.registry_url})
    serialize = AvroSerializer(
        registry, (project.dir / "schemas" / SCHEMAS["raw"]).read_text(), conf={"auto.register.schemas": False}
    )
    context = SerializationContext(raw, MessageField.VALUE)
    valid = [
        log_event(now, level="warning", message="password reset requested by ada.lovelace@example.org"),
        log_event(now, service="payments", level="ERROR",
                  exception={"type": "Declined", "message": "card declined", "stack": "at charge()"}),
        log_event(now, service="inventory", level="Debug"),
        # Days ahead: kept, flagged, timed when Kafka received it.
        log_event(now, service="clock-broken", timestamp=now + timedelta(days=3)),
    ]
    payload = serialize(valid[0], context)
    malformed = {
        b"bad-json": (b'{"message": "plain JSON, not Avro"}', "decode", "undecodable"),
        b"bad-torn": (payload[:7], "decode", "undecodable"),
        b"bad-id": (struct.pack(">bI", 0, UNKNOWN_SCHEMA_ID) + payload[5:], "decode", "unknown_schema"),
        b"bad-trace": (serialize(log_event(now, trace_id=""), context), "validate", "missing_field"),
        b"bad-level": (serialize(log_event(now, level="LOUD"), context), "normalize", "invalid_field"),
    }

    # Produce
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for event in valid:
        producer.produce(raw, key=event["service"], value=serialize(event, context))
    for key, (value, _, _) in malformed.items():
        producer.produce(raw, key=key, value=value)
    # Left out on purpose: a repeat of the first event (same event_id), and TRACE from prod (rules/sampling.yaml).
    producer.produce(raw, key=valid[0]["service"], value=serialize(valid[0], context))
    producer.produce(raw, key="checkout", value=serialize(log_event(now, level="trace"), context))
    assert producer.flush(30) == 0

    # Verify: exactly one output per input, on the topic of its kind.
    processed = read_exactly(settings.kafka_bootstrap, processed_topic, len(valid), timeout=60)
    letters = read_exactly(settings.kafka_bootstrap, dead_topic, len(malformed), timeout=20)
    candidates = read_exactly(settings.kafka_bootstrap, project.topics["alert-candidates"], 1, timeout=20)
    assert worker.poll() is None, "the worker exited"
    assert len(processed) == len(valid)
    assert len(letters) == len(malformed)
    assert len(candidates) == 1  # the ERROR event, routed by rules/routing.yaml

    deserialize = AvroDeserializer(registry)
    out = {}
    for message in processed:
        value = deserialize(message.value(), SerializationContext(processed_topic, MessageField.VALUE))
        assert message.key() == value["service"].encode()
        out[str(value["event_id"])] = value  # the uuid logical type reads as UUID
    assert set(out) == {e["event_id"] for e in valid}
    masked, failed, debug, flagged = (out[e["event_id"]] for e in valid)
    assert (masked["level"], masked["message"], masked["pii_masked"]) == (
        "WARN", "password reset requested by <email>", 1,
    )
    assert (failed["level"], failed["exception_type"], failed["exception_message"]) == (
        "ERROR", "Declined", "card declined",
    )
    candidate = deserialize(candidates[0].value(), SerializationContext(project.topics["alert-candidates"], MessageField.VALUE))
    assert (str(candidate["event_id"]), candidates[0].key()) == (valid[1]["event_id"], b"payments")
    assert (debug["level"], debug["pii_masked"], debug["timestamp"]) == ("DEBUG", 0, now - timedelta(seconds=30))
    assert {(v["source_topic"], v["pipeline_version"]) for v in out.values()} == {(raw, __version__)}
    future = valid[3]["timestamp"]
    assert flagged["attributes"]["loglane.flag"] == "future_timestamp"
    assert flagged["attributes"]["loglane.original_timestamp"] == future.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    assert abs(flagged["timestamp"] - datetime.now(timezone.utc)) < timedelta(minutes=5)

    dead = {
        message.key(): deserialize(message.value(), SerializationContext(dead_topic, MessageField.VALUE))
        for message in letters
    }
    assert set(dead) == set(malformed)
    for key, (original, stage, kind) in malformed.items():
        letter = dead[key]
        assert (letter["stage"], letter["error_kind"], letter["original"]) == (stage, kind, original)
        assert (letter["original_key"], letter["source_topic"]) == (key, raw)
        assert letter["reason"]
    assert str(UNKNOWN_SCHEMA_ID) in dead[b"bad-id"]["reason"]
    assert dead[b"bad-trace"]["reason"].startswith("trace_id is empty")

    # Acked by hand after each send, and still committed: a restart would not read them again.
    eventually(
        lambda: committed_to_end(settings.kafka_bootstrap, project.app_id, raw, RAW_PARTITIONS), 20,
        what="the worker committed the raw topic to its end",
    )
