"""A structlog processor that ships each event through a LoglaneHandler.

    handler = LoglaneHandler(service="checkout")
    structlog.configure(processors=[
        structlog.processors.add_log_level,
        loglane_processor(handler),          # ships, then passes the event on unchanged
        structlog.processors.JSONRenderer(),
    ])

structlog is not a dependency of loglane: the processor is a plain callable.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from loglane.sdk.handler import LoglaneHandler

EventDict = MutableMapping[str, Any]
Processor = Callable[[Any, str, EventDict], EventDict]


def loglane_processor(handler: LoglaneHandler, *, drop: bool = False) -> Processor:
    """A processor shipping every event to handler; with drop=True the event goes no further
    (structlog.DropEvent), for set-ups where Kafka is the only destination."""

    def ship(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        handler.emit_structlog(method_name, event_dict)
        if drop:
            import structlog

            raise structlog.DropEvent
        return event_dict

    return ship
