"""Reading a topic whole, from its beginning to its end as of now: the rules topic (for `loglane plan`
and `loglane alerts list`) and the alerts topic (for `loglane alerts list`). No consumer group is
joined and no offset committed."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from loglane.errors import UnreachableError
from loglane.settings import Settings

_TIMEOUT = 30.0


def _consumer(settings: Settings) -> Consumer:
    return Consumer({
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": f"loglane-read-{uuid.uuid4().hex}",  # never joined: partitions are assigned
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "logger": logging.getLogger("loglane.kafka"),
    })


def read_topic(settings: Settings, topic: str, timeout: float = _TIMEOUT) -> Iterator[Message]:
    """Every record of topic, in offset order per partition; nothing when the topic does not exist."""
    consumer = _consumer(settings)
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=10)
        except KafkaException as exc:
            raise UnreachableError("kafka", settings.kafka_bootstrap, exc.args[0].str(), "LOGLANE_KAFKA_BOOTSTRAP") from exc
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            return
        pending = set()
        assignment = []
        for partition in described.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                pending.add(partition)
                assignment.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
        if not assignment:
            return
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in pending}
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == -191:  # _PARTITION_EOF
                    pending.discard(message.partition())
                continue
            yield message
            if message.offset() + 1 >= ends[message.partition()]:
                pending.discard(message.partition())
        if pending:
            raise UnreachableError("kafka", settings.kafka_bootstrap,
                                   f"topic {topic} not read to its end within {timeout:.0f}s", "LOGLANE_KAFKA_BOOTSTRAP")
    finally:
        consumer.close()


def read_compacted(settings: Settings, topic: str) -> dict[bytes, bytes]:
    """The latest value of every key of a compacted topic (a tombstone removes its key)."""
    latest: dict[bytes, bytes] = {}
    for message in read_topic(settings, topic):
        key = message.key()
        if key is None:
            continue
        value = message.value()
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value
    return latest
