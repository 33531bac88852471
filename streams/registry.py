"""The stream worker's schema lookups by id, for decode (its writers are loglane.avro.AvroWriter)."""

from __future__ import annotations

import httpx2
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from loglane.avro import NOT_FOUND, RegistryUnavailable


class RegistrySchemas:
    """decode's SchemaSource over a Confluent-compatible registry. The client caches every schema
    it fetched by id (an id never changes its schema); unknown ids are asked again, since a
    producer may register its schema after its first record failed."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._client = client

    def get(self, schema_id: int, /) -> str | None:
        try:
            return self._client.get_schema(schema_id).schema_str
        except SchemaRegistryError as exc:
            if exc.http_status_code == NOT_FOUND:
                return None
            raise RegistryUnavailable(f"registry: schema id {schema_id}: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise RegistryUnavailable(f"registry: cannot fetch schema id {schema_id}: {exc}") from exc
