"""The gateway's Kafka producer: idempotent, lz4, a short linger, and a bounded in-flight budget.

Memory is bounded by the budget, not by traffic: an event counts against it from `produce` until
Kafka's acknowledgement (or failure) is reported. A request that does not fit is refused at once
(503, Backpressure) and an upload waits for room, so a slow or absent Kafka slows clients down
instead of filling the gateway's memory. librdkafka's own queue is sized above the budget, so it
never refuses first.

Threads: requests produce from the event loop; one thread polls librdkafka for delivery reports
and hands each poll's reports to the loop in one call, so every piece of state here is touched by
the loop thread only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from loglane.gateway.errors import Backpressure

__all__ = ["Delivery", "GatewayProducer", "InflightBudget", "producer_config"]

log = logging.getLogger(__name__)
kafka_log = logging.getLogger("loglane.gateway.kafka")  # librdkafka's own lines and errors


class _OncePerInterval(logging.Filter):
    """Lets each kind of line (its first 80 characters) through once per `interval` seconds: a
    broker that is down is reported every 30 s, not at librdkafka's reconnect rate."""

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = record.getMessage()[:80]
        now = time.monotonic()
        if now - self._last.get(key, -self.interval) < self.interval:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True


kafka_log.addFilter(_OncePerInterval())

Message = tuple[bytes, bytes]  # (key, value)


