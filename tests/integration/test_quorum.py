"""`stack up --brokers 3`: a three-node KRaft quorum that keeps a topic writable when a node dies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from loglane.settings import Settings
from loglane.stack.manager import Stack
from loglane.stack.service import port_open
from tests.support import consume, create_topic, eventually


@pytest.fixture(scope="module")
def quorum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Its own home and ports, so it runs beside the session's single-node stack.
    home: Path = tmp_path_factory.mktemp("quorum")
    base = free_port_block(29092)
    cluster = Stack(Settings(home=home, kafka_bootstrap=f"127.0.0.1:{base}"), brokers=3, only=["kafka"])
    cluster.up()
    yield cluster
    cluster.down()


def free_port_block(start: int) -> int:
    """A base port whose three node/controller pairs (base+100*i, +1) are all free."""
    for base in range(start, start + 50, 2):
        if not any(port_open("127.0.0.1", base + 100 * i + j) for i in range(3) for j in range(2)):
            return base
    raise RuntimeError(f"no free port block from {start}")


def broker_count(admin: AdminClient) -> int:
    try:
        return len(admin.list_topics(timeout=5).brokers)
    except KafkaException:  # the node the client asked may be the one just killed
        return -1


def produce_all(bootstrap: str, topic: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value=value)
    if producer.flush(60) != 0:
        raise KafkaException("messages left undelivered")


@pytest.mark.slow
def test_quorum_survives_kill_9_of_one_broker(quorum: Stack, unique: str) -> None:
    # Arrange: a topic replicated on all three nodes, two of which must acknowledge every write.
    bootstrap = quorum.bootstrap_servers
    topic = f"it-quorum-{unique}"
    create_topic(bootstrap, topic, partitions=3, replication=3)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert broker_count(admin) == 3
    produce_all(bootstrap, topic, [f"before-{n}" for n in range(100)])

    # Act: kill -9 one node.
    victim = quorum.service("kafka-2")
    pid = victim.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: broker_count(admin) == 2, 60, what="cluster sees 2 brokers")

    # Assert: acks=all writes still succeed and nothing written before or after is lost.
    produce_all(bootstrap, topic, [f"after-{n}" for n in range(100)])
    values = {m.value().decode() for m in consume(bootstrap, topic, 200, timeout=60)}
    assert values == {f"before-{n}" for n in range(100)} | {f"after-{n}" for n in range(100)}
