"""Log records (stdlib or structlog) to LogEvent dicts shaped like schemas/log_event.avsc. Pure functions.

What goes where:
- service, environment, tenant: from the handler's `Origin`; a record's `tenant` extra overrides it.
- level: the level name as the producer wrote it (INFO, WARNING, ...); the stream normalizes it.
- message: the formatted message (`msg % args`); when formatting fails, the raw message and args.
- exception: type (module-qualified unless builtin), message and formatted stack, from exc_info.
- trace_id/span_id: a `trace_id`/`span_id` extra, else `context.current_trace()` (OpenTelemetry span,
  else the context variable, else a fresh trace id).
- attributes: every other extra field, plus `logger` (the logger's name) and `stack_info` when
  asked for; values are strings: None, bools, lists, tuples and dicts as compact JSON, anything
  else as str(value) (repr() when that fails).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypedDict

from loglane.sdk.context import TraceContext, current_trace, new_event_id


class ExceptionInfo(TypedDict):
    type: str
    message: str
    stack: str | None


class LogEvent(TypedDict):
    event_id: str
    timestamp: int  # milliseconds since the epoch, UTC
    service: str
    environment: str
    level: str
    message: str
    trace_id: str
    span_id: str | None
    tenant: str
    attributes: dict[str, str]
    exception: ExceptionInfo | None


@dataclass(frozen=True, slots=True)
class Origin:
    """Who emits: the fields every event of one handler shares."""

    service: str
    environment: str
    tenant: str = "default"


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
# Keys that become LogEvent fields rather than attributes.
_PROMOTED = frozenset({"tenant", "trace_id", "span_id"})
_STRUCTLOG_RESERVED = frozenset({"event", "level", "timestamp", "exc_info", "exception"})
_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}
_STRUCTLOG_LEVELS = {"exception": "ERROR", "warn": "WARNING", "fatal": "CRITICAL", "msg": "INFO", "log": "INFO"}


def attribute_value(value: Any) -> str:
    """An attribute as a string: None/bools/lists/tuples/dicts as compact JSON, anything else str(value)."""
    if isinstance(value, str):
        return value
    if type(value) is int:  # the common case first
        return str(value)
    if value is None or value is True or value is False:
        return _JSON_CONSTANTS[value]
    try:
        if isinstance(value, (dict, list, tuple)):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        return str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises, a circular structure...
        try:
            return repr(value)
        except Exception:  # noqa: BLE001
            return f"<unrepresentable {type(value).__name__}>"


def exception_info(exc_info: ExcInfo) -> ExceptionInfo:
    exc_type, exc, tb = exc_info
    module = getattr(exc_type, "__module__", "builtins")
    name = exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = f"<{name}: str() failed>"
    try:
        stack: str | None = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
    except Exception:  # noqa: BLE001
        stack = None
    return {"type": name, "message": message, "stack": stack}


def _resolve_exc_info(value: Any) -> ExcInfo | None:
    """exc_info as logging and structlog accept it: a 3-tuple, an exception, or True (the current one)."""
    if value is True:
        value = sys.exc_info()
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value  # type: ignore[return-value]
    return None


def _record_message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # noqa: BLE001 - wrong args must not lose the event
        return f"{attribute_value(record.msg)} (args {attribute_value(record.args)}: formatting failed: {exc!r})"


def _trace(explicit_trace: Any, explicit_span: Any) -> TraceContext:
    if isinstance(explicit_trace, str) and explicit_trace:
        return TraceContext(explicit_trace, explicit_span if isinstance(explicit_span, str) else None)
    return current_trace()


def _tenant(value: Any, origin: Origin) -> str:
    return value if isinstance(value, str) and value else origin.tenant


def event_from_record(record: logging.LogRecord, origin: Origin) -> LogEvent:
    """A stdlib LogRecord as a LogEvent."""
    fields = record.__dict__
    attributes = {"logger": record.name}
    for key, value in fields.items():
        if key not in _RECORD_FIELDS and key not in _PROMOTED:
            attributes[key] = attribute_value(value)
    if record.stack_info:
        attributes["stack_info"] = record.stack_info
    exc_info = _resolve_exc_info(record.exc_info)
    trace = _trace(fields.get("trace_id"), fields.get("span_id"))
    return {
        "event_id": new_event_id(),
        "timestamp": int(record.created * 1000),
        "service": origin.service,
        "environment": origin.environment,
        "level": record.levelname,
        "message": _record_message(record),
        "trace_id": trace.trace_id,
        "span_id": trace.span_id,
        "tenant": _tenant(fields.get("tenant"), origin),
        "attributes": attributes,
        "exception": exception_info(exc_info) if exc_info else None,
    }


def _structlog_timestamp(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value * 1000)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            pass
    return int(time.time() * 1000)


def _formatted_exception(text: str) -> ExceptionInfo:
    """An exception structlog's format_exc_info already rendered: the type and message are its last line."""
    last = text.rstrip().splitlines()[-1] if text.strip() else ""
    name, _, message = last.partition(": ")
    return {"type": name or "Exception", "message": message, "stack": text.rstrip("\n")}


def event_from_structlog(method_name: str, event_dict: Mapping[str, Any], origin: Origin) -> LogEvent:
    """A structlog event dict (as a processor sees it) as a LogEvent."""
    level = event_dict.get("level") or _STRUCTLOG_LEVELS.get(method_name, method_name)
    exc_info = _resolve_exc_info(event_dict.get("exc_info"))
    if exc_info is None and method_name == "exception":
        exc_info = _resolve_exc_info(True)
    exception: ExceptionInfo | None = exception_info(exc_info) if exc_info else None
    if exception is None and isinstance(event_dict.get("exception"), str):
        exception = _formatted_exception(event_dict["exception"])
    attributes = {
        key: attribute_value(value)
        for key, value in event_dict.items()
        if key not in _STRUCTLOG_RESERVED and key not in _PROMOTED
    }
    trace = _trace(event_dict.get("trace_id"), event_dict.get("span_id"))
    return {
        "event_id": new_event_id(),
        "timestamp": _structlog_timestamp(event_dict.get("timestamp")),
        "service": origin.service,
        "environment": origin.environment,
        "level": str(level).upper(),
        "message": attribute_value(event_dict.get("event", "")),
        "trace_id": trace.trace_id,
        "span_id": trace.span_id,
        "tenant": _tenant(event_dict.get("tenant"), origin),
        "attributes": attributes,
        "exception": exception,
    }
