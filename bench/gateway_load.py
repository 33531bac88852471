"""Gateway load: sustained events/s and request latency for batches of 100 and 1000 events, beside
raw confluent-kafka produce throughput of the same events measured in the same run. Not a test.

    python bench/gateway_load.py [--duration 15] [--concurrency 4] [--batch-sizes 100,1000]

Needs the local stack (`loglane stack up`). It makes its own topic and subject, starts
`loglane gateway` as a subprocess on a free 127.0.0.1 port, drives it with `concurrency` clients
each sending one batch at a time for `duration` seconds per batch size, and removes the topic and
subject at the end. Every request goes to 127.0.0.1; the run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import requests
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from loglane import catalog
from loglane.gateway.avro import AvroValueWriter
from loglane.gateway.events import to_event
from loglane.gateway.producer import producer_config
from loglane.settings import get_settings

TOKEN = "bench-token"


def sample_events(count: int) -> list[dict]:
    return [
        {
            "service": ["checkout", "payments", "inventory", "gateway"][n % 4],
            "environment": "prod",
            "timestamp": 1_700_000_000_000 + n,
            "level": "INFO",
            "message": f"order ord-{n:06d} created for customer c-{n % 977} with 3 items, total 42.17 EUR",
            "trace_id": uuid.UUID(int=n).hex,
            "span_id": f"{n:016x}",
            "attributes": {"order_id": f"ord-{n:06d}", "duration_ms": str(n % 900)},
        }
        for n in range(count)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def drive(url: str, body: bytes, events_per_request: int, concurrency: int, duration: float) -> dict:
    latencies: list[float] = []
    refused: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    deadline = time.monotonic() + duration

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status == 202:
                    latencies.append(time.perf_counter() - started)
                else:
                    refused[response.status] = refused.get(response.status, 0) + 1
                    await asyncio.sleep(0.05)

    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    elapsed = time.monotonic() - began
    return {
        "events_per_s": len(latencies) * events_per_request / elapsed,
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "refused": refused,
    }


def raw_produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]], duration: float) -> float:
    """Events/s confluent-kafka alone sustains for the same (already Avro-encoded) events, with the
    gateway's producer settings: the ceiling the gateway is measured against."""
    settings = get_settings()
    config = producer_config(
        bootstrap,
        max_events=settings.gateway_max_inflight_events,
        max_bytes=settings.gateway_max_inflight_bytes,
        delivery_timeout=settings.gateway_delivery_timeout,
        linger_ms=settings.gateway_linger_ms,
    )
    producer = Producer(config)
    delivered = 0

    def on_delivery(error: object, _: object) -> None:
        nonlocal delivered
        if error is None:
            delivered += 1

    began = time.monotonic()
    deadline = began + duration
    while time.monotonic() < deadline:
        for key, value in values:
            while True:
                try:
                    producer.produce(topic, value, key, on_delivery=on_delivery)
                    break
                except BufferError:  # the queue is full: wait for deliveries, as the gateway does
                    producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    return delivered / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per case (default 15)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients sending at once (default 4)")
    parser.add_argument("--batch-sizes", default="100,1000", help="events per request (default 100,1000)")
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    settings = get_settings()
    bootstrap = settings.kafka_bootstrap

    # Arrange: a topic and subject of the bench's own, a tokens file, a gateway.
    topic = f"bench-gateway-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    subject = f"{settings.registry_url}/subjects/{topic}-value"
    schema_id = requests.post(
        f"{subject}/versions", json={"schema": catalog.schema_text("log_event.avsc")}, timeout=30
    ).json()["id"]
    workdir = Path(tempfile.mkdtemp(prefix="loglane-bench-"))
    tokens = workdir / "tokens.yaml"
    tokens.write_text(f"bench:\n  - sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    port = free_port()
    env = {
        **os.environ,
        "LOGLANE_GATEWAY_TOKENS_FILE": str(tokens),
        "LOGLANE_GATEWAY_TOPIC": topic,
        "LOGLANE_GATEWAY_RATE_LIMIT": "100000000",
    }
    log = (workdir / "gateway.log").open("wb")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "loglane.cli", "gateway", "--port", str(port), "-l", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise SystemExit(f"gateway not ready in 60s; see {workdir / 'gateway.log'}")
            time.sleep(0.5)

        events = sample_events(max(batch_sizes))
        writer = AvroValueWriter(catalog.schema_text("log_event.avsc"), schema_id)
        encoded = [writer(e) for e in (to_event(e, "bench") for e in events)]
        json_bytes = sum(len(json.dumps(e)) for e in events) / len(events)
        avro_bytes = sum(len(v) for v in encoded) / len(encoded)

        print(
            f"gateway load: 127.0.0.1, {os.cpu_count()} cores, {args.concurrency} clients, {args.duration:.0f}s per case; "
            f"events ~{json_bytes:.0f} bytes JSON / ~{avro_bytes:.0f} bytes Avro; topic {topic} (3 partitions)"
        )
        results = {}
        for size in batch_sizes:
            body = json.dumps(events[:size]).encode()
            results[size] = asyncio.run(drive(f"{url}/v1/logs/batch", body, size, args.concurrency, args.duration))
            r = results[size]
            print(
                f"  batch {size:>5}: {r['events_per_s']:>9,.0f} events/s  p50 {r['p50_ms']:7.1f} ms  "
                f"p95 {r['p95_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  ({r['requests']} requests"
                + (f", refused {r['refused']}" if r["refused"] else "") + ")"
            )
        keyed = [(e["service"].encode(), v) for e, v in zip(events, encoded)]
        baseline = raw_produce(bootstrap, topic, keyed, args.duration)
        print(f"  raw confluent-kafka produce of the same Avro events: {baseline:,.0f} events/s")
        for size in batch_sizes:
            print(f"  ratio gateway/raw, batch {size}: {results[size]['events_per_s'] / baseline:.2f}")
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(30)
        except subprocess.TimeoutExpired:
            gateway.kill()
        admin.delete_topics([topic])[topic].result(30)
        requests.delete(subject, timeout=30)


if __name__ == "__main__":
    main()
