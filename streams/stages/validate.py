"""Validate: the rules Avro cannot express. Mandatory strings must be non-empty, the timestamp must
be plausible, and the level must map to one of six names; the result is the event normalized
(level name, timestamp as UTC datetime, event_id as text)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from streams.stages.types import ErrorKind, LogEvent, Rejection

STAGE = "validate"
REQUIRED = ("service", "environment", "level", "trace_id")
# Clock skew between hosts is seconds; a day ahead is a broken clock or a unit mistake.
MAX_AHEAD = timedelta(days=1)
# Beyond a week an event is no late arrival but a replay of stale data: raw keeps 3 days, and SDK
# buffers hold hours.
MAX_AGE = timedelta(days=7)

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_ALIASES = {
    "trace": "TRACE",
    "debug": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "notice": "INFO",
    "warn": "WARN",
    "warning": "WARN",
    "error": "ERROR",
    "err": "ERROR",
    "fatal": "FATAL",
    "critical": "FATAL",
    "crit": "FATAL",
    "panic": "FATAL",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _span(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def _instant(value: datetime | int) -> datetime:
    # A writer schema without the timestamp-millis logical type gives epoch milliseconds.
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromtimestamp(value / 1000, timezone.utc)


def normalize_level(level: str) -> str | None:
    """TRACE..FATAL from the common spellings, case-insensitive; None when unknown."""
    return _ALIASES.get(level.strip().lower())


def validate(
    event: LogEvent, now: datetime, max_ahead: timedelta = MAX_AHEAD, max_age: timedelta = MAX_AGE
) -> LogEvent | Rejection:
    event_id = str(event["event_id"])  # a UUID when the writer schema has the uuid logical type

    def refuse(kind: ErrorKind, reason: str) -> Rejection:
        return Rejection(STAGE, kind, reason, event_id)

    for name in REQUIRED:
        if not event[name].strip():
            return refuse(ErrorKind.MISSING_FIELD, f"{name} is empty; every event needs a {name}")
    moment = _instant(event["timestamp"])
    if moment > now + max_ahead:
        return refuse(
            ErrorKind.BAD_TIMESTAMP,
            f"timestamp {_iso(moment)} is more than {_span(max_ahead)} ahead of the stream's clock ({_iso(now)})",
        )
    if moment < now - max_age:
        return refuse(
            ErrorKind.BAD_TIMESTAMP,
            f"timestamp {_iso(moment)} is more than {_span(max_age)} old (stream's clock: {_iso(now)})",
        )
    level = normalize_level(event["level"])
    if level is None:
        return refuse(
            ErrorKind.INVALID_FIELD,
            f"level {event['level']!r} is none of {', '.join(LEVELS)} nor an alias ({', '.join(_ALIASES)})",
        )
    return {**event, "event_id": event_id, "timestamp": moment, "level": level}
