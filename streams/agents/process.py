"""raw -> processed (+ routes) | deadletter | nothing (sampled out, repeated): the agent reads,
calls the pipeline, sends, acks."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import faust
from faust.types import EventT, TopicT

from loglane import catalog
from loglane.settings import get_settings
from streams import pipeline
from streams.app import app, offsets
from streams.metrics import StreamMetrics
from streams.stages.types import RawRecord
from streams.tables import TableSeen, dedup, service_catalog

log = logging.getLogger(__name__)
settings = get_settings()
raw_topic = app.topic(catalog.topic("raw").name, acks=False)
metrics = StreamMetrics()
_outputs: dict[str, TopicT] = {}


def output_topic(role: str) -> TopicT:
    """The topic of a role (processed, deadletter, a route's), created on first use."""
    if role not in _outputs:
        _outputs[role] = app.topic(catalog.topic(role).name)
    return _outputs[role]


def record_of(event: EventT[bytes]) -> RawRecord:
    message = event.message
    # Kafka's timestamp of the record (seconds; None or negative when the producer set none).
    received = datetime.fromtimestamp(message.timestamp, timezone.utc) if (message.timestamp or 0) > 0 else None
    return RawRecord(message.topic, message.partition, message.offset, event.key, event.value, received)


@app.agent(raw_topic, concurrency=1)
async def process(stream: faust.StreamT[bytes]) -> None:
    stages = pipeline.from_settings(settings, seen=TableSeen(dedup), metrics=metrics, services=service_catalog)
    async for event in stream.events():
        if not await offsets.admit(event.message):
            continue  # processed already, or to be read again after a hole (streams.offsets)
        for output in await pipeline.handle_until_done(stages, record_of(event)):
            await output_topic(output.role).send(key=output.key, value=output.value)
        # Done only now: a record interrupted mid-way (shutdown during a registry outage) is not
        # committed, so it is read again.
        offsets.done(event.message)


@app.timer(settings.stream_metrics_log_interval)
async def log_counters() -> None:
    log.info("stream: %s", metrics.summary())


@app.task
async def serve_metrics() -> None:
    """Prometheus /metrics on 127.0.0.1:LOGLANE_STREAM_METRICS_PORT, when set; a port in use is
    logged, not fatal (the log line of log_counters still sums the counters up)."""
    port = settings.stream_metrics_port
    if port is None:
        return
    try:
        metrics.serve(port)
    except OSError as exc:
        log.error("stream: cannot serve metrics on 127.0.0.1:%d (LOGLANE_STREAM_METRICS_PORT): %s", port, exc)
        return
    log.info("stream: metrics on http://127.0.0.1:%d/metrics", port)
