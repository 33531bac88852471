"""What one gateway runs with, resolved once from the settings (LOGLANE_GATEWAY_*, README)."""

from __future__ import annotations

from dataclasses import dataclass

from loglane import catalog
from loglane.errors import ConfigError
from loglane.gateway.auth import TokenStore
from loglane.settings import Settings

__all__ = ["GatewayConfig"]

SCHEMA_FILE = "log_event.avsc"


@dataclass(frozen=True)
class GatewayConfig:
    tokens: TokenStore
    topic: str
    schema_text: str
    kafka_bootstrap: str
    registry_url: str
    rate_limit: float = 5000.0
    rate_burst: int = 20000
    max_batch_events: int = 10000
    max_body_bytes: int = 16 * 1024 * 1024
    max_inflight_events: int = 50000
    max_inflight_bytes: int = 32 * 1024 * 1024
    delivery_timeout: float = 30.0
    linger_ms: int = 5
    max_record_bytes: int = 900_000  # one Avro value; librdkafka's message.max.bytes is 1,000,000
    max_line_bytes: int = 1024 * 1024  # one upload line (JSON text)
    max_reported_rejections: int = 100  # per upload; batches report every rejection

    @property
    def subject(self) -> str:
        return f"{self.topic}-value"  # TopicNameStrategy, as catalog.TopicSpec.value_subject

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayConfig:
        if settings.gateway_tokens_file is None:
            raise ConfigError(
                "gateway: LOGLANE_GATEWAY_TOKENS_FILE is unset; point it at a YAML file of "
                "tenant: [sha256:<hex>, ...] (README, 'HTTP gateway')"
            )
        raw = catalog.topic("raw", settings.project_dir)
        if raw.value_schema != SCHEMA_FILE:
            raise ConfigError(f"topics.yaml: the raw topic's value_schema is {raw.value_schema!r}; the gateway writes {SCHEMA_FILE}")
        return cls(
            tokens=TokenStore.from_file(settings.gateway_tokens_file),
            topic=settings.gateway_topic or raw.name,
            schema_text=catalog.schema_text(SCHEMA_FILE, settings.project_dir),
            kafka_bootstrap=settings.kafka_bootstrap,
            registry_url=settings.registry_url,
            rate_limit=settings.gateway_rate_limit,
            rate_burst=settings.gateway_rate_burst,
            max_batch_events=settings.gateway_max_batch_events,
            max_body_bytes=settings.gateway_max_body_bytes,
            max_inflight_events=settings.gateway_max_inflight_events,
            max_inflight_bytes=settings.gateway_max_inflight_bytes,
            delivery_timeout=settings.gateway_delivery_timeout,
            linger_ms=settings.gateway_linger_ms,
        )