def producer_config(
    bootstrap: str,
    *,
    max_events: int,
    max_bytes: int,
    delivery_timeout: float,
    linger_ms: int,
    largest_events: int = 0,
    largest_bytes: int = 0,
) -> dict[str, Any]:
    """librdkafka settings; its queue holds twice the budget plus the largest single reservation
    (an empty budget admits one of any size), so it never refuses before the budget does."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": "loglane-gateway",
        "enable.idempotence": True,  # acks=all, retries without duplicates or reordering
        "compression.type": "lz4",
        "linger.ms": linger_ms,
        # The Java client's partitioner: the same service key lands on the same partition
        # whichever client (gateway, SDK, Connect, Faust) wrote it.
        "partitioner": "murmur2_random",
        "message.timeout.ms": int(delivery_timeout * 1000),
        "queue.buffering.max.messages": max_events * 2 + largest_events,
        "queue.buffering.max.kbytes": max(1, (max_bytes * 2 + largest_bytes) // 1024),
    }


class InflightBudget:
    """Events and bytes produced but not yet acknowledged, against fixed maxima. An empty budget
    always admits one reservation, so a single oversized one cannot wait forever."""

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.events = 0
        self.bytes = 0
        self._waiters: list[asyncio.Future[None]] = []

    def fits(self, events: int, size: int) -> bool:
        if self.events == 0:
            return True
        return self.events + events <= self.max_events and self.bytes + size <= self.max_bytes

    def try_reserve(self, events: int, size: int) -> bool:
        if not self.fits(events, size):
            return False
        self.events += events
        self.bytes += size
        return True

    async def reserve(self, events: int, size: int, timeout: float) -> None:
        """Wait until the reservation fits; Backpressure if it does not within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.try_reserve(events, size):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Backpressure(f"Kafka acknowledged nothing for {timeout:.0f}s; the producer buffer is full")
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                pass
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self, events: int, size: int) -> None:
        self.events -= events
        self.bytes -= size
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class Delivery:
    """The delivery reports of one request's (or upload's) events."""

    __slots__ = ("pending", "delivered", "failed", "errors", "_sink", "_done", "report")

    def __init__(self, sink: list[tuple[Delivery, KafkaError | None, int]]) -> None:
        self.pending = 0
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []  # the first few distinct failure reasons
        self._sink = sink
        self._done: asyncio.Future[None] | None = None
        self.report = self._report  # one bound method, handed to every produce call

    def _report(self, error: KafkaError | None, message: Any) -> None:
        # Runs in the poll thread: only append; the loop settles (see GatewayProducer._settle).
        self._sink.append((self, error, len(message)))

    def settle(self, error: KafkaError | None) -> None:
        self.pending -= 1
        if error is None:
            self.delivered += 1
        else:
            self.failed += 1
            reason = error.str()
            if len(self.errors) < 3 and reason not in self.errors:
                self.errors.append(reason)
        if self.pending == 0 and self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Until every produced event is reported; False if some are still pending at timeout."""
        if self.pending == 0:
            return True
        self._done = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            return False
        return True


class GatewayProducer:
    def __init__(self, config: dict[str, Any], topic: str, max_events: int, max_bytes: int, delivery_timeout: float) -> None:
        self.topic = topic
        self.delivery_timeout = delivery_timeout
        self.budget = InflightBudget(max_events, max_bytes)
        self._config = {**config, "error_cb": self._on_error, "logger": kafka_log}
        self._producer: Producer | None = None
        self._reports: list[tuple[Delivery, KafkaError | None, int]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._producer = Producer(self._config)
        self._thread = threading.Thread(target=self._poll, name="gateway-delivery-reports", daemon=True)
        self._thread.start()

    async def close(self, timeout: float) -> int:
        """Stop polling, then wait up to `timeout` for what is in flight; returns what is left."""
        if self._producer is None:
            return 0
        self._stop.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        left = await asyncio.get_running_loop().run_in_executor(None, self._producer.flush, timeout)
        self._settle(self._take_reports())
        return left

    # producing ------------------------------------------------------------------------------

    def delivery(self) -> Delivery:
        return Delivery(self._reports)

    def produce(self, messages: Sequence[Message], delivery: Delivery) -> None:
        """Produce messages whose room in the budget is already reserved; a message librdkafka
        refuses is reported to `delivery` as failed and its room released."""
        assert self._producer is not None, "start() the producer first"
        produce, topic, report = self._producer.produce, self.topic, delivery.report
        for n, (key, value) in enumerate(messages):
            try:
                produce(topic, value, key, on_delivery=report)
            except (BufferError, KafkaException) as exc:
                refused = messages[n:]
                delivery.failed += len(refused)
                delivery.errors.append(f"producer refused the event: {exc}")
                self.budget.release(len(refused), sum(len(v) for _, v in refused))
                break
            delivery.pending += 1

    def send_nowait(self, messages: Sequence[Message], size: int) -> Delivery:
        """Produce every message or none: Backpressure when the budget has no room for them all."""
        if not self.budget.try_reserve(len(messages), size):
            raise Backpressure(
                f"the producer buffer is full ({self.budget.events} events, {self.budget.bytes} bytes "
                "awaiting Kafka's acknowledgement); nothing of this request was accepted"
            )
        delivery = self.delivery()
        self.produce(messages, delivery)
        return delivery

    # delivery reports -----------------------------------------------------------------------

    def _take_reports(self) -> list[tuple[Delivery, KafkaError | None, int]]:
        reports, self._reports[:] = list(self._reports), []
        return reports

    def _poll(self) -> None:
        assert self._producer is not None and self._loop is not None
        while not self._stop.is_set():
            self._producer.poll(0.05)
            if self._reports:
                reports = self._take_reports()
                try:
                    self._loop.call_soon_threadsafe(self._settle, reports)
                except RuntimeError:  # the loop closed under us (shutdown)
                    return

    def _settle(self, reports: list[tuple[Delivery, KafkaError | None, int]]) -> None:
        if not reports:
            return
        size = 0
        for delivery, error, length in reports:
            size += length
            delivery.settle(error)
        self.budget.release(len(reports), size)

    def _on_error(self, error: KafkaError) -> None:
        self.last_error = error.str()
        kafka_log.warning("kafka: %s", error.str())

    # readiness ------------------------------------------------------------------------------

    def check(self, timeout: float = 5.0) -> str | None:
        """None when the producer reaches a broker that knows the topic; else what is wrong.
        Blocking: run it in an executor."""
        assert self._producer is not None
        try:
            metadata = self._producer.list_topics(self.topic, timeout=timeout)
        except KafkaException as exc:
            return f"kafka: no broker answered within {timeout:.0f}s ({exc.args[0].str() if exc.args else exc}); is LOGLANE_KAFKA_BOOTSTRAP right?"
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None:
            why = found.error.str() if found is not None and found.error is not None else "unknown"
            return f"kafka: topic {self.topic!r} is not available ({why}); run `loglane apply` to create it"
        return None
