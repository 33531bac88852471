"""The shipper against a scripted Kafka: outages, failure bursts, fatal producer errors, registry
outages and restarts in random order, and afterwards every event delivered exactly once, in order.

The fake producer keeps librdkafka's contract as the shipper relies on it: one FIFO queue, bounded
(BufferError when full), delivery callbacks only from poll()/flush(), purge() failing everything
held, and a failure burst failing every queued message (as a fatal error or an unknown topic does).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaError

from loglane.sdk.event import LogEvent
from loglane.sdk.shipper import Shipper, ShipperConfig, Warner
from loglane.sdk.spool import Spool


class World:
    """What the fake Kafka and registry are doing; flipped by the test while events flow."""

    def __init__(self) -> None:
        self.broker_up = True
        self.registry_up = True
        self.fail_burst = False  # the next poll fails everything queued
        self.fatal = False  # the next poll reports a fatal error
        self.capacity = 300
        self.delivered: list[int] = []
        self.lock = threading.Lock()


class FakeProducer:
    def __init__(self, world: World, error_cb: Callable[[KafkaError], None]) -> None:
        self.world = world
        self.error_cb = error_cb
        self.queue: deque[tuple[bytes, Callable[..., None]]] = deque()
        self.purged: deque[tuple[bytes, Callable[..., None]]] = deque()
        self.told_down = False
        self.dead = False

    def __len__(self) -> int:
        return len(self.queue)

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Callable[..., None]) -> None:
        if len(self.queue) >= self.world.capacity:
            raise BufferError("queue full")
        self.queue.append((value, on_delivery))

    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        self.purged.extend(self.queue)
        self.queue.clear()

    def poll(self, timeout: float = 0) -> int:
        world = self.world
        served = 0
        while self.purged:
            _, callback = self.purged.popleft()
            callback(KafkaError(KafkaError._PURGE_QUEUE), None)
            served += 1
        if world.fatal and not self.dead:
            world.fatal = False
            self.dead = True
            self.error_cb(KafkaError(KafkaError._FATAL, "fenced", fatal=True))
        if world.fail_burst or self.dead:
            world.fail_burst = False
            while self.queue:
                _, callback = self.queue.popleft()
                callback(KafkaError(KafkaError._FATAL if self.dead else KafkaError.UNKNOWN_TOPIC_OR_PART), None)
                served += 1
        if not world.broker_up:
            if not self.told_down:
                self.told_down = True
                self.error_cb(KafkaError(KafkaError._ALL_BROKERS_DOWN))
            time.sleep(min(timeout, 0.01))
            return served
        self.told_down = False
        for _ in range(min(len(self.queue), 200)):
            value, callback = self.queue.popleft()
            with world.lock:
                world.delivered.append(json.loads(value)["n"])
            callback(None, None)
            served += 1
        if not served:
            time.sleep(min(timeout, 0.002))
        return served

    def flush(self, timeout: float = 0) -> int:
        deadline = time.monotonic() + timeout
        while self.queue and time.monotonic() < deadline:
            self.poll(0.01)
        self.poll(0)
        return len(self.queue)


def start_shipper(world: World, directory: Path) -> Shipper:
    def serialize(event: LogEvent) -> bytes:
        if not world.registry_up:
            raise ConnectionError("registry unreachable")
        return json.dumps({"n": int(event["attributes"]["n"])}).encode()

    spool = Spool(directory, max_bytes=1 << 30, segment_bytes=20_000)
    spool.open()
    config = ShipperConfig(topic="t", producer_config={}, buffer_size=200, replay_window=150, stall_timeout=0.3)
    shipper = Shipper(config, serialize, spool, Warner("model", 3600))
    shipper._new_producer = lambda: FakeProducer(world, shipper._on_error)  # type: ignore[method-assign]
    shipper.start()
    return shipper


def event(n: int) -> LogEvent:
    return {
        "event_id": str(n), "timestamp": 0, "service": "svc", "environment": "test", "level": "INFO",
        "message": "m", "trace_id": "t", "span_id": None, "tenant": "default",
        "attributes": {"n": str(n)}, "exception": None,
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_trouble_never_loses_duplicates_or_reorders(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    world = World()
    shipper = start_shipper(world, tmp_path)
    total = 4_000
    troubles: list[str] = []
    for n in range(total):
        shipper.submit(event(n))
        if rng.random() < 0.004:
            trouble = rng.choice(["broker", "burst", "registry", "fatal", "restart", "capacity"])
            troubles.append(trouble)
            if trouble == "broker":
                world.broker_up = not world.broker_up
            elif trouble == "burst":
                world.fail_burst = True
            elif trouble == "registry":
                world.registry_up = not world.registry_up
            elif trouble == "fatal":
                world.fatal = True
            elif trouble == "capacity":
                world.capacity = rng.choice([5, 50, 300])
            else:  # the process ends (with whatever the world is like) and a new one takes over the spool
                shipper.close(0.2)
                shipper = start_shipper(world, tmp_path)
        if rng.random() < 0.01:
            time.sleep(0.005)
    assert troubles, "the scenario should have had some trouble"
    world.broker_up = world.registry_up = True
    world.capacity = 300
    assert shipper.flush(60), (troubles, shipper.stats())
    stats = shipper.stats()
    shipper.close(1)
    assert stats.dropped == {}, stats
    delivered = world.delivered
    assert len(delivered) == len(set(delivered)), f"duplicates after {troubles}"
    assert delivered == list(range(total)), f"missing or out of order after {troubles}"
