"""`LoglaneHandler`: a stdlib logging handler that ships LogEvents to Kafka without ever blocking on it.

Life cycle: construct (runs `setup()`: producer, registry client, spool, shipper thread) -> `emit`
(the logging module calls it) -> `flush(timeout)` -> `close(timeout)`. An atexit hook closes a
handler the application did not close, within `close_timeout`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.validation import validate

from loglane.errors import ConfigError
from loglane.sdk.errors import InvalidEvent, SdkConfigError, SdkError
from loglane.sdk.event import LogEvent, Origin, event_from_record, event_from_structlog
from loglane.sdk.shipper import HandlerStats, Serializer, Shipper, ShipperConfig, Warner
from loglane.sdk.spool import FsyncPolicy, Spool, acquire_slot
from loglane.settings import Settings, get_settings


class AvroEventSerializer:
    """LogEvent -> Confluent-framed Avro bytes with confluent-kafka's AvroSerializer.

    The registry is contacted on the first call only (register or look up the schema under the
    topic's value subject), then the schema id is cached. Called from the shipper thread only.
    """

    def __init__(
        self, registry_url: str, topic: str, schema: str, *, auto_register: bool, client: Any = None
    ) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        self.client = client or SchemaRegistryClient({"url": registry_url, "timeout": 5, "max.retries": 1})
        self._serializer = AvroSerializer(self.client, schema, conf={"auto.register.schemas": auto_register})
        self._context = SerializationContext(topic, MessageField.VALUE)
        self._schema = parse_schema(json.loads(schema))

    def __call__(self, event: LogEvent) -> bytes:
        """The event's bytes; InvalidEvent if it does not fit the schema; anything else: registry trouble."""
        try:
            return self._serializer(event, self._context)  # type: ignore[return-value]
        except (TypeError, ValueError) as exc:  # the event's fault, or a registry answer that is not JSON?
            if not validate(event, self._schema, raise_errors=False):
                raise InvalidEvent(f"the event does not fit the LogEvent schema: {exc}") from exc
            raise


class LoglaneHandler(logging.Handler):
    """Ships every record it handles to Kafka as an Avro LogEvent, asynchronously.

    service, environment: the arguments, else LOGLANE_SERVICE / LOGLANE_ENVIRONMENT (environment
    defaults to "dev"). Kafka and the registry come from loglane settings (LOGLANE_KAFKA_BOOTSTRAP,
    LOGLANE_REGISTRY_URL) unless `settings` is given. The topic is the catalog's raw topic
    (topics.yaml role "raw") unless `topic` is given; the key is the service.

    emit() never blocks on the network and never raises. While Kafka or the registry is
    unreachable, or the in-memory buffer (`buffer_size` events) is full, events go to a spool under
    `spool_dir` (default: <LOGLANE_HOME>/spool/<service>) and are replayed in order afterwards. What
    cannot be kept (spool at `spool_max_bytes`, disk errors) is counted in `stats().dropped` and
    announced on stderr.
    """

    def __init__(
        self,
        service: str | None = None,
        environment: str | None = None,
        *,
        level: int | str = logging.NOTSET,
        tenant: str = "default",
        topic: str | None = None,
        settings: Settings | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        buffer_size: int = 50_000,
        spool_max_bytes: int = 256 * 1024 * 1024,
        fsync: FsyncPolicy = "interval",
        auto_register: bool = False,
        producer_config: Mapping[str, Any] | None = None,
        serializer: Serializer | None = None,
        flush_timeout: float = 10.0,
        close_timeout: float = 5.0,
        stall_timeout: float = 10.0,
    ) -> None:
        super().__init__(level)
        service = service or os.environ.get("LOGLANE_SERVICE")
        if not service:
            raise SdkConfigError("sdk: no service name; pass LoglaneHandler(service=...) or export LOGLANE_SERVICE")
        environment = environment or os.environ.get("LOGLANE_ENVIRONMENT") or "dev"
        if buffer_size < 1:
            raise SdkConfigError(f"sdk: buffer_size must be at least 1, not {buffer_size}")
        self.origin = Origin(service, environment, tenant)
        self.flush_timeout = flush_timeout
        self.close_timeout = close_timeout
        self._topic = topic
        self._settings = settings
        self._spool_root = Path(spool_dir) if spool_dir is not None else None
        self._buffer_size = buffer_size
        self._spool_max_bytes = spool_max_bytes
        self._fsync: FsyncPolicy = fsync
        self._auto_register = auto_register
        self._producer_overrides = dict(producer_config or {})
        self._serializer = serializer
        self._stall_timeout = stall_timeout
        self._shipper: Shipper | None = None
        self._spool: Spool | None = None
        self._lock_fd: int | None = None
        self._state_lock = threading.Lock()
        self._closed = False
        self.setup()

    # -- life cycle ------------------------------------------------------------------------
    def setup(self) -> None:
        """Open the spool, create the producer and start the shipper thread (idempotent)."""
        with self._state_lock:
            if self._shipper is not None or self._closed:
                return
            settings = self._settings or get_settings()
            topic = self._topic or _catalog_topic()
            try:
                serializer = self._serializer or AvroEventSerializer(
                    settings.registry_url, topic, _schema_text(), auto_register=self._auto_register
                )
            except ConfigError:
                raise
            except Exception as exc:
                raise SdkError(
                    f"sdk: cannot create the registry client for {_redacted(settings.registry_url)}: {exc}"
                ) from exc
            root = self._spool_root or settings.home / "spool" / self.origin.service
            directory, self._lock_fd = acquire_slot(root)
            spool = Spool(directory, max_bytes=self._spool_max_bytes, fsync=self._fsync)
            spool.open()
            config = ShipperConfig(
                topic=topic,
                producer_config=self._producer_config(settings),
                buffer_size=self._buffer_size,
                replay_window=min(self._buffer_size, 10_000),
                stall_timeout=self._stall_timeout,
                name=f"loglane[{self.origin.service}]",
            )
            shipper = Shipper(config, serializer, spool, Warner(config.name, config.warn_interval))
            try:
                shipper.start()
            except Exception as exc:
                spool.close()
                raise SdkError(f"sdk: cannot create the Kafka producer for {settings.kafka_bootstrap}: {exc}") from exc
            self._spool, self._shipper = spool, shipper
            atexit.register(self._at_exit)

    def _producer_config(self, settings: Settings) -> dict[str, Any]:
        return {
            "bootstrap.servers": settings.kafka_bootstrap,
            "client.id": f"loglane-sdk-{self.origin.service}",
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            # The Java client's partitioner, as the gateway and Faust use: a service's events land
            # on one partition whichever producer wrote them.
            "partitioner": "murmur2_random",
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "message.timeout.ms": 0,  # never expire: an expired batch could be overtaken by a later one
            "queue.buffering.max.messages": self._buffer_size,
            "queue.buffering.max.kbytes": 65_536,
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 2_000,
            "log.connection.close": False,
            "log_level": 0,  # librdkafka's connection chatter; its errors reach error_cb, outages are announced
            **self._producer_overrides,
        }

    def emit(self, record: logging.LogRecord) -> None:
        shipper = self._shipper
        if shipper is None or shipper.is_own_thread():
            return  # the SDK's own I/O (its registry HTTP client): shipping it could feed back on itself
        try:
            event = event_from_record(record, self.origin)
        except Exception as exc:  # noqa: BLE001 - never raise into the application
            shipper.reject("internal", f"cannot turn a record into a LogEvent: {exc!r}")
            return
        shipper.submit(event)

    def emit_structlog(self, method_name: str, event_dict: Mapping[str, Any]) -> None:
        """Ship a structlog event (what `loglane_processor` calls). Never raises."""
        shipper = self._shipper
        if shipper is None or shipper.is_own_thread():
            return
        try:
            event = event_from_structlog(method_name, event_dict, self.origin)
        except Exception as exc:  # noqa: BLE001 - never raise into the application
            shipper.reject("internal", f"cannot turn a structlog event into a LogEvent: {exc!r}")
            return
        shipper.submit(event)

    def submit(self, event: LogEvent) -> None:
        """Ship an already-built LogEvent. Never raises."""
        shipper = self._shipper
        if shipper is not None:
            shipper.submit(event)

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]  # logging ignores the result
        """Wait until every event so far is delivered, in memory and in the spool; False on timeout."""
        shipper = self._shipper
        if shipper is None:
            return True
        if self._closed:  # what is left stays in the spool
            stats = shipper.stats()
            return stats.buffered == 0 and stats.spool_bytes == 0
        return shipper.flush(self.flush_timeout if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what can be delivered within timeout, keep the rest in the spool, stop. Idempotent."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._at_exit)
        if self._shipper is not None:
            self._shipper.close(self.close_timeout if timeout is None else timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        super().close()

    def _at_exit(self) -> None:
        self.close(self.close_timeout)

    # -- observation -----------------------------------------------------------------------
    def stats(self) -> HandlerStats:
        if self._shipper is None:
            raise SdkError("sdk: the handler is not set up")
        return self._shipper.stats()

    @property
    def spool_directory(self) -> Path | None:
        return self._spool.directory if self._spool else None

    def __repr__(self) -> str:
        return f"<LoglaneHandler service={self.origin.service} environment={self.origin.environment}>"


def _catalog_topic() -> str:
    from loglane.catalog import topic

    return topic("raw").name


def _schema_text() -> str:
    from loglane.catalog import schema_text

    return schema_text("log_event.avsc")


def _redacted(url: str) -> str:
    """A URL without user:password@."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep else url
