"""Apache Kafka in KRaft mode (combined broker + controller), from Maven Central jars.

One node by default; with --brokers 3, three nodes on one host form a static quorum with
replication factor 3 and min.insync.replicas 2. Node i listens on the bootstrap port + 100*(i-1)
and its controller on the next port (9092/9093, 9192/9193, 9292/9293).
"""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from loglane.errors import ComponentError
from loglane.settings import port_of
from loglane.stack import maven
from loglane.stack.pins import pin
from loglane.stack.service import Health, Launch, Service, StackLayout

_QUIET = logging.getLogger("loglane.stack.probe")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False  # "connection refused" while a broker starts is expected, not news

TEMPLATES = Path(__file__).parent.parent / "templates"


def kafka_libs(layout: StackLayout, component: str) -> Path:
    """The classpath directory shared by the brokers and the Connect worker."""
    return maven.resolve(
        pin("KAFKA_LIBS").split(), layout.cache / f"kafka-{pin('KAFKA_VERSION')}-libs", component, layout.maven_log
    )


def new_cluster_id() -> str:
    """Kafka's own form (base64url of a random UUID), never starting with '-', which the storage
    tool's argument parser would take for an option (Kafka's Uuid.randomUuid skips those too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def kafka_node_names(layout: StackLayout) -> tuple[str, ...]:
    """The stack's Kafka components: `kafka`, or `kafka-1`..`kafka-3` for a quorum."""
    if layout.brokers == 1:
        return ("kafka",)
    return tuple(f"kafka-{n}" for n in range(1, layout.brokers + 1))


def java_command(layout: StackLayout, component: str, heap: str, logs_dir: Path, main: str, *args: str) -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j2.configurationFile={TEMPLATES / 'log4j2.yaml'}",
        "-cp",
        f"{kafka_libs(layout, component)}/*",
        main,
        *args,
    ]


class KafkaNode(Service):
    start_timeout = 90.0
    stop_timeout = 30.0  # then SIGKILL: KRaft recovers its log, and a lone node can wait 5 min

    def __init__(self, layout: StackLayout, node_id: int) -> None:
        super().__init__(layout)
        self.node_id = node_id
        self.name = kafka_node_names(layout)[node_id - 1]
        base = port_of(self.settings.kafka_bootstrap)
        self.port = base + 100 * (node_id - 1)
        self.controller_port = self.port + 1

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ports(self) -> list[int]:
        return [self.port, self.controller_port]

    @property
    def config_path(self) -> Path:
        return self.dir / "server.properties"

    def _voters(self) -> str:
        base = port_of(self.settings.kafka_bootstrap)
        return ",".join(
            f"{n}@127.0.0.1:{base + 100 * (n - 1) + 1}" for n in range(1, self.layout.brokers + 1)
        )

    def _cluster_id(self) -> str:
        path = self.layout.state / "kafka-cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def prepare(self) -> None:
        replicas = self.layout.brokers
        min_isr = 2 if replicas == 3 else 1
        data = self.dir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={self.node_id}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"controller.quorum.voters={self._voters()}",
                    f"log.dirs={data}",
                    # Topics are declared and created by `loglane apply`, never by a typo.
                    "auto.create.topics.enable=false",
                    "num.partitions=3",
                    f"default.replication.factor={replicas}",
                    f"min.insync.replicas={min_isr}",
                    f"offsets.topic.replication.factor={replicas}",
                    f"transaction.state.log.replication.factor={replicas}",
                    f"transaction.state.log.min.isr={min_isr}",
                    f"share.coordinator.state.topic.replication.factor={replicas}",
                    f"share.coordinator.state.topic.min.isr={min_isr}",
                    "group.initial.rebalance.delay.ms=0",
                    # A dev quorum is stopped all at once; controlled shutdown would then wait
                    # (5 minutes, hard-coded) for a controller majority that is already gone.
                    "controlled.shutdown.enable=false",
                    "",
                ]
            )
        )
        if not (data / "meta.properties").exists():
            log = self.log_path
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                formatted = subprocess.run(
                    java_command(
                        self.layout, self.name, "256m", log.parent, "kafka.tools.StorageTool",
                        "format", "-t", self._cluster_id(), "-c", str(self.config_path),
                    ),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if formatted.returncode != 0:
                raise ComponentError(self.name, "formatting its KRaft storage failed", str(log))

    def launch(self) -> Launch:
        return Launch(
            java_command(
                self.layout, self.name, "512m", self.log_path.parent, "kafka.Kafka", str(self.config_path)
            )
        )

    def probe(self) -> Health:
        admin = AdminClient(
            {"bootstrap.servers": self.address, "socket.timeout.ms": 2000, "log_level": 0}, logger=_QUIET
        )
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception as exc:  # noqa: BLE001 - any client failure means "not ready yet"
            return Health(False, f"metadata request failed: {exc}")
        if self.node_id not in metadata.brokers:
            return Health(False, "broker not registered with the controller yet")
        return Health(True, f"{len(metadata.brokers)} broker(s) in the cluster")
