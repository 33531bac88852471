"""Which trace an event belongs to: the active OpenTelemetry span, else the caller's context, else a fresh id.

Code without OpenTelemetry sets the trace per request::

    with trace_context("4bf92f3577b34da6a3ce929d0e0e4736"):
        log.info("charged card")

The context variable follows threads' and asyncio tasks' own contexts, like any ContextVar.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

try:  # opentelemetry-api is optional; without it only the context variable counts
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the environment
    _otel_trace = None


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str | None = None


_current: ContextVar[TraceContext | None] = ContextVar("loglane_trace_context", default=None)


def set_trace_context(trace_id: str, span_id: str | None = None) -> Token[TraceContext | None]:
    """Make trace_id (and span_id) the trace of every event logged in this context; returns a reset token."""
    return _current.set(TraceContext(trace_id, span_id))


def reset_trace_context(token: Token[TraceContext | None]) -> None:
    _current.reset(token)


@contextmanager
def trace_context(trace_id: str | None = None, span_id: str | None = None) -> Iterator[TraceContext]:
    """Within the block, events carry trace_id (a fresh one when None) and span_id."""
    context = TraceContext(trace_id or new_trace_id(), span_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def new_trace_id() -> str:
    """A W3C-style trace id: 32 lowercase hex digits."""
    return os.urandom(16).hex()


def new_event_id() -> str:
    """A random (version 4) UUID as text; twice as fast as str(uuid.uuid4()) on the emit path."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def otel_available() -> bool:
    return _otel_trace is not None


def current_trace() -> TraceContext:
    """The active OpenTelemetry span's ids, else the context variable's, else a fresh trace id."""
    if _otel_trace is not None:
        span_context = _otel_trace.get_current_span().get_span_context()
        if span_context.is_valid:
            return TraceContext(format(span_context.trace_id, "032x"), format(span_context.span_id, "016x"))
    context = _current.get()
    if context is not None:
        return context
    return TraceContext(new_trace_id())
