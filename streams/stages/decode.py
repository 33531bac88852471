"""Decode: Confluent wire-format bytes (magic byte 0, 4-byte schema id, Avro body) -> a LogEvent
dict, read with the writer's schema from the registry and resolved to the project's LogEvent schema
(so older writers get the reader's defaults)."""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Protocol, cast

import fastavro
from fastavro.types import Schema

from streams.stages.types import ErrorKind, LogEvent, Rejection

STAGE = "decode"
HEADER_SIZE = 5  # magic byte + big-endian 4-byte schema id


class SchemaSource(Protocol):
    """Writer schemas (Avro JSON text) by registry id; None when the registry does not know the id.
    A plain ``dict[int, str]`` is one; streams.registry.RegistrySchemas asks the registry."""

    def get(self, schema_id: int, /) -> str | None: ...


@lru_cache(maxsize=256)
def parse(schema_text: str) -> Schema:
    """Parsed once per distinct schema: a registry id never changes its schema."""
    return fastavro.parse_schema(json.loads(schema_text))


def _refuse(kind: ErrorKind, reason: str) -> Rejection:
    return Rejection(STAGE, kind, reason)


def decode(value: bytes | None, schemas: SchemaSource, reader: Schema) -> LogEvent | Rejection:
    if value is None:
        return _refuse(ErrorKind.UNDECODABLE, "the record has no value (a tombstone), not a LogEvent")
    if len(value) < HEADER_SIZE or value[0] != 0:
        return _refuse(
            ErrorKind.UNDECODABLE,
            f"not Confluent wire format (magic byte 0 and a 4-byte schema id): {len(value)} bytes "
            f"starting {value[:12]!r}",
        )
    schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
    text = schemas.get(schema_id)
    if text is None:
        return _refuse(ErrorKind.UNKNOWN_SCHEMA, f"schema id {schema_id} is not in the registry")
    body = io.BytesIO(value[HEADER_SIZE:])
    try:
        event = fastavro.schemaless_reader(body, parse(text), reader)
    except Exception as exc:  # noqa: BLE001 - whatever fastavro raises, the bytes are at fault
        return _refuse(
            ErrorKind.UNDECODABLE,
            f"the Avro body does not read as LogEvent with writer schema id {schema_id}: "
            f"{type(exc).__name__}: {exc}",
        )
    trailing = len(value) - HEADER_SIZE - body.tell()
    if trailing:
        # A well-formed record ends where its schema says; extra bytes mean a corrupt or spliced value.
        return _refuse(ErrorKind.UNDECODABLE, f"{trailing} bytes left after the record (schema id {schema_id})")
    return cast(LogEvent, event)  # the reader schema is a record, so fastavro gives a dict
