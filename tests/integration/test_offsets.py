"""The offset guard's lookups on real Kafka: where a group starts, and which offsets exist. A
transactional producer leaves offsets with no record (its commit markers), which a hole check must
step over rather than wait for."""

from __future__ import annotations

from confluent_kafka import Producer, TopicPartition
from faust.types import TP

from loglane.stack.manager import Stack
from streams.offsets import committed_or_earliest, first_offset_from, lookup_consumer
from tests.support import create_topic


def test_should_find_the_first_record_past_offsets_that_hold_transaction_markers(stack: Stack, unique: str) -> None:
    # Arrange: offsets 0-2 records, 3 a commit marker, 4-5 records, 6 a commit marker.
    topic = f"it-offsets-{unique}"
    create_topic(stack.bootstrap_servers, topic)
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "transactional.id": f"it-{unique}"})
    producer.init_transactions(30)
    for count in (3, 2):
        producer.begin_transaction()
        for n in range(count):
            producer.produce(topic, value=f"record {n}".encode())
        producer.commit_transaction(30)
    consumer = lookup_consumer(stack.bootstrap_servers, f"it-offsets-{unique}")
    tp = TP(topic, 0)
    try:
        # Act / verify: a group with no commit starts at the log start; holes are found to be markers.
        assert committed_or_earliest(consumer, tp) == 0
        assert first_offset_from(consumer, tp, 0) == 0
        assert first_offset_from(consumer, tp, 3) == 4
        assert first_offset_from(consumer, tp, 6, timeout=3) is None  # only a marker is left

        consumer.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)  # the group has no member
        assert committed_or_earliest(consumer, tp) == 5
    finally:
        consumer.close()
