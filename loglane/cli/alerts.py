"""`loglane alerts test RULE --events FILE` and `loglane alerts list`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from loglane import catalog
from loglane.alerts.evaluate import Alert, iso
from loglane.alerts.kafka import read_compacted, read_topic
from loglane.alerts.rules import RULES_FILE, Limits, Rule, format_duration, load_valid_rules, rule_named
from loglane.alerts.windows import Engine, MemoryStore, WindowConfig, sighting_of
from loglane.cli.apply import project_option
from loglane.errors import ConfigError
from loglane.settings import get_settings


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules (rules/alerts.yaml): dry-run one, or list them with what is firing."""


def _events(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{path}:{number}: not a JSON object: {exc}") from exc
            if not isinstance(event, dict):
                raise ConfigError(f"{path}:{number}: not a JSON object: {line.strip()[:80]}")
            yield number, event


@dataclass
class DryRun:
    alerts: list[Alert]
    events: int
    late: int


def dry_run(rule: Rule, events: Path, config: WindowConfig) -> DryRun:
    """Feed the events, in file order, through the worker's windows and evaluation on event time only
    (no wall clock: a window closes when a later event passes its end plus grace, and at the end)."""
    engine = Engine(MemoryStore(), lambda: [rule], config)
    alerts: list[Alert] = []
    count = 0
    for number, event in _events(events):
        try:
            sighting = sighting_of(event)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"{events}:{number}: not a log event ({type(exc).__name__}: {exc}); "
                              "it needs timestamp (ms or ISO 8601), service, environment, level, event_id") from exc
        engine.count(0, sighting)
        alerts += engine.advance(0)
        count += 1
    alerts += engine.finish(0)
    return DryRun(alerts, count, engine.late)


def _describe(alert: Alert) -> str:
    if alert.state == "fired":
        samples = f"; samples {', '.join(alert.sample_event_ids)}" if alert.sample_event_ids else ""
        value = f"{alert.observed:g}" if alert.observed >= 1 or alert.observed == 0 else f"{alert.observed:.3f}"
        threshold = f"{alert.threshold:g}" if alert.threshold >= 1 or alert.threshold == 0 else f"{alert.threshold:.3f}"
        return (f"{iso(alert.fired_at)}  FIRED     {alert.group.render()}: {value} > {threshold} in window "
                f"{iso(alert.window_start)} to {iso(alert.window_end)}{samples}")
    return f"{iso(alert.updated_at)}  RESOLVED  {alert.group.render()}: {alert.summary.split(': ', 2)[-1]}"


@alerts_group.command("test")
@click.argument("rule")
@click.option("--events", "events_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSON lines, one LogEvent-like object each: timestamp (epoch ms or ISO 8601), service, "
                   "environment, tenant, level, event_id.")
@project_option
def test_command(rule: str, events_file: Path, project_dir: Path | None) -> None:
    """Dry-run RULE (of rules/alerts.yaml) against a file of events: print when it would fire and resolve.

    The events are read in file order, as the worker would receive them: a window is decided once a
    later event passes its end plus the rule's grace, so an event arriving after that is late and
    changes nothing. Times printed are event time (when the window closed)."""
    settings = get_settings()
    directory = project_dir or settings.project_dir
    chosen = rule_named(load_valid_rules(directory, Limits.from_settings(settings)), rule)
    result = dry_run(chosen, events_file, WindowConfig.from_settings(settings))
    click.echo(f"{chosen.name} [{chosen.severity}]: {chosen.condition.describe()}; scope {chosen.scope.render()}; "
               f"cooldown {format_duration(chosen.cooldown_ms)}")
    for alert in result.alerts:
        click.echo(_describe(alert))
    fired = sum(1 for a in result.alerts if a.state == "fired")
    late = f", {result.late} too late to count" if result.late else ""
    click.echo(f"{fired} fired, {len(result.alerts) - fired} resolved, over {result.events} events{late}.")


def _latest_alerts(settings: Any, topic: str) -> dict[str, dict[str, Any]]:
    """The latest record of every alert on the alerts topic, by alert id."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": settings.registry_url}))
    latest: dict[str, dict[str, Any]] = {}
    for message in read_topic(settings, topic):
        if message.value() is None:
            continue
        alert = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
        latest[alert["alert_id"]] = alert
    return latest


@alerts_group.command("list")
@project_option
def list_command(project_dir: Path | None) -> None:
    """The rules the workers run (the rules topic) and, for each, what fires now (the alerts topic)."""
    settings = get_settings()
    directory = project_dir or settings.project_dir
    rules_topic = catalog.topic("alert-rules", directory).name
    stored = read_compacted(settings, rules_topic)
    rules = sorted((Rule.from_bytes(value) for value in stored.values()), key=lambda r: r.name)
    alerts = _latest_alerts(settings, catalog.topic("alerts", directory).name)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts.values():
        by_rule.setdefault(alert["rule"], []).append(alert)
    if not rules:
        click.echo(f"no rules in {rules_topic}: `loglane apply` writes those of {RULES_FILE}")
    width = max((len(r.name) for r in rules), default=4)
    for rule in rules:
        click.echo(f"{rule.name:<{width}}  {rule.severity}  {rule.condition.describe()}  "
                   f"[{rule.scope.render()}] -> {', '.join(rule.channel_names) or 'no channels'}")
        _state(by_rule.pop(rule.name, []))
    for name, left in sorted(by_rule.items()):
        click.echo(f"{name:<{width}}  (removed from the rules)")
        _state(left)
    firing = sum(1 for a in alerts.values() if a["state"] == "fired")
    click.echo(f"{len(rules)} rule(s), {firing} alert(s) firing.")


def _state(alerts: list[dict[str, Any]]) -> None:
    firing = sorted((a for a in alerts if a["state"] == "fired"), key=lambda a: a["fired_at"])
    for alert in firing:
        click.echo(f"    FIRING  {alert['service']} ({alert['environment']}, tenant {alert['tenant']}) since "
                   f"{iso(int(alert['fired_at'].timestamp() * 1000))}: observed {alert['observed']:g} > "
                   f"{alert['threshold']:g} (alert {alert['alert_id']})")
    resolved = [a for a in alerts if a["state"] == "resolved"]
    if not firing:
        last = max(resolved, key=lambda a: a["resolved_at"], default=None)
        when = f"last resolved {iso(int(last['resolved_at'].timestamp() * 1000))}" if last else "never fired"
        click.echo(f"    ok ({when})")
