"""One raw record in, its outputs out: the stages in order. A valid event becomes a processed record
(plus one per route it matches); a refusal becomes one dead letter; an event sampled out or
repeated becomes nothing, counted by reason. Shared by the agent, its tests, the CLI filters and
the benchmark; the registry (schemas, writers), the dedup store and the service catalog are injected.

    decode -> validate -> parse -> normalize -> enrich -> sample -> dedup -> mask -> build -> route
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro.types import Schema

from loglane import catalog
from loglane.avro import AvroWriter, RegistryUnavailable
from loglane.errors import ConfigError
from loglane.settings import Settings
from streams import rules as rule_files
from streams.metrics import StreamMetrics
from streams.registry import RegistrySchemas
from streams.rules import Rules
from streams.stages import dedup as dedup_stage
from streams.stages import sample as sample_stage
from streams.stages.build import dead_letter, processed
from streams.stages.decode import SchemaSource, decode, parse as parse_schema
from streams.stages.dedup import Deduplicator, MemorySeen, SeenStore
from streams.stages.enrich import NO_SERVICES, ServiceLookup, enrich
from streams.stages.mask import mask
from streams.stages.normalize import FLAG, normalize
from streams.stages.parse import PARSER, parse
from streams.stages.route import route
from streams.stages.sample import sample
from streams.stages.types import ErrorKind, LogEvent, ProcessedLogEvent, RawRecord, Rejection
from streams.stages.validate import validate

log = logging.getLogger(__name__)

Writer = Callable[[dict[str, Any]], bytes]
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # seconds between attempts while the registry is out
PROCESSED, DEADLETTER = "processed", "deadletter"


@dataclass(frozen=True)
class Output:
    role: str  # the catalog role of the topic it goes to: processed, deadletter, or a route's
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Drop:
    """An event left out on purpose: by which stage, and why (the sampling rule; event_id or content)."""

    stage: str
    reason: str


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _Timer:
    """Seconds per stage, added to the metrics (one perf_counter per stage boundary)."""

    def __init__(self, metrics: StreamMetrics) -> None:
        self._metrics = metrics
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self._metrics.inc("loglane_stream_stage_seconds", stage, amount=now - self._last)
        self._last = now


class Pipeline:
    def __init__(
        self,
        schemas: SchemaSource,
        reader: Schema,
        writers: Mapping[str, Writer],
        rules: Rules,
        dedup: Deduplicator | None = None,
        metrics: StreamMetrics | None = None,
        clock: Callable[[], datetime] = utc_now,
        services: ServiceLookup = NO_SERVICES,
    ) -> None:
        missing = sorted({PROCESSED, DEADLETTER, *rules.routing.roles} - set(writers))
        if missing:
            raise ConfigError(f"the pipeline has no writer for role(s) {', '.join(missing)}")
        self._schemas = schemas
        self._reader = reader
        self._writers = writers
        self._rules = rules
        self._dedup = dedup
        self.metrics = metrics or StreamMetrics()
        self._clock = clock
        self._services = services

    def handle(self, record: RawRecord) -> list[Output]:
        """Raises only RegistryUnavailable (retry the record later); anything else is an outcome:
        the outputs to send (none when the event was dropped on purpose)."""
        now = self._clock()
        timer = _Timer(self.metrics)
        try:
            outcome = self._stages(record, now, timer)
            if isinstance(outcome, Rejection):
                return [self._dead(outcome, record, now)]
            if isinstance(outcome, Drop):
                self.metrics.inc("loglane_stream_records", "dropped")
                self.metrics.inc("loglane_stream_dropped", outcome.stage, outcome.reason)
                return []
            outputs = self._outputs(outcome)
            timer.lap("write")
            self.metrics.inc("loglane_stream_records", PROCESSED)
            return outputs
        except RegistryUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the record: dead-letter it
            log.exception("internal error on %s[%d]@%d", record.topic, record.partition, record.offset)
            reason = f"{type(exc).__name__}: {exc} (a loglane bug; the worker log has the traceback)"
            return [self._dead(Rejection("process", ErrorKind.INTERNAL, reason), record, now)]

    def _stages(self, record: RawRecord, now: datetime, timer: _Timer) -> ProcessedLogEvent | Rejection | Drop:
        decoded = decode(record.value, self._schemas, self._reader)
        timer.lap("decode")
        if isinstance(decoded, Rejection):
            return decoded
        valid = validate(decoded)
        timer.lap("validate")
        if isinstance(valid, Rejection):
            return valid
        parsed = parse(valid, self._rules.parser, now)
        timer.lap("parse")
        normal = normalize(parsed, now, self._rules.normalize, record.timestamp)
        timer.lap("normalize")
        if isinstance(normal, Rejection):
            return normal
        # Before sample: sampling rules then see region and tier, should the matcher learn those keys;
        # an event that is then dropped cost two lookups more.
        enriched = enrich(normal, self._rules.enrich, self._services)
        timer.lap("enrich")
        dropped_by = sample(enriched, self._rules.sampling)
        timer.lap("sample")
        if dropped_by is not None:
            return Drop(sample_stage.STAGE, dropped_by)
        if self._dedup is not None:
            repeat = self._dedup.check(enriched, record, now)
            timer.lap("dedup")
            if repeat is not None:
                return Drop(dedup_stage.STAGE, repeat)
        masked = mask(enriched, self._rules.pii)
        timer.lap("mask")
        self._count(normal, masked.kinds)
        return processed(masked.event, masked.replaced, record, now)

    def _count(self, event: LogEvent, kinds: Mapping[str, int]) -> None:
        for kind, count in kinds.items():
            self.metrics.inc("loglane_stream_pii_masked", kind, amount=count)
        attributes = event["attributes"]
        if FLAG in attributes:
            for flag in attributes[FLAG].split(","):
                self.metrics.inc("loglane_stream_flagged", flag)
        if PARSER in attributes:
            self.metrics.inc("loglane_stream_parsed", attributes[PARSER])

    def _outputs(self, event: ProcessedLogEvent) -> list[Output]:
        # Keyed by service: one service's events stay in order within a partition.
        key = event["service"].encode()
        outputs = [Output(PROCESSED, key, self._writers[PROCESSED](event))]
        for role in route(event, self._rules.routing):
            outputs.append(Output(role, key, self._writers[role](event)))
            self.metrics.inc("loglane_stream_routed", role)
        return outputs

    def _dead(self, rejection: Rejection, record: RawRecord, now: datetime) -> Output:
        self.metrics.inc("loglane_stream_records", DEADLETTER)
        self.metrics.inc("loglane_stream_dead_letters", rejection.stage, str(rejection.error_kind))
        return Output(DEADLETTER, record.key, self._writers[DEADLETTER](dead_letter(rejection, record, now)))


async def handle_until_done(
    pipeline: Pipeline, record: RawRecord, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> list[Output]:
    """pipeline.handle, retried with backoff while the registry is out: an outage neither skips
    nor dead-letters a record; the partition waits."""
    delay = RETRY_FIRST
    while True:
        try:
            return pipeline.handle(record)
        except RegistryUnavailable as exc:
            log.warning("%s; retrying %s[%d]@%d in %.0fs", exc, record.topic, record.partition, record.offset, delay)
            await sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


def output_roles(rules: Rules) -> list[str]:
    """Every role the pipeline writes to."""
    return [PROCESSED, DEADLETTER, *[role for role in rules.routing.roles if role not in (PROCESSED, DEADLETTER)]]


def from_settings(
    settings: Settings,
    seen: SeenStore | None = None,
    metrics: StreamMetrics | None = None,
    services: ServiceLookup = NO_SERVICES,
) -> Pipeline:
    """The production pipeline: topics and schema files from the catalog, the registry and the
    dedup window from settings, the rules from the project's rules/. Without a seen store, dedup
    keeps its sightings in memory; without a service catalog, events get no owner_team or tier."""
    client = SchemaRegistryClient({"url": settings.registry_url})
    raw = catalog.topic("raw")
    if raw.value_schema is None:
        raise ConfigError(f"topics.yaml: topic {raw.name!r} (role raw) names no value_schema")
    rules = rule_files.load(settings.project_dir, settings.pii_hmac_key)
    window = timedelta(seconds=settings.dedup_window)
    return Pipeline(
        RegistrySchemas(client),
        parse_schema(catalog.schema_text(raw.value_schema)),
        {role: AvroWriter(client, catalog.topic(role)) for role in output_roles(rules)},
        rules,
        Deduplicator(seen if seen is not None else MemorySeen(window), window),
        metrics,
        services=services,
    )
