"""loglane's Python logging SDK: a stdlib logging handler and a structlog processor that ship
LogEvents to Kafka (Avro through the schema registry), never blocking the application and never
losing an event silently.

    import logging
    from loglane.sdk import LoglaneHandler

    handler = LoglaneHandler(service="checkout", environment="prod")
    logging.getLogger().addHandler(handler)
    logging.getLogger("checkout").info("charged %s", "order-17", extra={"amount_cents": 1299})
    handler.stats()   # emitted, delivered, spooled, replayed, dropped by reason, ...
"""

from loglane.sdk.context import (
    TraceContext,
    current_trace,
    reset_trace_context,
    set_trace_context,
    trace_context,
)
from loglane.sdk.errors import InvalidEvent, SdkConfigError, SdkError, SpoolError, SpoolFull
from loglane.sdk.event import ExceptionInfo, LogEvent, Origin, event_from_record, event_from_structlog
from loglane.sdk.handler import AvroEventSerializer, LoglaneHandler
from loglane.sdk.processor import loglane_processor
from loglane.sdk.shipper import HandlerStats

__all__ = [
    "AvroEventSerializer",
    "ExceptionInfo",
    "HandlerStats",
    "InvalidEvent",
    "LogEvent",
    "LoglaneHandler",
    "Origin",
    "SdkConfigError",
    "SdkError",
    "SpoolError",
    "SpoolFull",
    "TraceContext",
    "current_trace",
    "event_from_record",
    "event_from_structlog",
    "loglane_processor",
    "reset_trace_context",
    "set_trace_context",
    "trace_context",
]
