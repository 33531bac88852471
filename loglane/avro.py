"""Avro values in Confluent wire format for a topic of topics.yaml, with the schema file it names.

Writers never register schemas: `loglane apply` does, from schemas/; a writer only looks up the id
of its exact schema under its topic's subject (TopicNameStrategy), so nothing can write with a
schema the project did not declare. The stream worker, the demo and the tests all write this way."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx2
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.catalog import TopicSpec, schema_text
from loglane.errors import ConfigError, LoglaneError

NOT_FOUND = 404


class RegistryUnavailable(LoglaneError):
    """The schema registry did not answer as needed. Transient by assumption: the stream retries the
    same record (at-least-once, never skipped) until the registry answers."""


class AvroWriter:
    """One topic's values as Avro in Confluent wire format, with the schema file topics.yaml names."""

    def __init__(self, client: SchemaRegistryClient, topic: TopicSpec, project_dir: Path | None = None) -> None:
        if topic.value_schema is None:
            raise ConfigError(f"topics.yaml: topic {topic.name!r} (role {topic.role}) names no value_schema")
        self._client = client
        self._schema = Schema(schema_text(topic.value_schema, project_dir), "AVRO")
        self._serializer = AvroSerializer(client, self._schema.schema_str, conf={"auto.register.schemas": False})
        self._context = SerializationContext(topic.name, MessageField.VALUE)
        self.subject = topic.value_subject
        self.schema_file = topic.value_schema

    def __call__(self, value: dict[str, Any]) -> bytes:
        try:
            # Optional only because a None value serializes to None; values here are dicts.
            return cast(bytes, self._serializer(value, self._context))
        except (SchemaRegistryError, httpx2.HTTPError) as exc:
            raise self._unavailable(exc) from exc

    def check(self) -> None:
        """Raise unless the registry holds this writer's schema under its subject."""
        try:
            self._client.lookup_schema(self.subject, self._schema)
        except (SchemaRegistryError, httpx2.HTTPError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> RegistryUnavailable:
        if isinstance(exc, SchemaRegistryError) and exc.http_status_code == NOT_FOUND:
            return RegistryUnavailable(
                f"registry: subject {self.subject!r} holds no version of schemas/{self.schema_file} "
                f"({exc}); register it with `loglane apply`"
            )
        return RegistryUnavailable(f"registry: cannot look up subject {self.subject!r}: {exc}")
