"""The stream worker (`loglane worker`) as an optional stack component: `loglane demo` starts it
beside the servers, and `stack status` / `stack down` then see and stop it like the rest."""

from __future__ import annotations

import sys

from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from loglane.stack.components.kafka import _QUIET, kafka_node_names
from loglane.stack.service import Health, Launch, Service, StackLayout


class StreamWorker(Service):
    name = "worker"
    optional = True
    start_timeout = 120.0
    stop_timeout = 30.0

    def __init__(self, layout: StackLayout) -> None:
        super().__init__(layout)
        self.depends_on = (*kafka_node_names(layout), "registry")

    @property
    def address(self) -> str:
        return f"consumer group {self.settings.stream_app_id}"

    def launch(self) -> Launch:
        return Launch([sys.executable, "-m", "loglane.cli", "worker"])

    def probe(self) -> Health:
        """Ready once Faust says so (tables recovered) and its consumer group is stable with a member.

        Records produced earlier are not lost (streams/offsets.py); they just wait for it."""
        try:
            log = self.log_path.read_bytes()
        except OSError:
            log = b""
        if b"Worker ready" not in log[log.rfind(b"=== loglane: starting worker") :]:
            return Health(False, "worker not ready yet (recovering tables)")
        group = self.settings.stream_app_id
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap, "log_level": 0}, logger=_QUIET)
        try:
            description = admin.describe_consumer_groups([group], request_timeout=5)[group].result(timeout=10)
        except Exception as exc:  # noqa: BLE001 - not reachable or not there yet: not ready
            return Health(False, f"consumer group not readable: {exc}")
        if description.state != ConsumerGroupState.STABLE or not description.members:
            return Health(False, f"consumer group {description.state.name.lower()}")
        return Health(True, f"{len(description.members)} member(s) reading")
