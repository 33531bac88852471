"""What `loglane worker` checks before it starts, so a missing prerequisite is an error that names
the fix instead of a worker that waits for a topic or retries the registry forever."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from loglane import catalog
from loglane.settings import Settings
from streams.errors import StreamError
from loglane.avro import AvroWriter

ROLES = ("raw", "processed", "deadletter")
OUTPUT_ROLES = ("processed", "deadletter")


def check(settings: Settings) -> int:
    """The cluster's broker count, once Kafka answers, the worker's topics exist and the registry
    holds the output schemas under their subjects."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    try:
        metadata = admin.list_topics(timeout=10)
    except KafkaException as exc:
        raise StreamError(
            f"kafka: cannot reach {settings.kafka_bootstrap}: {exc}; is the stack up (`loglane stack up`), "
            "or is LOGLANE_KAFKA_BOOTSTRAP right?"
        ) from exc
    missing = [catalog.topic(role).name for role in ROLES if catalog.topic(role).name not in metadata.topics]
    if missing:
        raise StreamError(f"kafka: topic(s) {', '.join(missing)} do not exist; create them with `loglane apply`")
    client = SchemaRegistryClient({"url": settings.registry_url})
    for role in OUTPUT_ROLES:
        AvroWriter(client, catalog.topic(role)).check()
    return len(metadata.brokers)
