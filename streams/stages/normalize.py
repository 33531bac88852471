"""Normalize: the level becomes one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (from the aliases
in rules/normalize.yaml), the timestamp a UTC datetime with millisecond precision.

An implausible event time is not a reason to lose the event: one further ahead of the stream's
clock than ``max_ahead``, or older than ``max_age``, is kept and flagged. Its attribute
``loglane.flag`` says ``future_timestamp`` or ``stale_timestamp``, ``loglane.original_timestamp``
keeps the time it claimed (ISO), and its timestamp becomes the time Kafka received the record (the
same on every replay, so sinks that index by day stay idempotent), or the stream's clock when
that is implausible too. Indexes by day thus never get a 1970 or 2099 index from a broken clock.
An unknown level is refused (``invalid_field``): routing and sampling decide by level."""

from __future__ import annotations

from datetime import datetime

from streams.rules.normalize import LEVELS, NormalizeRules
from streams.stages.timestamps import from_epoch, iso, to_millis
from streams.stages.types import ErrorKind, LogEvent, Rejection

STAGE = "normalize"
FLAG = "loglane.flag"
ORIGINAL_TIMESTAMP = "loglane.original_timestamp"
FUTURE, STALE = "future_timestamp", "stale_timestamp"


def instant(value: datetime | int) -> datetime:
    """The event time as a UTC datetime; a writer schema without the timestamp-millis logical
    type gives epoch milliseconds."""
    if isinstance(value, datetime):
        return to_millis(value)
    moment = from_epoch(value)
    if moment is None:
        raise ValueError(f"timestamp {value!r} is no time")
    return moment


def add_flag(attributes: dict[str, str], flag: str) -> dict[str, str]:
    """The attributes with flag added to loglane.flag (comma-separated when there are several)."""
    flags = [f for f in attributes.get(FLAG, "").split(",") if f]
    if flag not in flags:
        flags.append(flag)
    return {**attributes, FLAG: ",".join(flags)}


def plausibility(moment: datetime, now: datetime, rules: NormalizeRules) -> str | None:
    """The flag an event time earns: FUTURE, STALE or None."""
    if moment > now + rules.max_ahead:
        return FUTURE
    if moment < now - rules.max_age:
        return STALE
    return None


def normalize(
    event: LogEvent, now: datetime, rules: NormalizeRules, received: datetime | None = None
) -> LogEvent | Rejection:
    level = rules.level(event["level"])
    if level is None:
        return Rejection(
            STAGE,
            ErrorKind.INVALID_FIELD,
            f"level {event['level']!r} is none of {', '.join(LEVELS)} nor an alias in rules/normalize.yaml "
            f"({', '.join(rules.aliases)})",
            event.get("event_id"),
        )
    moment = instant(event["timestamp"])
    attributes = event["attributes"]
    flag = plausibility(moment, now, rules)
    if flag is not None:
        attributes = {**add_flag(attributes, flag), ORIGINAL_TIMESTAMP: iso(moment)}
        fallback = to_millis(received) if received is not None else None
        moment = fallback if fallback is not None and plausibility(fallback, now, rules) is None else to_millis(now)
    return {**event, "level": level, "timestamp": moment, "attributes": attributes}
