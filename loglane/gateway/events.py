"""A JSON record as a client sends it -> the LogEvent value the Avro writer takes, or the reason
it is refused. Pure: no I/O, ids and clock injected, so the rules are unit tested plainly.

The rules (README, "HTTP gateway"):
- Mandatory: service, environment, timestamp, level, message, trace_id. service, environment and
  level may come from the request instead (query parameters or X-Loglane-* headers), for shippers
  such as Fluent Bit whose records do not carry them.
- timestamp: ISO-8601 (no zone means UTC), or a number of seconds, milliseconds, microseconds or
  nanoseconds since the epoch, told apart by magnitude (numeric strings too). Fluent Bit's `date`
  (its default json_date_key, epoch seconds as a float) counts as the timestamp, and its `log` as
  the message, when `timestamp` / `message` are absent.
- trace_id: a missing one is refused, unless the request asks for `missing_trace_id=generate`;
  then a fresh one is set and attributes["loglane.trace_id"] = "generated" says so.
- event_id: kept when given (it must be a UUID; every sink is idempotent by it), generated otherwise.
- tenant: always the token's; a record naming another tenant is refused with kind "tenant".
- Unknown top-level fields go to attributes as strings (JSON text for non-strings) unless
  `attributes` already has that key; null values are dropped.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "NO_DEFAULTS",
    "Invalid",
    "LogEventValue",
    "RequestDefaults",
    "iter_batch",
    "parse_line",
    "parse_timestamp",
    "to_event",
]

LogEventValue = dict[str, Any]

# Rejection kinds: the `reason` label of loglane_gateway_events_rejected_total.
JSON, SHAPE, MISSING, INVALID, TENANT, TOO_LARGE = "json", "shape", "missing", "invalid", "tenant", "too_large"

KNOWN_FIELDS = frozenset(
    {"event_id", "timestamp", "service", "environment", "level", "message", "trace_id", "span_id",
     "tenant", "attributes", "exception"}
)
GENERATED_TRACE_ATTRIBUTE = "loglane.trace_id"
_MAX_ECHO = 80  # how much of a bad value a reason quotes


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why one record was refused: `kind` (json, shape, missing, invalid, tenant, too_large) for
    metrics and clients that branch on it, `reason` for people, naming the field and the fix."""

    kind: str
    reason: str


@dataclass(frozen=True)
class RequestDefaults:
    """Values a request supplies for records that lack them (query parameters or headers)."""

    service: str | None = None
    environment: str | None = None
    level: str | None = None
    generate_trace_id: bool = False


NO_DEFAULTS = RequestDefaults()


def _echo(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "...")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- timestamps --------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")
_MAX_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _from_epoch(number: float) -> int:
    if not math.isfinite(number):
        raise ValueError("is not a finite number")
    magnitude = abs(number)
    if magnitude < 1e11:  # seconds (up to year 5138); ms values this small would be before 1973-03
        millis = round(number * 1000)
    elif magnitude < 1e14:
        millis = round(number)
    elif magnitude < 1e17:
        millis = round(number / 1000)
    else:
        millis = round(number / 1_000_000)
    if abs(millis) > _MAX_MILLIS:
        raise ValueError("is out of range")
    return millis


