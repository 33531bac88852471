"""Kafka Connect in distributed mode, with the three sinks and the Avro converter on its plugin path.

Plugins: Debezium's JDBC sink (PostgreSQL), loglane's own OpenSearch and S3 sinks (built from
connect-plugin/ in this repository) and Apicurio's AvroConverter, which reads the
confluent-kafka wire format (magic byte + 4-byte content id) that loglane's producers write.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import requests

from loglane.errors import ComponentError
from loglane.settings import port_of
from loglane.stack import maven
from loglane.stack.components.kafka import java_command, kafka_node_names
from loglane.stack.pins import pin
from loglane.stack.service import Health, Launch, Service, StackLayout

PLUGIN_SOURCE = Path(__file__).resolve().parents[3] / "connect-plugin"
REQUIRED_PLUGINS = (
    "io.debezium.connector.jdbc.JdbcSinkConnector",
    "dev.loglane.connect.opensearch.OpenSearchSinkConnector",
    "dev.loglane.connect.s3.S3SinkConnector",
)


def _unpack_tar(archive: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def _source_stamp(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([root / "pom.xml", *(root / "src").rglob("*")]):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_loglane_plugin(layout: StackLayout, dest: Path, component: str) -> Path:
    """Build connect-plugin/ with Maven when its sources changed; return the plugin directory."""
    if not (PLUGIN_SOURCE / "pom.xml").exists():
        raise ComponentError(
            component,
            f"loglane's Connect plugin sources are not at {PLUGIN_SOURCE}; run the stack from a checkout",
        )
    stamp = _source_stamp(PLUGIN_SOURCE)
    marker = dest / ".built-from"
    if marker.exists() and marker.read_text() == stamp:
        return dest
    build_dir = layout.cache / "connect-plugin-build"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(PLUGIN_SOURCE, build_dir, ignore=shutil.ignore_patterns("target"))
    with layout.maven_log.open("ab") as log:
        built = subprocess.run(
            [*maven.MVN, "--batch-mode", "--no-transfer-progress", "-DskipTests", "package"],
            cwd=build_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    jar = build_dir / "target" / f"loglane-connect-{pin('LOGLANE_CONNECT_VERSION')}.jar"
    if built.returncode != 0 or not jar.exists():
        raise ComponentError(component, "building connect-plugin/ with Maven failed", str(layout.maven_log))
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(jar, dest)
    marker.write_text(stamp)
    return dest


def install_plugins(layout: StackLayout, plugins: Path, component: str = "connect") -> Path:
    """Fill a Connect plugin.path with the JDBC sink, loglane's sinks and the Avro converter.

    The local stack and compose/connect/Dockerfile both call this, so they run the same plugins.
    """
    debezium = plugins / "debezium-connector-jdbc"
    if not (debezium / ".unpacked").exists():
        archive = maven.fetch(pin("DEBEZIUM_JDBC_PLUGIN"), layout.cache / "downloads", component, layout.maven_log)
        _unpack_tar(archive, debezium)
        (debezium / ".unpacked").write_text(pin("DEBEZIUM_JDBC_PLUGIN"))
    converter = plugins / "apicurio-converter"
    maven.resolve(
        pin("APICURIO_CONVERTER_DEPS").split(),
        converter,
        component,
        layout.maven_log,
        # The worker provides these; a second copy in the plugin would shadow them.
        exclusions=["org.apache.kafka:*", "org.slf4j:*"],
    )
    for coordinate in pin("APICURIO_CONVERTER_JARS").split():
        maven.fetch(coordinate, converter, component, layout.maven_log)
    build_loglane_plugin(layout, plugins / "loglane-connect", component)
    return plugins


class Connect(Service):
    name = "connect"
    depends_on = ("kafka", "registry")
    start_timeout = 180.0

    def __init__(self, layout: StackLayout) -> None:
        super().__init__(layout)
        self.depends_on = (*kafka_node_names(layout), "registry")

    @property
    def address(self) -> str:
        return self.settings.connect_url

    @property
    def ports(self) -> list[int]:
        return [port_of(self.settings.connect_url)]

    @property
    def plugin_path(self) -> Path:
        return self.layout.cache / "connect-plugins"

    def prepare(self) -> None:
        install_plugins(self.layout, self.plugin_path, self.name)
        replicas = self.layout.brokers
        bootstrap = ",".join(
            f"127.0.0.1:{port_of(self.settings.kafka_bootstrap) + 100 * n}" for n in range(replicas)
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "worker.properties").write_text(
            "\n".join(
                [
                    f"bootstrap.servers={bootstrap}",
                    f"listeners=http://127.0.0.1:{port_of(self.settings.connect_url)}",
                    "rest.advertised.host.name=127.0.0.1",
                    "group.id=loglane-connect",
                    "config.storage.topic=_loglane-connect-configs",
                    "offset.storage.topic=_loglane-connect-offsets",
                    "status.storage.topic=_loglane-connect-status",
                    f"config.storage.replication.factor={replicas}",
                    f"offset.storage.replication.factor={replicas}",
                    f"status.storage.replication.factor={replicas}",
                    "key.converter=org.apache.kafka.connect.storage.StringConverter",
                    "value.converter=org.apache.kafka.connect.json.JsonConverter",
                    "value.converter.schemas.enable=false",
                    f"plugin.path={self.plugin_path}",
                    # Every plugin here ships ServiceLoader manifests; scanning jars by reflection
                    # would double start-up time and memory.
                    "plugin.discovery=service_load",
                    "offset.flush.interval.ms=5000",
                    "connector.client.config.override.policy=All",
                    "",
                ]
            )
        )

    def launch(self) -> Launch:
        return Launch(
            java_command(
                self.layout, self.name, "768m", self.log_path.parent,
                "org.apache.kafka.connect.cli.ConnectDistributed", str(self.dir / "worker.properties"),
            )
        )

    def probe(self) -> Health:
        try:
            health = requests.get(f"{self.settings.connect_url}/health", timeout=3)
            if not health.ok:  # 404 until the worker's REST resources are registered
                return Health(False, f"worker starting (health HTTP {health.status_code})")
            response = requests.get(f"{self.settings.connect_url}/connector-plugins", timeout=3)
            classes = {p["class"] for p in response.json()} if response.ok else set()
        except (requests.RequestException, ValueError) as exc:
            return Health(False, f"no answer: {exc.__class__.__name__}")
        missing = [c for c in REQUIRED_PLUGINS if c not in classes]
        if missing:
            return Health(False, f"plugins not loaded: {', '.join(missing)}")
        return Health(True, f"{len(classes)} connector plugins")
