"""Every address and credential loglane uses, from LOGLANE_* variables and an optional file.

Precedence: environment variables, then the YAML file named by LOGLANE_CONFIG (or
./loglane.yaml when present), then the defaults, which point at the local stack.
Point loglane at existing services by setting the URLs, e.g.
``LOGLANE_KAFKA_BOOTSTRAP=broker-1:9092 LOGLANE_REGISTRY_URL=https://sr.example/apis/ccompat/v7``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from loglane.errors import ConfigError


def _config_file() -> Path | None:
    named = os.environ.get("LOGLANE_CONFIG")
    if named:
        return Path(named)
    local = Path("loglane.yaml")
    return local if local.exists() else None


def _default_home() -> Path:
    # As root, a system path: servers that refuse root run as a system user and cannot enter /root.
    return Path("/var/lib/loglane") if os.geteuid() == 0 else Path.home() / ".loglane"


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the optional YAML file; keys are the field names without the LOGLANE_ prefix."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = _config_file()
        self.data: dict[str, Any] = {}
        if path is None:
            return
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"settings file {path}: cannot read it: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"settings file {path}: expected a mapping of setting: value")
        self.data = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOGLANE_", extra="forbid", frozen=True)

    home: Path = Field(
        default_factory=_default_home,
        description="Where the local stack keeps downloads (cache/) and state (stack/: data, logs, pid files).",
    )
    project_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1],
        description="The loglane project: topics.yaml, schemas/, connectors/, opensearch/ (default: this checkout).",
    )
    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    registry_url: str = Field(
        "http://127.0.0.1:8081/apis/ccompat/v7",
        description="Base URL of a Confluent-compatible schema registry API.",
    )
    connect_url: str = Field("http://127.0.0.1:8083", description="Kafka Connect REST URL.")
    stream_app_id: str = Field(
        "loglane-stream",
        description="The stream worker's Faust app id: its consumer group and the prefix of its internal topics.",
    )
    opensearch_url: str = Field("http://127.0.0.1:9200", description="OpenSearch URL.")
    opensearch_username: str | None = Field(None, description="OpenSearch user, if security is on.")
    opensearch_password: SecretStr | None = Field(None, description="OpenSearch password.")
    postgres_host: str = Field("127.0.0.1", description="PostgreSQL host.")
    postgres_port: int = Field(5432, description="PostgreSQL port.")
    postgres_db: str = Field("loglane", description="PostgreSQL database for processed events.")
    postgres_user: str = Field("loglane", description="PostgreSQL role.")
    postgres_password: SecretStr = Field(
        SecretStr("loglane-local"), description="PostgreSQL password (local stack default)."
    )
    s3_endpoint: str = Field("http://127.0.0.1:9000", description="S3-compatible endpoint URL.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_bucket: str = Field("loglane-archive", description="Bucket the archive connector writes to.")
    s3_access_key_id: str = Field("loglane-local", description="S3 access key id.")
    s3_secret_access_key: SecretStr = Field(
        SecretStr("loglane-local-secret"), description="S3 secret access key."
    )
    # The HTTP gateway (`loglane gateway`; README, "HTTP gateway").
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on (--host).")
    gateway_port: int = Field(8088, description="Port the gateway listens on (--port).")
    gateway_tokens_file: Path | None = Field(
        None, description="YAML file of tenant: [sha256:<hex of token>, ...]; the gateway refuses to start without it."
    )
    gateway_topic: str | None = Field(
        None, description="Topic the gateway writes to (default: the raw topic of topics.yaml)."
    )
    gateway_rate_limit: float = Field(
        5000.0, gt=0, description="Events per second per token (a tenant may set its own in the tokens file)."
    )
    gateway_rate_burst: int = Field(20000, ge=1, description="Events a token may send at once before the rate applies.")
    gateway_max_batch_events: int = Field(10000, ge=1, description="Most events in one batch request (413 beyond).")
    gateway_max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest single/batch request body, after decompression (413 beyond)."
    )
    gateway_max_inflight_events: int = Field(
        50000, ge=1, description="Events produced but not yet acknowledged by Kafka, at most (503 beyond)."
    )
    gateway_max_inflight_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Bytes produced but not yet acknowledged by Kafka, at most (503 beyond)."
    )
    gateway_delivery_timeout: float = Field(
        30.0, gt=0, description="Seconds Kafka has to acknowledge an event before the request gets 503."
    )
    gateway_linger_ms: int = Field(5, ge=0, description="Producer linger: how long events wait to be batched.")
    # The stream worker's processing (README, "Processing"; rule files under rules/).
    pii_hmac_key: SecretStr | None = Field(
        None, description="Key of the hmac masking action (keyed pseudonyms); required once rules/pii.yaml uses hmac."
    )
    stream_metrics_port: int | None = Field(
        None, ge=1, le=65535,
        description="Port on 127.0.0.1 where the stream worker serves Prometheus /metrics (unset: not served).",
    )
    stream_metrics_log_interval: float = Field(
        60.0, gt=0, description="Seconds between the stream worker's log lines summing up its counters."
    )
    dedup_window: float = Field(
        600.0, ge=0,
        description="Seconds within which a repeated event_id, or (tenant, service, timestamp, message), is dropped; 0: off.",
    )
    # Alerting (README, "Alerting"): windows of the stream worker's alert agent, and notifications.
    alerts_step: int = Field(
        10, ge=1, le=3600,
        description="Seconds per counting bucket; every rule window is a multiple. Changing it starts new tables.",
    )
    alerts_retention: int = Field(
        7200, ge=60, description="Seconds of counts kept per service: the longest rule window plus its baseline."
    )
    alerts_max_delay: float = Field(
        30.0, gt=0, description="Seconds a partition may be idle before the wall clock closes its windows."
    )
    alerts_smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail alert channels.")
    alerts_smtp_port: int = Field(25, description="SMTP port.")
    alerts_smtp_from: str = Field("loglane@localhost", description="Sender of alert e-mails.")
    alerts_smtp_username: str | None = Field(None, description="SMTP user, if the server wants a login.")
    alerts_smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    alerts_smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    alerts_notify_timeout: float = Field(10.0, gt=0, description="Seconds one delivery attempt may take.")
    alerts_notify_attempts: int = Field(5, ge=1, description="Delivery attempts per channel before the dead letter.")
    alerts_notify_backoff: float = Field(
        1.0, gt=0, description="Seconds before the first retry; doubles per attempt, at most 60."
    )
    alerts_notify_queue: int = Field(
        1000, ge=1, description="Notifications waiting per channel, at most; beyond, they go to the dead letter."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def apicurio_url(self) -> str:
        """Apicurio's native API beside its ccompat API: what Connect's AvroConverter talks to."""
        return self.registry_url.split("/apis/")[0] + "/apis/registry/v3"

    @property
    def postgres_jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"

    @property
    def postgres_conninfo(self) -> str:
        return (
            f"host={self.postgres_host} port={self.postgres_port} dbname={self.postgres_db} "
            f"user={self.postgres_user} password={self.postgres_password.get_secret_value()}"
        )


def port_of(url_or_hostport: str) -> int:
    """The port in 'http://host:port/...' or 'host:port' (the first of a comma list)."""
    first = url_or_hostport.split(",")[0].strip()
    parsed = urlsplit(first if "//" in first else f"//{first}")
    if parsed.port is None:
        raise ConfigError(f"{url_or_hostport!r} names no port; write host:port")
    return parsed.port


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LOGLANE_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"settings: {problems}") from exc
