"""Per-token rate limits: one token bucket per credential, counted in events (a batch of 500
costs 500). Pure: the clock is injected, so tests step time by hand."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["RateLimiter", "TokenBucket"]


class TokenBucket:
    """`burst` events at once, refilled at `rate` events per second."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, not {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = now

    def available(self, now: float) -> float:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
        return self._tokens

    def take(self, count: int, now: float) -> float:
        """Take `count` events and return 0, or take nothing and return the seconds until `count`
        would be available (infinite when count exceeds the burst)."""
        if count > self.burst:
            return math.inf
        tokens = self.available(now)
        if tokens >= count:
            self._tokens = tokens - count
            return 0.0
        return (count - tokens) / self.rate


class RateLimiter:
    """A bucket per key (a credential's key), created on first use with that key's limits."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, key: str, rate: float | None = None, burst: int | None = None) -> TokenBucket:
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(rate or self.rate, burst or self.burst, self._clock())
        return found

    def available(self, key: str, rate: float | None = None, burst: int | None = None) -> float:
        return self.bucket(key, rate, burst).available(self._clock())

    def take(self, key: str, count: int, rate: float | None = None, burst: int | None = None) -> float:
        """0 when `key` may send `count` events now; else the seconds to wait (nothing is taken)."""
        return self.bucket(key, rate, burst).take(count, self._clock())


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds; never 0 (a client would retry at once and be refused again)."""
    return str(max(1, math.ceil(seconds)))
