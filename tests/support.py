"""Small helpers shared by tests: bounded waits, Kafka plumbing, temporary copies of the project."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
import yaml
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic

from loglane.cli import cli
from loglane.settings import Settings

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 60.0, interval: float = 0.5, what: str = "") -> T:
    """Call check until it returns a truthy value; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout:.0f}s: {what or check.__name__}; last value: {last!r}")


def create_topic(bootstrap: str, name: str, partitions: int = 1, replication: int = 1, **config: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, replication, config=config)])
    futures[name].result(timeout=30)


def consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"test-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    return messages


def copy_project(source: Path, dest: Path, suffix: str | None = None) -> Path:
    """A copy of the project's declarative files in dest; with suffix, every name it creates is unique.

    Topic names get the prefix it-<suffix>., connector files and the template file the suffix
    -<suffix>; the template's pattern, the sinks' index, table and S3 prefix follow, so applying the
    copy never touches the real pipeline's resources or another test's."""
    for item in ("schemas", "connectors", "opensearch", "rules"):
        shutil.copytree(source / item, dest / item)
    shutil.copy(source / "services.yaml", dest / "services.yaml")
    topics = yaml.safe_load((source / "topics.yaml").read_text())
    if suffix is None:
        shutil.copy(source / "topics.yaml", dest / "topics.yaml")
        return dest
    for topic in topics["topics"]:
        topic["name"] = f"it-{suffix}.{topic['name']}"
    (dest / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    for path in (dest / "connectors").glob("*.json"):
        config = json.loads(path.read_text())
        targets = {key: value.replace("SUFFIX", suffix) for key, value in UNIQUE_SINK_TARGETS.items()}
        unique = {key: targets.get(key, value) for key, value in config.items()}
        (dest / "connectors" / f"{path.stem}-{suffix}.json").write_text(json.dumps(unique, indent=2))
        path.unlink()
    for path in (dest / "opensearch").glob("*.json"):
        template = json.loads(path.read_text())
        template["index_patterns"] = [f"it-{suffix}-*"]
        (dest / "opensearch" / f"{path.stem}-{suffix}.json").write_text(json.dumps(template, indent=2))
        path.unlink()
    return dest


# Where a test project's sinks would write, were a record to reach them.
UNIQUE_SINK_TARGETS = {
    "index.pattern": "it-SUFFIX-{yyyy.MM.dd}",
    "collection.name.format": "it_SUFFIX",
    "s3.prefix": "it/SUFFIX/",
}


class Project:
    """A temporary project: its files, the CLI pointed at it, and the clean-up of what it created."""

    def __init__(self, directory: Path, unique: str, settings: Settings) -> None:
        self.directory = directory
        self.unique = unique
        self.settings = settings

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*args, "--project-dir", str(self.directory)])

    def topic(self, name: str) -> str:
        return f"it-{self.unique}.{name}"

    def edit_topics(self, role: str, **changes: object) -> None:
        document = yaml.safe_load((self.directory / "topics.yaml").read_text())
        entry = next(t for t in document["topics"] if t["role"] == role)
        config = changes.pop("config", {})
        entry.update(changes)
        entry.setdefault("config", {}).update(config)
        (self.directory / "topics.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    def edit_schema(self, file_name: str, field: str, **changes: object) -> None:
        """Change a field (or append it when the schema has none of that name)."""
        path = self.directory / "schemas" / file_name
        schema = json.loads(path.read_text())
        existing = [f for f in schema["fields"] if f["name"] == field]
        if existing:
            existing[0].update(changes)
        else:
            schema["fields"].append({"name": field, **changes})
        path.write_text(json.dumps(schema, indent=2))

    def edit_connector(self, stem: str, **config: str) -> None:
        path = self.directory / "connectors" / f"{stem}-{self.unique}.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **config}, indent=2))

    def clean_up(self) -> None:
        for path in (self.directory / "connectors").glob("*.json"):
            requests.delete(f"{self.settings.connect_url}/connectors/{path.stem}", timeout=30)
        for path in (self.directory / "opensearch").glob("*.json"):
            requests.delete(f"{self.settings.opensearch_url}/_index_template/{path.stem}", timeout=30)
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap})
        names = [t["name"] for t in yaml.safe_load((self.directory / "topics.yaml").read_text())["topics"]]
        existing = [n for n in names if n in admin.list_topics(timeout=10).topics]
        if existing:
            for future in admin.delete_topics(existing).values():
                future.result(timeout=30)
