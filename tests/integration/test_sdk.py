"""The logging SDK against real Kafka: volume, and a broker outage in the middle of a stream."""

from __future__ import annotations

import io
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer
from fastavro import parse_schema, schemaless_reader

from loglane.catalog import schema_text
from loglane.sdk import LoglaneHandler
from loglane.settings import Settings
from loglane.stack.manager import Stack
from loglane.stack.service import port_open
from tests.support import create_topic

_SCHEMA = parse_schema(__import__("json").loads(schema_text("log_event.avsc")))


def read_events(bootstrap: str, topic: str, expected: int, timeout: float = 120.0) -> list[tuple[str, dict[str, Any]]]:
    """Every (key, LogEvent) on topic, read until `expected` arrived and a quiet second passed
    (so extra copies would be seen too), or timeout."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    events: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=5000, timeout=0.5)
            good = [m for m in batch if m.error() is None]
            for message in good:
                value = message.value()
                assert value[0] == 0, "not Confluent wire format"
                events.append((message.key().decode(), schemaless_reader(io.BytesIO(value[5:]), _SCHEMA)))
            if len(events) >= expected:
                if good:
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > 1.0:
                    break
    finally:
        consumer.close()
    return events


def assert_complete_and_ordered(events: list[tuple[str, dict[str, Any]]], sent: dict[str, list[int]]) -> None:
    """Every record arrived exactly once (total and distinct counts), each service's in emit order."""
    total = sum(len(ns) for ns in sent.values())
    ids = [event["event_id"] for _, event in events]
    assert len(ids) == total, f"{len(ids)} records arrived, {total} were logged"
    assert len(set(ids)) == total, f"{len(ids) - len(set(ids))} duplicates"
    received: dict[str, list[int]] = defaultdict(list)
    for key, event in events:
        assert key == event["service"]
        received[event["service"]].append(int(event["attributes"]["n"]))
    for service, ns in sent.items():
        assert received[service] == ns, f"{service}: records missing, duplicated or out of order"


@pytest.mark.slow
def test_handler_delivers_100k_records_in_order(stack: Stack, unique: str, tmp_path: Path) -> None:
    # Arrange: a topic of our own; the schema is registered under its subject by the handler.
    bootstrap = stack.bootstrap_servers
    topic = f"it-sdk-volume-{unique}"
    create_topic(bootstrap, topic, partitions=3)
    handler = LoglaneHandler(
        service=f"volume-{unique}", environment="test", topic=topic, auto_register=True, spool_dir=tmp_path / "spool"
    )
    logger = logging.getLogger(f"it.sdk.volume.{unique}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    # Act: 100,000 records through the stdlib logging API.
    try:
        for n in range(100_000):
            logger.info("order %d charged", n, extra={"n": n, "amount_cents": n % 5000})
        assert handler.flush(120), handler.stats()
        stats = handler.stats()
    finally:
        logger.removeHandler(handler)
        handler.close()

    # Assert: all of them, once each, in order; nothing dropped.
    assert stats.emitted == stats.delivered == 100_000, stats
    assert stats.dropped == {}
    events = read_events(bootstrap, topic, 100_000)
    assert_complete_and_ordered(events, {f"volume-{unique}": list(range(100_000))})
    first = events[0][1]
    assert first["message"] == "order 0 charged" and first["environment"] == "test" and first["level"] == "INFO"


EXIT_SCRIPT = """
import logging, sys
from loglane.sdk import LoglaneHandler

handler = LoglaneHandler(service=sys.argv[1], topic=sys.argv[2], auto_register=True, spool_dir=sys.argv[3])
logger = logging.getLogger("exiting")
logger.addHandler(handler)
for n in range(2_000):
    logger.warning("event %d", n, extra={"n": n})
# no flush(), no close(): the exit hook delivers what is still buffered
"""


def test_interpreter_exit_flushes(stack: Stack, unique: str, tmp_path: Path) -> None:
    bootstrap = stack.bootstrap_servers
    topic = f"it-sdk-exit-{unique}"
    create_topic(bootstrap, topic, partitions=3)
    service = f"exiting-{unique}"
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, service, topic, str(tmp_path / "spool")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2], check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_complete_and_ordered(read_events(bootstrap, topic, 2_000, timeout=60), {service: list(range(2_000))})


# -- a broker outage in the middle of a stream ------------------------------------------------


def free_port_pair(start: int) -> int:
    for port in range(start, start + 200, 2):
        if not port_open("127.0.0.1", port) and not port_open("127.0.0.1", port + 1):
            return port
    raise RuntimeError(f"no free port pair from {start}")


@pytest.fixture
def private_kafka() -> Iterator[Stack]:
    """A single Kafka node of our own, so the test can stop and start it without touching the shared stack."""
    home = Path(tempfile.mkdtemp(prefix="loglane-sdk-outage-", dir="/tmp"))
    home.chmod(0o755)
    port = free_port_pair(39092)
    kafka = Stack(Settings(home=home, kafka_bootstrap=f"127.0.0.1:{port}"), only=["kafka"])
    kafka.up()
    try:
        yield kafka
    finally:
        kafka.down()
        shutil.rmtree(home, ignore_errors=True)


