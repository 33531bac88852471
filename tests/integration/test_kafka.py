from confluent_kafka import Producer

from loglane.stack.manager import Stack
from tests.support import consume, create_topic


def test_should_produce_and_consume_through_the_local_broker(stack: Stack, unique: str) -> None:
    # Arrange
    topic = f"it-kafka-{unique}"
    create_topic(stack.bootstrap_servers, topic, partitions=3)
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "enable.idempotence": True})

    # Produce
    for n in range(300):
        producer.produce(topic, key=f"k{n % 7}", value=f"v{n}")
    assert producer.flush(30) == 0

    # Verify
    received = consume(stack.bootstrap_servers, topic, 300)
    assert sorted(m.value().decode() for m in received) == sorted(f"v{n}" for n in range(300))
