"""Records (stdlib and structlog) to LogEvents: pure mapping, no broker."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from loglane.catalog import schema_text
from loglane.sdk import (
    LogEvent,
    Origin,
    current_trace,
    event_from_record,
    event_from_structlog,
    loglane_processor,
    reset_trace_context,
    set_trace_context,
    trace_context,
)
from loglane.sdk.context import otel_available

ORIGIN = Origin("checkout", "prod")
SCHEMA = parse_schema(json.loads(schema_text("log_event.avsc")))
HEX32 = re.compile(r"^[0-9a-f]{32}$")


class PaymentDeclined(Exception):
    pass


def record(level: int = logging.INFO, msg: str = "charged %s", args: Any = ("order-1",), **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("shop.payments")
    made = logger.makeRecord(logger.name, level, "shop.py", 10, msg, args, None, extra=extra or None)
    return made


def assert_fits_schema(event: LogEvent) -> None:
    assert validate(event, SCHEMA, raise_errors=True)


@pytest.mark.parametrize(
    ("level", "name"),
    [(logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARNING"), (logging.ERROR, "ERROR"), (logging.CRITICAL, "CRITICAL"), (25, "Level 25")],
)
def test_level_is_the_level_name(level: int, name: str) -> None:
    event = event_from_record(record(level), ORIGIN)
    assert event["level"] == name
    assert_fits_schema(event)


def test_fields_come_from_the_origin_and_the_record() -> None:
    made = record()
    event = event_from_record(made, ORIGIN)
    assert event["service"] == "checkout" and event["environment"] == "prod" and event["tenant"] == "default"
    assert event["message"] == "charged order-1"
    assert event["timestamp"] == int(made.created * 1000)
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", event["event_id"])
    assert event["exception"] is None
    assert event["attributes"] == {"logger": "shop.payments"}


def test_a_message_whose_args_do_not_fit_is_kept_raw() -> None:
    event = event_from_record(record(msg="charged %s and %s", args=("one",)), ORIGIN)
    assert event["message"].startswith("charged %s and %s") and "one" in event["message"]


def test_extra_fields_become_string_attributes() -> None:
    class Odd:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            return "<Odd>"

    event = event_from_record(
        record(user="ana", amount_cents=1299, ratio=0.5, retried=True, coupon=None, items=["a", 1], meta={"k": 2}, odd=Odd()),
        ORIGIN,
    )
    assert event["attributes"] == {
        "logger": "shop.payments",
        "user": "ana",
        "amount_cents": "1299",
        "ratio": "0.5",
        "retried": "true",
        "coupon": "null",
        "items": '["a",1]',
        "meta": '{"k":2}',
        "odd": "<Odd>",
    }
    assert_fits_schema(event)


def test_tenant_and_trace_extras_become_fields_not_attributes() -> None:
    event = event_from_record(record(tenant="acme", trace_id="a" * 32, span_id="b" * 16), ORIGIN)
    assert event["tenant"] == "acme"
    assert (event["trace_id"], event["span_id"]) == ("a" * 32, "b" * 16)
    assert set(event["attributes"]) == {"logger"}


def test_exception_type_message_and_stack() -> None:
    logger = logging.getLogger("shop.payments")
    try:
        raise PaymentDeclined("card expired")
    except PaymentDeclined:
        made = logger.makeRecord(logger.name, logging.ERROR, "shop.py", 1, "declined", (), sys.exc_info())
    event = event_from_record(made, ORIGIN)
    exception = event["exception"]
    assert exception is not None
    assert exception["type"] == f"{__name__}.PaymentDeclined"
    assert exception["message"] == "card expired"
    assert exception["stack"] and exception["stack"].startswith("Traceback") and "test_exception_type_message_and_stack" in exception["stack"]
    assert_fits_schema(event)


def test_builtin_exception_type_is_unqualified_and_empty_exc_info_is_none() -> None:
    try:
        {}["missing"]
    except KeyError:
        made = record(logging.ERROR)
        made.exc_info = sys.exc_info()
    assert event_from_record(made, ORIGIN)["exception"]["type"] == "KeyError"  # type: ignore[index]
    made.exc_info = (None, None, None)  # logger.exception() outside an except block
    assert event_from_record(made, ORIGIN)["exception"] is None


def test_stack_info_is_an_attribute() -> None:
    made = record()
    made.stack_info = "Stack (most recent call last):\n  ..."
    assert event_from_record(made, ORIGIN)["attributes"]["stack_info"].startswith("Stack")


# -- trace context ---------------------------------------------------------------------------


def test_without_any_context_each_event_gets_a_fresh_trace_id() -> None:
    first, second = event_from_record(record(), ORIGIN), event_from_record(record(), ORIGIN)
    assert HEX32.match(first["trace_id"]) and HEX32.match(second["trace_id"])
    assert first["trace_id"] != second["trace_id"]
    assert first["span_id"] is None


def test_the_context_variable_sets_trace_and_span() -> None:
    token = set_trace_context("c" * 32, "d" * 16)
    try:
        event = event_from_record(record(), ORIGIN)
    finally:
        reset_trace_context(token)
    assert (event["trace_id"], event["span_id"]) == ("c" * 32, "d" * 16)
    with trace_context() as context:
        assert event_from_record(record(), ORIGIN)["trace_id"] == context.trace_id
        assert HEX32.match(context.trace_id)
    assert current_trace().trace_id != context.trace_id


@pytest.mark.skipif(not otel_available(), reason="opentelemetry-api is not installed")
def test_the_active_opentelemetry_span_wins_over_the_context_variable() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    span = NonRecordingSpan(SpanContext(trace_id=0x1234, span_id=0xABC, is_remote=False, trace_flags=TraceFlags(1)))
    with trace_context("e" * 32, "f" * 16), trace.use_span(span):
        event = event_from_record(record(), ORIGIN)
    assert event["trace_id"] == f"{0x1234:032x}" and event["span_id"] == f"{0xABC:016x}"
    with trace_context("e" * 32, "f" * 16):  # no active span: the context variable
        assert event_from_record(record(), ORIGIN)["trace_id"] == "e" * 32


# -- structlog -------------------------------------------------------------------------------


def test_structlog_event_dict_mapping() -> None:
    event = event_from_structlog(
        "warning", {"event": "slow query", "timestamp": 1_700_000_000.5, "logger": "db", "ms": 812, "tenant": "acme"}, ORIGIN
    )
    assert event["level"] == "WARNING" and event["message"] == "slow query"
    assert event["timestamp"] == 1_700_000_000_500
    assert event["tenant"] == "acme"
    assert event["attributes"] == {"logger": "db", "ms": "812"}
    assert_fits_schema(event)
    assert event_from_structlog("info", {"event": "x", "level": "debug"}, ORIGIN)["level"] == "DEBUG"
    assert event_from_structlog("msg", {"event": "x"}, ORIGIN)["level"] == "INFO"
    iso = event_from_structlog("info", {"event": "x", "timestamp": "2026-01-02T03:04:05+00:00"}, ORIGIN)
    assert iso["timestamp"] == 1_767_323_045_000


def test_structlog_exceptions_raw_and_preformatted() -> None:
    try:
        raise PaymentDeclined("limit")
    except PaymentDeclined:
        live = event_from_structlog("exception", {"event": "declined"}, ORIGIN)
    assert live["level"] == "ERROR" and live["exception"]["message"] == "limit"  # type: ignore[index]
    text = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad amount\n"
    formatted = event_from_structlog("error", {"event": "e", "exception": text}, ORIGIN)
    assert formatted["exception"] == {"type": "ValueError", "message": "bad amount", "stack": text.rstrip("\n")}
    assert "exception" not in formatted["attributes"]


class Collector:
    """Stands in for a LoglaneHandler: the processor calls emit_structlog."""

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def emit_structlog(self, method_name: str, event_dict: dict[str, Any]) -> None:
        self.events.append(event_from_structlog(method_name, event_dict, ORIGIN))


def test_structlog_processor_ships_and_passes_the_event_on() -> None:
    structlog = pytest.importorskip("structlog")
    collector = Collector()
    logger = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[structlog.processors.add_log_level, loglane_processor(collector), structlog.processors.KeyValueRenderer(sort_keys=True)],  # type: ignore[arg-type]
    )
    rendered = logger.info("paid", order="o-1")
    assert rendered == "event='paid' level='info' order='o-1'"
    (event,) = collector.events
    assert event["message"] == "paid" and event["level"] == "INFO" and event["attributes"] == {"order": "o-1"}
    dropping = structlog.wrap_logger(structlog.ReturnLogger(), processors=[loglane_processor(collector, drop=True)])  # type: ignore[arg-type]
    assert dropping.info("only to kafka") is None
    assert collector.events[-1]["message"] == "only to kafka"
