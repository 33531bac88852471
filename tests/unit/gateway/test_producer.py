"""The producer's in-flight budget: refuse or wait, never grow."""

from __future__ import annotations

import asyncio

import pytest

from loglane.gateway.errors import Backpressure
from loglane.gateway.producer import Delivery, InflightBudget, producer_config


def test_should_reserve_until_events_or_bytes_run_out() -> None:
    budget = InflightBudget(max_events=10, max_bytes=1000)
    assert budget.try_reserve(6, 100)
    assert not budget.try_reserve(5, 100)  # events
    assert budget.try_reserve(4, 100)
    budget.release(10, 200)
    assert budget.try_reserve(1, 100)
    assert not budget.try_reserve(1, 950)  # bytes


def test_an_empty_budget_admits_one_oversized_reservation() -> None:
    budget = InflightBudget(max_events=10, max_bytes=1000)
    assert budget.try_reserve(50, 5000)
    assert not budget.try_reserve(1, 1)


def test_waiting_reservations_go_on_when_room_is_released() -> None:
    async def scenario() -> None:
        budget = InflightBudget(max_events=2, max_bytes=1000)
        budget.try_reserve(2, 10)
        waiter = asyncio.create_task(budget.reserve(2, 10, timeout=5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        budget.release(2, 10)
        await asyncio.wait_for(waiter, 1)
        assert budget.events == 2

    asyncio.run(scenario())


def test_a_reservation_that_never_fits_is_backpressure() -> None:
    async def scenario() -> None:
        budget = InflightBudget(max_events=2, max_bytes=1000)
        budget.try_reserve(2, 10)
        with pytest.raises(Backpressure, match="buffer is full"):
            await budget.reserve(1, 10, timeout=0.05)

    asyncio.run(scenario())


def test_a_delivery_finishes_when_every_event_is_reported() -> None:
    async def scenario() -> None:
        delivery = Delivery([])
        delivery.pending = 2
        waiting = asyncio.create_task(delivery.wait(5))
        await asyncio.sleep(0)
        delivery.settle(None)
        assert not waiting.done()
        delivery.settle(None)
        assert await waiting
        assert (delivery.delivered, delivery.failed) == (2, 0)

    asyncio.run(scenario())


def test_producer_config_bounds_librdkafka_above_the_budget() -> None:
    config = producer_config(
        "k:9092", max_events=1000, max_bytes=1 << 20, delivery_timeout=30, linger_ms=5,
        largest_events=500, largest_bytes=1 << 20,
    )
    assert config["enable.idempotence"] is True
    assert config["compression.type"] == "lz4"
    assert config["queue.buffering.max.messages"] == 2500
    assert config["queue.buffering.max.kbytes"] == 3072
    assert config["message.timeout.ms"] == 30000
