"""The registry's Confluent-compatible API with confluent-kafka's own Avro serializers."""

import json
import struct

import requests
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.settings import Settings
from loglane.stack.manager import Stack

SCHEMA = {
    "type": "record",
    "name": "Ping",
    "namespace": "dev.loglane.test",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "long"}],
}


def test_should_round_trip_a_record_with_the_registered_schema_id(
    stack: Stack, settings: Settings, unique: str
) -> None:
    # Arrange
    subject = f"it-registry-{unique}-value"
    client = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(client, json.dumps(SCHEMA))
    deserializer = AvroDeserializer(client)
    context = SerializationContext(f"it-registry-{unique}", MessageField.VALUE)

    # Produce
    payload = serializer({"id": "a-1", "n": 42}, context)

    # Verify: Confluent wire format (magic 0, 4-byte id) naming the id the registry gave the subject.
    magic, schema_id = struct.unpack(">bI", payload[:5])
    registered = requests.get(f"{settings.registry_url}/subjects/{subject}/versions/latest", timeout=10).json()
    assert magic == 0
    assert schema_id == registered["id"]
    assert deserializer(payload, context) == {"id": "a-1", "n": 42}


def test_registering_the_same_schema_twice_keeps_its_id(stack: Stack, settings: Settings, unique: str) -> None:
    url = f"{settings.registry_url}/subjects/it-same-{unique}-value/versions"
    body = {"schema": json.dumps(SCHEMA)}
    first = requests.post(url, json=body, timeout=10).json()["id"]
    second = requests.post(url, json=body, timeout=10).json()["id"]
    assert first == second
