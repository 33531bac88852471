"""One raw record in, exactly one record out: the stages in order, and the first refusal becomes a
dead letter. Shared by the agent and its tests; the registry is injected (schemas, writers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro.types import Schema

from loglane import catalog
from loglane.errors import ConfigError
from loglane.settings import Settings
from loglane.avro import AvroWriter, RegistryUnavailable
from streams.registry import RegistrySchemas
from streams.stages.build import dead_letter, processed
from streams.stages.decode import SchemaSource, decode, parse
from streams.stages.mask import mask
from streams.stages.types import ErrorKind, ProcessedLogEvent, RawRecord, Rejection
from streams.stages.validate import validate

log = logging.getLogger(__name__)

Writer = Callable[[dict[str, Any]], bytes]
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # seconds between attempts while the registry is out


@dataclass(frozen=True)
class Output:
    role: str  # the catalog role of the topic it goes to: processed or deadletter
    key: bytes | None
    value: bytes


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Pipeline:
    def __init__(
        self,
        schemas: SchemaSource,
        reader: Schema,
        write_processed: Writer,
        write_dead_letter: Writer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._schemas = schemas
        self._reader = reader
        self._write_processed = write_processed
        self._write_dead_letter = write_dead_letter
        self._clock = clock

    def handle(self, record: RawRecord) -> Output:
        """Raises only RegistryUnavailable (retry the record later); anything else is an output."""
        now = self._clock()
        try:
            outcome = self._stages(record, now)
            if isinstance(outcome, Rejection):
                return self._dead(outcome, record, now)
            # Keyed by service: one service's events stay in order within a partition.
            return Output("processed", outcome["service"].encode(), self._write_processed(outcome))
        except RegistryUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the record: dead-letter it
            log.exception("internal error on %s[%d]@%d", record.topic, record.partition, record.offset)
            reason = f"{type(exc).__name__}: {exc} (a loglane bug; the worker log has the traceback)"
            return self._dead(Rejection("process", ErrorKind.INTERNAL, reason), record, now)

    def _stages(self, record: RawRecord, now: datetime) -> ProcessedLogEvent | Rejection:
        decoded = decode(record.value, self._schemas, self._reader)
        if isinstance(decoded, Rejection):
            return decoded
        valid = validate(decoded, now)
        if isinstance(valid, Rejection):
            return valid
        masked = mask(valid)
        return processed(masked.event, masked.replaced, record, now)

    def _dead(self, rejection: Rejection, record: RawRecord, now: datetime) -> Output:
        return Output("deadletter", record.key, self._write_dead_letter(dead_letter(rejection, record, now)))


async def handle_until_done(
    pipeline: Pipeline, record: RawRecord, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> Output:
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


def from_settings(settings: Settings) -> Pipeline:
    """The production pipeline: topics and schema files from the catalog, the registry from settings."""
    client = SchemaRegistryClient({"url": settings.registry_url})
    raw = catalog.topic("raw")
    if raw.value_schema is None:
        raise ConfigError(f"topics.yaml: topic {raw.name!r} (role raw) names no value_schema")
    return Pipeline(
        RegistrySchemas(client),
        parse(catalog.schema_text(raw.value_schema)),
        AvroWriter(client, catalog.topic("processed")),
        AvroWriter(client, catalog.topic("deadletter")),
    )
