"""What `loglane worker` checks before it starts, so a missing prerequisite is an error that names
the fix instead of a worker that waits for a topic or retries the registry forever."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from loglane import catalog
from loglane.services import CATALOG_ROLE
from loglane.settings import Settings
from streams import alerting, rules
from streams.app import replication_factor
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
    alerts = alerting.enabled()
    # Every rule file, before Faust starts: a broken one is an error naming file and field.
    routes = tuple(role for role in rules.load(settings.project_dir, settings.pii_hmac_key).routing.roles
                   if role not in ROLES)
    catalog_roles = (CATALOG_ROLE,) if catalog.declares(CATALOG_ROLE) else ()
    roles = ROLES + routes + (alerting.ROLES if alerts else ()) + catalog_roles
    missing = [catalog.topic(role).name for role in roles if catalog.topic(role).name not in metadata.topics]
    if missing:
        raise StreamError(f"kafka: topic(s) {', '.join(missing)} do not exist; create them with `loglane apply`")
    client = SchemaRegistryClient({"url": settings.registry_url})
    for role in OUTPUT_ROLES + routes + (alerting.OUTPUT_ROLES if alerts else ()):
        AvroWriter(client, catalog.topic(role)).check()
    raw = catalog.topic("raw")
    if len(metadata.topics[raw.name].partitions) != raw.partitions:
        raise StreamError(
            f"kafka: topic {raw.name} has {len(metadata.topics[raw.name].partitions)} partitions, topics.yaml "
            f"declares {raw.partitions}; the dedup table follows topics.yaml: run `loglane apply` (it grows them)"
        )
    if alerts:
        partitions = {name: len(topic.partitions) for name, topic in metadata.topics.items()}
        processed = catalog.topic("processed")
        if partitions[processed.name] != processed.partitions:
            raise StreamError(
                f"kafka: topic {processed.name} has {partitions[processed.name]} partitions, topics.yaml declares "
                f"{processed.partitions}; the alert tables follow topics.yaml: run `loglane apply` (it grows them)"
            )
        replication = replication_factor(len(metadata.brokers))
        alerting.ensure_ticks_topic(admin, settings, processed.partitions, replication, partitions)
    return len(metadata.brokers)
