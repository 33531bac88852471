"""The gateway's errors. Each maps to one HTTP answer; the ones a client should retry carry
`retry_after` (seconds), which becomes the Retry-After header."""

from __future__ import annotations

from typing import Any

from loglane.errors import LoglaneError

__all__ = [
    "Backpressure",
    "BadRequest",
    "Forbidden",
    "GatewayError",
    "NotReady",
    "PayloadTooLarge",
    "Throttled",
    "Unauthorized",
]


class GatewayError(LoglaneError):
    """An answer other than 202: status, a message naming what is wrong and how to fix it, and
    optional extra fields for the JSON body (per-record rejections, counts)."""

    status: int = 500
    retry_after: float | None = None

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


class BadRequest(GatewayError):
    status = 400


class Unauthorized(GatewayError):
    status = 401


class Forbidden(GatewayError):
    status = 403


class PayloadTooLarge(GatewayError):
    status = 413


class Throttled(GatewayError):
    """The token's rate limit is spent; retry after `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: float, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.retry_after = retry_after


class Backpressure(GatewayError):
    """The producer's in-flight budget is full, or Kafka did not acknowledge in time: nothing of
    this request is pending; retry after `retry_after` seconds."""

    status = 503

    def __init__(self, message: str, retry_after: float = 1.0, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.retry_after = retry_after


class NotReady(Backpressure):
    """The gateway cannot serialize yet (the registry has not given the schema id)."""