def parse_timestamp(value: Any) -> int:
    """Milliseconds since the epoch, UTC; ValueError says what is wrong with `value`."""
    if isinstance(value, bool):
        raise ValueError("must be ISO-8601 text or epoch seconds/milliseconds, not a boolean")
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if not isinstance(value, str):
        raise ValueError(f"must be ISO-8601 text or epoch seconds/milliseconds, not {_json_type(value)}")
    text = value.strip()
    if _NUMERIC.fullmatch(text):
        return _from_epoch(float(text) if "." in text else int(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is neither ISO-8601 (e.g. 2024-05-01T12:00:00.123Z) nor epoch seconds/milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _MILLISECOND



# --- one record --------------------------------------------------------------------------------


class _RandomIds:
    """Random version-4 UUIDs from os.urandom, drawn 4096 at a time: one system call per 4096 ids
    instead of one per id (uuid.uuid4's), which the gateway would otherwise pay per event.
    Not thread-safe; the gateway calls it from its event loop only."""

    _VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0

    def hex(self) -> str:
        """32 random hex digits, shaped as a version-4 UUID's (a trace id)."""
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(16 * 4096).hex(), 0
        h = self._pool[self._at : self._at + 32]
        self._at += 32
        return f"{h[:12]}4{h[13:16]}{self._VARIANT[h[16]]}{h[17:]}"

    def uuid(self) -> str:
        h = self.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_ids = _RandomIds()
_new_event_id = _ids.uuid
_new_trace_id = _ids.hex


def to_event(
    record: Any,
    tenant: str,
    defaults: RequestDefaults = NO_DEFAULTS,
    *,
    new_event_id: Callable[[], str] = _new_event_id,
    new_trace_id: Callable[[], str] = _new_trace_id,
) -> LogEventValue | Invalid:
    """The LogEvent for `record` written by `tenant`, or why it cannot be one (every problem of
    the record in one reason, `; `-separated)."""
    if not isinstance(record, dict):
        return Invalid(SHAPE, f"expected a JSON object, got {_json_type(record)}")
    get = record.get
    claimed = get("tenant")
    if claimed is not None and claimed != tenant:
        return Invalid(TENANT, f"tenant: {_echo(claimed)} is not this token's tenant {tenant!r}")

    missing: list[str] = []
    problems: list[str] = []

    def text(name: str, value: Any, default: str | None) -> str:
        if value is None:
            value = default
        if value is None:
            missing.append(name)
        elif isinstance(value, str) and value:
            return value
        else:
            problems.append(f"{name}: must be a non-empty string, not {_json_type(value) if value != '' else 'empty text'}")
        return ""

    service = text("service", get("service"), defaults.service)
    environment = text("environment", get("environment"), defaults.environment)

    level = get("level")
    if isinstance(level, int) and not isinstance(level, bool):
        level = str(level)  # numeric levels (pino's 30, syslog's 3) kept as written; the stream maps them
    level = text("level", level, defaults.level)

    consumed: tuple[str, ...] = ()
    message = get("message")
    if message is None and "log" in record:
        message, consumed = get("log"), ("log",)
    if message is None:
        missing.append("message")
    elif not isinstance(message, str):
        problems.append(f"message: must be a string, not {_json_type(message)}")

    raw_time = get("timestamp")
    if raw_time is None and "date" in record:
        raw_time, consumed = get("date"), (*consumed, "date")
    timestamp = 0
    if raw_time is None:
        missing.append("timestamp")
    else:
        try:
            timestamp = parse_timestamp(raw_time)
        except (ValueError, OverflowError) as exc:
            problems.append(f"timestamp: {_echo(raw_time)} {exc}")

    attributes: dict[str, str] = {}
    given = get("attributes")
    if isinstance(given, dict):
        attributes = {str(k): _as_string(v) for k, v in given.items() if v is not None}
    elif given is not None:
        problems.append(f"attributes: must be an object of name: value, not {_json_type(given)}")

    trace_id = get("trace_id")
    if trace_id is None:
        if defaults.generate_trace_id:
            trace_id = new_trace_id()
            attributes[GENERATED_TRACE_ATTRIBUTE] = "generated"
        else:
            missing.append("trace_id")
    elif not isinstance(trace_id, str) or not trace_id:
        problems.append(f"trace_id: must be a non-empty string, not {_json_type(trace_id)}")

    span_id = get("span_id")
    if span_id is not None and not isinstance(span_id, str):
        problems.append(f"span_id: must be a string or null, not {_json_type(span_id)}")

    event_id = get("event_id")
    if event_id is None:
        event_id = new_event_id()
    else:
        try:
            if not isinstance(event_id, str):
                raise ValueError
            event_id = str(uuid.UUID(event_id))
        except ValueError:
            problems.append(f"event_id: {_echo(event_id)} is not a UUID; send one, or leave it out to get one")

    exception = get("exception")
    if exception is not None:
        exception, why = _exception(exception)
        if why:
            problems.append(why)

    if missing or problems:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        reason = "; ".join(parts + problems)
        return Invalid(MISSING if missing and not problems else INVALID, reason)

    for key, value in record.items():
        if key not in KNOWN_FIELDS and key not in consumed and value is not None and key not in attributes:
            attributes[key] = _as_string(value)

    return {
        "event_id": event_id,
        "timestamp": timestamp,
        "service": service,
        "environment": environment,
        "level": level,
        "message": message,
        "trace_id": trace_id,
        "span_id": span_id,
        "tenant": tenant,
        "attributes": attributes,
        "exception": exception,
    }


def _exception(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    shape = "exception: must be an object {type, message, stack?}"
    if not isinstance(value, dict):
        return None, f"{shape}, not {_json_type(value)}"
    kind, message, stack = value.get("type"), value.get("message"), value.get("stack")
    if not isinstance(kind, str) or not isinstance(message, str) or not (stack is None or isinstance(stack, str)):
        return None, f"{shape} of strings"
    return {"type": kind, "message": message, "stack": stack}, None


# --- request bodies ----------------------------------------------------------------------------


def parse_line(line: bytes | str) -> Any | Invalid:
    """One NDJSON line -> its JSON value, or Invalid(json)."""
    try:
        return json.loads(line)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return Invalid(JSON, f"not JSON: {exc}")
    except RecursionError:
        return Invalid(JSON, "not JSON this gateway reads: nested too deeply")


def iter_batch(body: bytes) -> Iterator[Any | Invalid]:
    """The records of a batch body: a JSON array, or NDJSON (one JSON value per line; blank lines
    skipped). A malformed array is the whole body's problem: ValueError; a malformed NDJSON line
    is that record's (Invalid(json))."""
    stripped = body.lstrip()
    if stripped[:1] == b"[":
        try:
            records = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"body starts with '[' but is not a JSON array: {exc}") from None
        except RecursionError:
            raise ValueError("body is nested too deeply to read") from None
        if not isinstance(records, list):  # pragma: no cover - '[' guarantees a list when it parses
            raise ValueError("body is not a JSON array")
        yield from records
        return
    for line in stripped.split(b"\n"):
        if line.strip():
            yield parse_line(line)