class Stream:
    """Logs numbered records round-robin over several services' loggers, timing every call."""

    def __init__(self, loggers: dict[str, logging.Logger], total: int) -> None:
        self.loggers = list(loggers.items())
        self.total = total
        self.sent: dict[str, list[int]] = {service: [] for service in loggers}
        self.durations: list[float] = []
        self.n = 0

    def log(self, count: int, per_second: float | None = None) -> None:
        for _ in range(min(count, self.total - self.n)):
            service, logger = self.loggers[self.n % len(self.loggers)]
            began = time.perf_counter()
            logger.warning("payment %d retried", self.n, extra={"n": self.n, "attempt": 2})
            self.durations.append(time.perf_counter() - began)
            self.sent[service].append(self.n)
            self.n += 1
            if per_second:
                time.sleep(1 / per_second)

    def log_while(self, busy: Callable[[], bool], limit: int, per_second: float) -> int:
        """Keep logging while busy() (at most `limit` records); how many were logged."""
        began = self.n
        while busy():
            if self.n - began < limit:
                self.log(10, per_second)
            else:
                time.sleep(0.05)
        return self.n - began


@pytest.mark.slow
def test_outage_mid_stream_loses_and_reorders_nothing(private_kafka: Stack, unique: str, settings: Settings) -> None:
    # Arrange: three services, one handler each, against the private broker; the registry is the shared one.
    bootstrap = private_kafka.bootstrap_servers
    topic = f"it-sdk-outage-{unique}"
    create_topic(bootstrap, topic, partitions=3)
    sdk_settings = Settings(home=private_kafka.settings.home, kafka_bootstrap=bootstrap, registry_url=settings.registry_url)
    services = [f"{name}-{unique}" for name in ("checkout", "payments", "search")]
    handlers = {
        service: LoglaneHandler(
            service=service,
            environment="test",
            topic=topic,
            settings=sdk_settings,
            auto_register=True,
            spool_dir=private_kafka.settings.home / "spool" / service,  # the default layout: a root per service
            stall_timeout=3.0,
        )
        for service in services
    }
    loggers = {}
    for service, handler in handlers.items():
        logger = logging.getLogger(f"it.sdk.outage.{service}")
        logger.propagate = False
        logger.addHandler(handler)
        loggers[service] = logger
    stream = Stream(loggers, total=20_000)
    node = private_kafka.service("kafka")

    def in_background(action: Callable[[], object]) -> threading.Thread:
        thread = threading.Thread(target=action, daemon=True)
        thread.start()
        return thread

    try:
        # Act 1: broker up.
        stream.log(5_000)
        # Act 2: stop the broker while logging goes on, then keep logging while it is down.
        stopping = in_background(node.stop)
        stream.log_while(stopping.is_alive, limit=3_000, per_second=1_000)
        assert node.pid() is None
        stream.log(5_000)
        deadline = time.monotonic() + 30
        while not all(h.stats().spilling for h in handlers.values()) and time.monotonic() < deadline:
            stream.log(3, per_second=100)
        down_stats = {s: h.stats() for s, h in handlers.items()}
        # Act 3: start it again, still logging, then log the rest.
        starting = in_background(private_kafka.up)
        stream.log_while(starting.is_alive, limit=3_000, per_second=1_000)
        assert node.pid() is not None
        stream.log(stream.total)
        flushed = {service: handler.flush(120) for service, handler in handlers.items()}
        final_stats = {service: handler.stats() for service, handler in handlers.items()}
    finally:
        for service, handler in handlers.items():
            loggers[service].removeHandler(handler)
            handler.close(5)

    # Assert: the application never waited on the outage...
    assert stream.n == 20_000
    durations = sorted(stream.durations)
    p99, worst = durations[int(len(durations) * 0.99)], durations[-1]
    print(f"emit during the outage test: p50 {statistics.median(durations) * 1e6:.0f}µs p99 {p99 * 1e6:.0f}µs max {worst * 1e3:.1f}ms")
    assert p99 < 0.005 and worst < 0.5, f"emit p50 {statistics.median(durations) * 1e6:.0f}µs p99 {p99 * 1e6:.0f}µs max {worst * 1e6:.0f}µs"
    # ...the outage was seen and bridged through the spool...
    assert all(s.spilling and not s.broker_up for s in down_stats.values()), down_stats
    assert all(s.spooled > 0 for s in final_stats.values()), final_stats
    # ...and afterwards everything arrived, once, in order per service.
    assert all(flushed.values()), final_stats
    for service, stats in final_stats.items():
        assert stats.emitted == stats.delivered == len(stream.sent[service]), stats
        assert stats.dropped == {}, stats
        assert stats.spool_bytes == 0, stats
    events = read_events(bootstrap, topic, 20_000)
    assert_complete_and_ordered(events, stream.sent)
