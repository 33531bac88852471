"""What one logging call costs the application with LoglaneHandler, broker up and broker down,
beside a raw confluent-kafka Producer.produce() measured in the same run. Not a test: it prints.

    python bench/sdk_emit.py [--records 50000]

Needs the local stack's Kafka and registry for "broker up" (`loglane stack up --only kafka`
plus the registry, or the whole stack); "broker down" points at a closed local port. Each call is
timed on its own (perf_counter_ns); the figures are per call, in microseconds.

Rows:
  baseline produce()     Producer.produce() of pre-serialized bytes of a LogEvent's size (same
                         producer settings as the SDK: idempotent, acks=all, lz4, linger 20 ms)
  handler.handle(record) the handler alone, given a ready LogRecord (filters, lock, emit)
  logger.info(...)       what application code pays: the logging module plus the handler
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loglane.sdk import LoglaneHandler
from loglane.settings import Settings, get_settings

PRODUCER = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "message.timeout.ms": 0,
    "queue.buffering.max.messages": 1_000_000,
    "log_level": 0,
}


def timed(calls: int, call: Callable[[int], object]) -> list[float]:
    durations = []
    clock = time.perf_counter_ns
    for n in range(calls):
        began = clock()
        call(n)
        durations.append((clock() - began) / 1000)
    return durations


def summary(durations: list[float]) -> tuple[float, float, float]:
    ordered = sorted(durations)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)], statistics.fmean(ordered)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(bootstrap: str, topic: str, settings: Settings, records: int, home: Path) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}

    # Baseline: the raw producer, one produce() per call, a LogEvent-sized payload.
    payload = b"\x00\x00\x00\x00\x01" + json.dumps({"message": "x" * 180, "attributes": {"n": "1"}}).encode()
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    timed(1000, lambda n: producer.produce(topic, payload, b"bench"))
    results["baseline produce()"] = timed(records, lambda n: producer.produce(topic, payload, b"bench"))
    producer.purge()
    producer.flush(1)

    handler = LoglaneHandler(
        service="bench", environment="bench", topic=topic, settings=settings, auto_register=True,
        spool_dir=home / "spool" / bootstrap.replace(":", "_"), close_timeout=2.0,
    )
    logger = logging.getLogger(f"bench.{uuid.uuid4().hex[:6]}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "order %s charged", ("o-1",), None, extra={"n": 1})
    timed(1000, lambda n: logger.info("warm-up %d", n))
    time.sleep(0.5)
    results["handler.handle(record)"] = timed(records, lambda n: handler.handle(record))
    results["logger.info(...)"] = timed(
        records, lambda n: logger.info("order %d charged", n, extra={"n": n, "amount_cents": 1299})
    )
    stats = handler.stats()
    handler.close(2.0)
    results["_stats"] = [float(stats.spooled), float(stats.delivered), float(stats.emitted)]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000, help="timed calls per row (default 50,000)")
    args = parser.parse_args()

    settings = get_settings()
    home = Path(tempfile.mkdtemp(prefix="loglane-bench-"))
    topic = f"bench-sdk-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=30)
    down_bootstrap = f"127.0.0.1:{closed_port()}"
    try:
        up = measure(settings.kafka_bootstrap, topic, settings, args.records, home)
        down = measure(
            down_bootstrap, topic,
            Settings(home=home, kafka_bootstrap=down_bootstrap, registry_url=settings.registry_url),
            args.records, home,
        )
    finally:
        admin.delete_topics([topic])
        shutil.rmtree(home, ignore_errors=True)

    print(f"emit() cost per call, µs ({args.records:,} timed calls per row; Python {sys.version.split()[0]})")
    print(f"{'':24} {'broker up':>28}   {'broker down (closed port)':>28}")
    print(f"{'':24} {'p50':>8} {'p99':>8} {'mean':>10}   {'p50':>8} {'p99':>8} {'mean':>10}")
    base_up, base_down = summary(up["baseline produce()"]), summary(down["baseline produce()"])
    for row in ("baseline produce()", "handler.handle(record)", "logger.info(...)"):
        u, d = summary(up[row]), summary(down[row])
        print(f"{row:24} {u[0]:8.1f} {u[1]:8.1f} {u[2]:10.1f}   {d[0]:8.1f} {d[1]:8.1f} {d[2]:10.1f}")
    for row in ("handler.handle(record)", "logger.info(...)"):
        u, d = summary(up[row]), summary(down[row])
        print(
            f"ratio {row} / produce(): up p50 {u[0] / base_up[0]:.1f}x p99 {u[1] / base_up[1]:.1f}x; "
            f"down p50 {d[0] / base_down[0]:.1f}x p99 {d[1] / base_down[1]:.1f}x"
        )
    for name, result in (("up", up), ("down", down)):
        spooled, delivered, emitted = result["_stats"]
        print(f"broker {name}: {emitted:,.0f} events emitted, {delivered:,.0f} delivered, {spooled:,.0f} spooled at the end of the run")


if __name__ == "__main__":
    main()
