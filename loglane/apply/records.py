"""Declared records in a compacted topic: each item of a declarative file written as one record (key =
its name, value = its normalized JSON). An item that changed is written again; a key only in the topic
gets a tombstone, so running workers drop it. Unlike every other kind, these are deleted: the file is
the whole truth of what the topic holds.

Two kinds: alert rules (rules/alerts.yaml -> role alert-rules) and the service catalog
(services.yaml -> role service-catalog)."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Protocol

from confluent_kafka import KafkaException, Producer

from loglane.alerts.kafka import read_compacted
from loglane.alerts.rules import RULES_FILE
from loglane.apply.plan import Action, Change, Kind, Step, decide, diff_config
from loglane.errors import LoglaneError
from loglane.services import CATALOG_ROLE, SERVICES_FILE
from loglane.settings import Settings


class Declared(Protocol):
    """An item of a declarative file that is stored as one record (an alert Rule, a Service)."""

    @property
    def name(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...

    def to_bytes(self) -> bytes: ...


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """An item's JSON as dotted keys with JSON values, so a plan shows what changed, e.g.
    condition.above: 50.0 -> 80.0."""
    flat: dict[str, str] = {}
    if isinstance(value, dict) and value:
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}{key}."))
    elif isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        # Channels: by name, so adding one shows one change rather than a shifted list.
        for item in value:
            flat.update(flatten({k: v for k, v in item.items() if k != "name"}, f"{prefix}{item['name']}."))
    else:
        flat[prefix.rstrip(".")] = json.dumps(value)
    return flat


class _Writer:
    """One idempotent producer for every record step of an apply; each step waits for its record."""

    def __init__(self, settings: Settings, topic: str, label: str) -> None:
        self.settings = settings
        self.topic = topic
        self.label = label
        self._producer: Producer | None = None

    def write(self, name: str, value: bytes | None) -> None:
        if self._producer is None:
            self._producer = Producer({
                "bootstrap.servers": self.settings.kafka_bootstrap, "enable.idempotence": True, "acks": "all",
                "logger": logging.getLogger("loglane.kafka"),
            })
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        try:
            self._producer.produce(self.topic, key=name.encode(), value=value, on_delivery=delivered)
        except (KafkaException, BufferError) as exc:
            raise LoglaneError(f'{self.label} "{name}": cannot write to topic {self.topic}: {exc}') from exc
        if self._producer.flush(30) or failures:
            why = "; ".join(failures) or "not acknowledged within 30 s"
            raise LoglaneError(f'{self.label} "{name}": writing to topic {self.topic} failed: {why}')


@dataclass(frozen=True)
class Records:
    """One kind of declared record: its plan kind, the file that declares it, the role of its topic."""

    kind: Kind
    file: str
    role: str

    def plan_item(self, item: Declared, stored: bytes | None) -> Step:
        """Pure: the step for one declared item, given its record in the topic (None: none yet)."""
        try:
            current = flatten(json.loads(stored)) if stored is not None else None
        except ValueError:
            current = {"(unreadable)": stored.decode(errors="replace")[:80]} if stored is not None else None
        changes = diff_config(current, flatten(item.to_json()))
        return Step(self.kind, item.name, decide(stored is not None, changes), changes)

    def plan_removed(self, name: str) -> Step:
        return Step(self.kind, name, Action.DELETE, (Change(self.kind.label, "in the topic", None),),
                    notes=(f"not in {self.file}: a tombstone removes it from every worker",))

    def reference_problems(self, items: Sequence[Declared], roles: Collection[str]) -> list[str]:
        """Items declared with no topic to hold them."""
        if items and self.role not in roles:
            return [f"{self.file}: no topic has role {self.role!r} in topics.yaml to hold the {self.kind.label}s"]
        return []

    def plan(self, settings: Settings, items: Sequence[Declared], topic: str | None) -> list[Step]:
        """Steps for every item in the file and every key only in the topic. topic: the name of the
        role (None: the project has no such topic; `loglane validate` reports items without one)."""
        if topic is None:
            return []
        stored = {key.decode(errors="replace"): value for key, value in read_compacted(settings, topic).items()}
        writer = _Writer(settings, topic, self.kind.label)
        steps = [replace(self.plan_item(item, stored.get(item.name)),
                         run=partial(writer.write, item.name, item.to_bytes())) for item in items]
        declared = {item.name for item in items}
        steps += [replace(self.plan_removed(name), run=partial(writer.write, name, None))
                  for name in sorted(stored) if name not in declared]
        return steps


ALERT_RULES = Records(Kind.RULE, RULES_FILE, "alert-rules")
SERVICES = Records(Kind.SERVICE, SERVICES_FILE, CATALOG_ROLE)
