"""The per-token token bucket, with a clock stepped by hand."""

from __future__ import annotations

import math

import pytest

from loglane.gateway.ratelimit import RateLimiter, TokenBucket, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_should_allow_a_burst_then_refuse_with_the_wait() -> None:
    bucket = TokenBucket(rate=10, burst=20, now=0.0)
    assert bucket.take(20, now=0.0) == 0
    assert bucket.take(5, now=0.0) == pytest.approx(0.5)  # 5 events at 10/s
    assert bucket.take(5, now=0.5) == 0


def test_refusing_takes_nothing() -> None:
    bucket = TokenBucket(rate=10, burst=10, now=0.0)
    assert bucket.take(8, now=0.0) == 0
    assert bucket.take(5, now=0.0) == pytest.approx(0.3)
    assert bucket.take(2, now=0.0) == 0  # the refused 5 were not taken


def test_should_refill_no_higher_than_the_burst() -> None:
    bucket = TokenBucket(rate=100, burst=10, now=0.0)
    bucket.take(10, now=0.0)
    assert bucket.available(now=3600.0) == 10


def test_more_than_the_burst_can_never_pass() -> None:
    assert TokenBucket(rate=10, burst=10, now=0.0).take(11, now=0.0) == math.inf


def test_each_key_has_its_own_bucket_and_limits() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.take("a", 1) == 0
    assert limiter.take("a", 1) == pytest.approx(1.0)
    assert limiter.take("b", 1) == 0
    assert limiter.take("fast", 50, rate=100, burst=50) == 0
    clock.now += 1.0
    assert limiter.take("a", 1) == 0


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (30, "30")])
def test_retry_after_is_whole_seconds_never_zero(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


def test_should_refuse_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, now=0.0)
