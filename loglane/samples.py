"""Realistic sample traffic for the demo and the end-to-end tests: several services, requests
whose traces span services, mixed levels, e-mail addresses to mask, and malformed records of
every kind the stream must dead-letter."""

from __future__ import annotations

import random
import struct
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

LogEvent = dict[str, Any]

# A request's path through the services, and what each hop logs.
HOPS: list[tuple[str, str]] = [
    ("gateway", "{method} {path} received from {client}"),
    ("checkout", "creating order {order} for {email}"),
    ("inventory", "reserved {items} item(s) for order {order}"),
    ("payments", "charged {amount} EUR for order {order}"),
    ("notifications", "sent confirmation of order {order} to {email}"),
]
FAILURES: dict[str, tuple[str, str]] = {
    "payments": ("PaymentDeclined", "card issuer declined the charge for order {order}"),
    # Each message names its order: the stream drops identical (service, timestamp, message) as repeats.
    "inventory": ("OutOfStock", "sku {sku} has no stock left for order {order}"),
    "notifications": ("SmtpTimeout", "mail relay did not answer within 5s for order {order}"),
}
ENVIRONMENTS = ["prod", "prod", "prod", "staging"]


def _fields(rng: random.Random) -> dict[str, Any]:
    return {
        "method": rng.choice(["GET", "POST", "POST"]),
        "path": rng.choice(["/cart", "/checkout", "/orders"]),
        "client": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "order": f"ord-{rng.randrange(10**6):06d}",
        "email": f"{rng.choice(['ana', 'ben', 'chen', 'dara'])}.{rng.randrange(100)}@example.com",
        "items": rng.randrange(1, 6),
        "amount": f"{rng.uniform(5, 500):.2f}",
        "sku": f"sku-{rng.randrange(1000)}",
    }


def request_events(rng: random.Random, start: datetime) -> list[LogEvent]:
    """One request: a hop per service sharing a trace id; sometimes a hop fails and the trace stops."""
    trace_id = uuid.UUID(int=rng.getrandbits(128)).hex
    environment = rng.choice(ENVIRONMENTS)
    values = _fields(rng)
    events: list[LogEvent] = []
    moment = start
    for service, template in HOPS:
        moment += timedelta(milliseconds=rng.randrange(1, 40))
        event: LogEvent = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "timestamp": moment,
            "service": service,
            "environment": environment,
            "level": rng.choice(["INFO", "INFO", "INFO", "info", "DEBUG"]),
            "message": template.format(**values),
            "trace_id": trace_id,
            "span_id": uuid.UUID(int=rng.getrandbits(128)).hex[:16],
            "tenant": "shop",
            "attributes": {"order_id": values["order"], "duration_ms": str(rng.randrange(1, 900))},
            "exception": None,
        }
        if service in FAILURES and rng.random() < 0.08:
            kind, text = FAILURES[service]
            event["level"] = rng.choice(["ERROR", "error", "FATAL"]) if rng.random() < 0.9 else "WARN"
            event["message"] = text.format(**values)
            event["exception"] = {
                "type": kind,
                "message": text.format(**values),
                "stack": f'Traceback (most recent call last):\n  File "{service}/handler.py", line 42, in handle\n{kind}',
            }
            events.append(event)
            break
        events.append(event)
    return events


def sample_events(count: int, seed: int = 7, start: datetime | None = None) -> list[LogEvent]:
    """Exactly `count` LogEvents, deterministic for a seed, timestamps within the last minutes."""
    rng = random.Random(seed)
    moment = start or datetime.now(timezone.utc) - timedelta(minutes=10)
    events: list[LogEvent] = []
    while len(events) < count:
        events.extend(request_events(rng, moment))
        moment += timedelta(milliseconds=rng.randrange(1, 20))
    return events[:count]


def invalid_events(seed: int = 11, now: datetime | None = None) -> list[tuple[str, LogEvent]]:
    """Events that fit the schema but break its rules, each with the error_kind the stream must give.
    (A timestamp days ahead is no longer one: the stream keeps such events, flagged.)"""
    base = sample_events(1, seed, now)[0]

    def variant(**changes: Any) -> LogEvent:
        return {**base, "event_id": str(uuid.uuid4()), **changes}

    return [
        ("missing_field", variant(trace_id="")),
        ("missing_field", variant(service="  ")),
        ("invalid_field", variant(level="LOUD")),
    ]


def undecodable_values(valid_payload: bytes, unknown_schema_id: int) -> list[tuple[str, bytes]]:
    """Values that are not a LogEvent at all, built from one real payload (magic byte + id + Avro)."""
    return [
        ("undecodable", b'{"message": "plain JSON, not Avro"}'),
        ("undecodable", valid_payload[:7]),  # header and a torn body
        ("unknown_schema", struct.pack(">bI", 0, unknown_schema_id) + valid_payload[5:]),
    ]
