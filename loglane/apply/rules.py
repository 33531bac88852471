"""Alert rules: rules/alerts.yaml written into the compacted topic of role alert-rules, one record per
rule (key = name, value = the normalized rule as JSON). A rule that changed is written again; a rule
removed from the file gets a tombstone, so running workers drop it. Unlike every other kind, rules
are deleted: the file is the whole truth of what alerts."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from functools import partial
from typing import Any

from confluent_kafka import KafkaException, Producer

from loglane.alerts.kafka import read_compacted
from loglane.alerts.rules import Rule
from loglane.apply.plan import Action, Change, Kind, Step, decide, diff_config
from loglane.errors import LoglaneError
from loglane.settings import Settings

ROLE = "alert-rules"


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A rule's JSON as dotted keys with JSON values, so a plan shows what changed, e.g.
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


def plan_rule(rule: Rule, stored: bytes | None) -> Step:
    """Pure: the step for one declared rule, given its record in the topic (None: none yet)."""
    try:
        current = flatten(json.loads(stored)) if stored is not None else None
    except ValueError:
        current = {"(unreadable)": stored.decode(errors="replace")[:80]} if stored is not None else None
    changes = diff_config(current, flatten(rule.to_json()))
    return Step(Kind.RULE, rule.name, decide(stored is not None, changes), changes)


def plan_removed(name: str) -> Step:
    return Step(Kind.RULE, name, Action.DELETE, (Change("rule", "in the topic", None),),
                notes=("not in rules/alerts.yaml: a tombstone removes it from every worker",))


class _Writer:
    """One idempotent producer for every rule step of an apply; each step waits for its record."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
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
            raise LoglaneError(f'rule "{name}": cannot write to topic {self.topic}: {exc}') from exc
        if self._producer.flush(30) or failures:
            why = "; ".join(failures) or "not acknowledged within 30 s"
            raise LoglaneError(f'rule "{name}": writing to topic {self.topic} failed: {why}')


def plan(settings: Settings, rules: list[Rule], topic: str | None) -> list[Step]:
    """Steps for every rule in the file and every rule only in the topic. topic: the name of role
    alert-rules (None: the project has no such topic; `loglane validate` reports rules without one)."""
    if topic is None:
        return []
    stored = {key.decode(errors="replace"): value for key, value in read_compacted(settings, topic).items()}
    writer = _Writer(settings, topic)
    steps = [replace(plan_rule(rule, stored.get(rule.name)), run=partial(writer.write, rule.name, rule.to_bytes()))
             for rule in rules]
    declared = {rule.name for rule in rules}
    steps += [replace(plan_removed(name), run=partial(writer.write, name, None))
              for name in sorted(stored) if name not in declared]
    return steps
