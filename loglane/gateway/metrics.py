"""The gateway's Prometheus metrics, on a registry of its own (GET /metrics)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "GatewayMetrics"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class GatewayMetrics:
    def __init__(self, inflight_events: Callable[[], float], inflight_bytes: Callable[[], float], ready: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(
            "loglane_gateway_events_accepted", "Events Kafka acknowledged, by tenant.", ["tenant"], registry=r
        )
        self.rejected = Counter(
            "loglane_gateway_events_rejected",
            "Events refused, by reason kind (json, shape, missing, invalid, tenant, too_large).",
            ["reason"],
            registry=r,
        )
        self.failed = Counter(
            "loglane_gateway_events_failed", "Valid events Kafka did not acknowledge (the client was told to retry).",
            registry=r,
        )
        self.throttled = Counter(
            "loglane_gateway_throttled", "Requests answered 429: the token's rate limit was spent.", ["tenant"], registry=r
        )
        self.backpressure = Counter(
            "loglane_gateway_backpressure",
            "Requests answered 503 because the producer buffer was full or Kafka did not acknowledge in time.",
            ["endpoint"],
            registry=r,
        )
        self.requests = Counter(
            "loglane_gateway_requests", "Requests by endpoint and status code.", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "loglane_gateway_request_seconds",
            "Time from request start to response, by endpoint (202s include Kafka's acknowledgement).",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        Gauge("loglane_gateway_inflight_events", "Events produced and not yet acknowledged.", registry=r).set_function(inflight_events)
        Gauge("loglane_gateway_inflight_bytes", "Bytes produced and not yet acknowledged.", registry=r).set_function(inflight_bytes)
        Gauge("loglane_gateway_ready", "1 once the producer and the registry client are connected.", registry=r).set_function(ready)

    def render(self) -> bytes:
        return generate_latest(self.registry)
