"""Nothing lost when workers start, die and rebalance under traffic.

Events are produced steadily while a worker starts (its tables still recovering), is killed with
SIGKILL mid-stream and started again, a second worker joins (a rebalance) and the first is stopped
(another). At the end every produced event_id is in the processed topic, enriched from the service
catalog (a global table every worker recovers), nothing was dead-lettered, and the group's committed
offsets reach the end of the raw topic. Duplicates are allowed (at least once; the sinks upsert by
event_id) and reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.cli import cli
from loglane.settings import Settings
from loglane.stack.manager import Stack
from tests.integration.test_stream import (
    RAW_PARTITIONS, Project, committed_to_end, log_event, project, read_exactly,
)
from tests.support import create_topic, eventually

__all__ = ["project"]  # the fixture, shared with test_stream

EVENTS = 6000
RATE = 300  # events/s: the run spans the workers' starts, kills and rebalances


class Workers:
    """`loglane worker` processes of one consumer group, each with its own data dir and log."""

    def __init__(self, project: Project, tmp_path: Path) -> None:
        self._project = project
        self._tmp = tmp_path
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self._tmp / f"{name}.log"

    def start(self, name: str) -> None:
        env = {
            **os.environ,
            "LOGLANE_PROJECT_DIR": str(self._project.dir),
            "LOGLANE_STREAM_APP_ID": self._project.app_id,
            "LOGLANE_HOME": str(self._tmp / f"home-{name}"),
        }
        with self.log(name).open("ab") as out:
            out.write(f"=== started at {time.time():.1f}\n".encode())
            out.flush()
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "loglane.cli", "worker", "-l", "info"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def stop(self, name: str, sig: signal.Signals) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def ready(self, name: str) -> bool:
        log = self.log(name).read_bytes()
        return b"Worker ready" in log[log.rfind(b"=== started at") :]  # this run's, not an earlier one's

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name, signal.SIGTERM)
        for log in sorted(self._tmp.glob("*.log")):
            print(f"--- {log} (last lines) ---", *log.read_text().splitlines()[-30:], sep="\n")


@pytest.fixture
def catalog(stack: Stack, project: Project) -> Iterator[str]:
    """The project's service catalog, as in production: its compacted topic, written by `loglane apply`."""
    name = project.topics["raw"].replace("-raw-", "-services-")
    create_topic(stack.bootstrap_servers, name, **{"cleanup.policy": "compact"})
    topics = yaml.safe_load((project.dir / "topics.yaml").read_text())
    topics["topics"].append({"role": "service-catalog", "name": name, "config": {"cleanup.policy": "compact"}})
    (project.dir / "topics.yaml").write_text(yaml.safe_dump(topics))
    (project.dir / "rules" / "alerts.yaml").unlink()  # no alerting here: its topics are not this test's
    (project.dir / "services.yaml").write_text(yaml.safe_dump({"services": {"checkout": {"owner_team": "shop"}}}))
    applied = CliRunner().invoke(cli, ["apply", "--yes", "--project-dir", str(project.dir)])
    assert applied.exit_code == 0, applied.output
    yield "shop"
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    admin.delete_topics([name])[name].result(timeout=30)


@pytest.fixture
def workers(project: Project, catalog: str, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(project, tmp_path)
    yield group
    group.stop_all()


def produce_steadily(settings: Settings, topic: str, ids: list[str], failures: list[str]) -> None:
    registry = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(registry, None, conf={"auto.register.schemas": False, "use.latest.version": True})
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "linger.ms": 5})
    context = SerializationContext(topic, MessageField.VALUE)
    started = time.monotonic()
    for n, event_id in enumerate(ids):
        # Distinct messages: content dedup must not drop any of them.
        event = log_event(datetime.now(timezone.utc), event_id=event_id, message=f"order ord-{n} created")
        producer.produce(topic, key=event_id.encode(), value=serializer(event, context),
                         on_delivery=lambda err, _m: err and failures.append(str(err)))
        producer.poll(0)
        pause = started + (n + 1) / RATE - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    if producer.flush(30):
        failures.append("producer flush timed out")


def test_should_lose_nothing_when_workers_start_die_and_rebalance_under_traffic(
    stack: Stack, settings: Settings, project: Project, catalog: str, workers: Workers
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    failures: list[str] = []
    producer = threading.Thread(target=produce_steadily, args=(settings, project.topics["raw"], ids, failures))
    producer.start()

    workers.start("a")  # records arrive while it recovers its tables
    time.sleep(6)
    workers.stop("a", signal.SIGKILL)  # processed but uncommitted records are read again
    workers.start("a")
    eventually(lambda: workers.ready("a"), 120, 0.5, "worker a ready after its restart")
    workers.start("b")  # a rebalance: partitions move to b while a has records in flight
    eventually(lambda: workers.ready("b"), 120, 0.5, "worker b ready")
    workers.stop("a", signal.SIGTERM)  # another: b takes every partition
    producer.join()
    assert failures == []

    eventually(
        lambda: committed_to_end(stack.bootstrap_servers, project.app_id, project.topics["raw"], RAW_PARTITIONS),
        180, 1.0, "the group committed the raw topic to its end",
    )
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": settings.registry_url}))
    context = SerializationContext(project.topics["processed"], MessageField.VALUE)
    events = [deserialize(m.value(), context)
              for m in read_exactly(stack.bootstrap_servers, project.topics["processed"], EVENTS, 60)]
    processed = Counter(str(event["event_id"]) for event in events)
    again = Counter((e["source_partition"], e["source_offset"]) for e in events if processed[str(e["event_id"])] > 1)
    print(f"processed: {len(events)} records, {len(processed)} distinct, {len(events) - len(processed)} again; "
          f"offsets processed again: {summarize(sorted(again))}")
    missing = set(ids) - set(processed)
    assert not missing, f"{len(missing)} of {EVENTS} events never processed"
    assert {event["owner_team"] for event in events} == {catalog}
    assert read_exactly(stack.bootstrap_servers, project.topics["deadletter"], 0, 3) == []


def summarize(offsets: list[tuple[int, int]]) -> str:
    """(partition, offset) pairs as ranges: p0 10-19, p1 5-7."""
    ranges: list[list[int]] = []
    for partition, offset in offsets:
        if ranges and ranges[-1][0] == partition and ranges[-1][2] == offset - 1:
            ranges[-1][2] = offset
        else:
            ranges.append([partition, offset, offset])
    return ", ".join(f"p{p} {a}-{b}" for p, a, b in ranges) or "none"
