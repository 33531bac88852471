"""Alerting on the real stack: a temporary copy of the project (its own topics, connector and table)
with its own rules, applied by `loglane apply`, the stream worker run as `loglane worker` with its
own app id, ProcessedLogEvents produced straight to the copy's processed topic.

- A storm fires once and resolves after it: a webhook, a Slack-compatible webhook and an SMTP
  server (local receivers started here) get both notifications, a failing channel's go to the
  dead-letter topic, and the alert row lands in PostgreSQL with its fired and resolved times.
- One worker, one deterministic stream (event times an hour ahead: only the stream's order moves the
  windows): a ratio rule and a baseline spike fire, and a count rule fires for a control service on
  errors arriving after the window's end but within its grace; the count rule does not fire for a
  service below its threshold, one whose errors are spread across two windows, or one whose missing
  errors arrive after the window's end plus grace (counted, but the decision stands).
- A worker killed (SIGKILL) mid-window and restarted on an empty disk recovers the window's counts
  from the changelog: a rule fires that needs counts from before and after the kill.
- A worker killed while a notification is still being retried: the next worker sends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane.avro import AvroWriter
from loglane.catalog import load_topics
from loglane.settings import Settings
from tests.integration.receivers import HttpReceiver, SmtpReceiver, serving
from tests.support import Project, eventually

pytestmark = pytest.mark.slow

STORM_RULES = """
channels:
  hook: {{type: webhook, url: "{hook}"}}
  chat: {{type: slack, url: "${{env:IT_ALERTS_SLACK_URL}}"}}
  mail: {{type: email, to: [oncall@example.test]}}
  broken: {{type: webhook, url: "{broken}"}}
rules:
  - name: checkout-storm
    scope: {{service: checkout, environment: prod}}
    condition: {{count: {{level: ERROR, window: 10s, grace: 2s, above: 20}}}}
    severity: P1
    channels: [hook, chat, mail, broken]
    cooldown: 10m
"""

RELOADED_RULES = """
channels:
  hook: {{type: webhook, url: "{hook}"}}
rules:
  - name: checkout-again
    scope: {{service: checkout}}
    condition: {{count: {{level: ERROR, window: 10s, grace: 2s, above: 5}}}}
    channels: [hook]
"""

NOTIFY_RULES = """
channels:
  hook: {{type: webhook, url: "{hook}"}}
rules:
  - name: checkout-notify
    scope: {{service: checkout}}
    condition: {{count: {{level: ERROR, window: 10s, grace: 2s, above: 5}}}}
    channels: [hook]
"""

CONDITION_RULES = """
channels:
  hook: {{type: webhook, url: "{hook}"}}
rules:
  - name: error-ratio
    scope: {{service: ratio-a}}
    condition: {{ratio: {{level: ERROR, window: 10s, grace: 2s, above: 0.3, min_events: 20}}}}
    channels: [hook]
  - name: error-spike
    scope: {{service: baseline-b}}
    condition: {{baseline: {{level: ERROR, window: 10s, grace: 2s, factor: 3, windows: 3, min_count: 10}}}}
    channels: [hook]
  - name: error-count
    scope: {{service: "count-*"}}
    condition: {{count: {{level: ERROR, window: 10s, grace: 2s, above: 5}}}}
    channels: [hook]
"""

RESTART_RULES = """
rules:
  - name: payments-restart
    scope: {service: payments}
    condition: {count: {level: ERROR, window: 1m, grace: 5s, above: 30}}
    severity: P2
    channels: []
"""


def prepare(project: Project, rules: str, keep_connectors: tuple[str, ...] = ()) -> dict[str, str]:
    """Write the rules, keep only the named connectors, apply; the copy's topic names by role."""
    (project.directory / "rules" / "alerts.yaml").write_text(rules)
    for path in (project.directory / "connectors").glob("*.json"):
        if not any(path.stem == f"{name}-{project.unique}" for name in keep_connectors):
            path.unlink()
    for path in (project.directory / "opensearch").glob("*.json"):
        path.unlink()
    applied = project.cli("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    return {t.role: t.name for t in load_topics(project.directory / "topics.yaml")}


class Worker:
    """`loglane worker` in a subprocess with this test's project, app id and home."""

    def __init__(self, project: Project, app_id: str, home: Path, log: Path, env: dict[str, str]) -> None:
        self.log = log
        environment = {
            **os.environ, **env,
            "LOGLANE_PROJECT_DIR": str(project.directory), "LOGLANE_STREAM_APP_ID": app_id,
            "LOGLANE_HOME": str(home), "LOGLANE_ALERTS_MAX_DELAY": "2",
        }
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "loglane.cli", "worker", "-l", "info"],
                env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, since: int = 0, timeout: float = 150) -> None:
        """Until the alert agent processes records (it logs once, after the rules are loaded)."""
        def ready() -> bool:
            assert self.proc.poll() is None, f"the worker exited:\n{self.tail()}"
            return "alerts: evaluating" in self.log.read_text(errors="replace")[since:]
        eventually(ready, timeout, 1, "the worker's alert agent is evaluating")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-60:])


@pytest.fixture
def app_id(settings: Settings, unique: str) -> Iterator[str]:
    """The worker's Faust app id; its internal topics (changelogs, ticks) are deleted afterwards."""
    name = f"it-alerts-{unique}"
    yield name
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    internal = [t for t in admin.list_topics(timeout=10).topics if t.startswith(f"{name}-")]
    if internal:
        for future in admin.delete_topics(internal).values():
            future.result(timeout=30)


def processed_event(service: str, level: str, at: datetime, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()), "timestamp": at, "service": service, "environment": "prod",
        "tenant": "shop", "level": level, "message": f"{level.lower()} in {service}",
        "trace_id": uuid.uuid4().hex, "span_id": None, "attributes": {}, "exception_type": None,
        "exception_message": None, "exception_stack": None, "processed_at": datetime.now(timezone.utc),
        "pipeline_version": "test", "pii_masked": 0, "source_topic": "test", "source_partition": 0,
        "source_offset": 0,
    }
    return {**event, **changes}


def produce(settings: Settings, project: Project, topic: str, events: list[dict[str, Any]]) -> None:
    spec = next(t for t in load_topics(project.directory / "topics.yaml") if t.name == topic)
    write = AvroWriter(SchemaRegistryClient({"url": settings.registry_url}), spec, project.directory)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for event in events:
        producer.produce(topic, key=event["service"].encode(), value=write(event))
    assert producer.flush(30) == 0


def read_all(settings: Settings, topic: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every record of an Avro topic, decoded, with its key."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": settings.registry_url}))
    consumer.subscribe([topic])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                value = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
                found.append({**value, "_key": message.key()})
    finally:
        consumer.close()
    return found


def committed_to_end(settings: Settings, group: str, topic: str) -> bool:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions]
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
    finally:
        consumer.close()
    return all(tp.offset >= end for tp, end in zip(committed, ends, strict=True) if end > 0)


def test_a_storm_fires_once_notifies_every_channel_resolves_and_lands_in_postgres(
    project: Project, settings: Settings, app_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: receivers, the rules pointing at them, the copy applied with only the alerts connector.
    http, smtp = HttpReceiver(), SmtpReceiver()
    rules = STORM_RULES.format(hook=http.url("/hook"), broken=http.url("/fail"))
    topics = prepare(project, rules, keep_connectors=("postgres-alerts",))
    table = f"it_{project.unique}"
    env = {
        "IT_ALERTS_SLACK_URL": http.url("/slack"),  # the ${env:...} channel: resolved by the worker
        "LOGLANE_ALERTS_SMTP_HOST": "127.0.0.1", "LOGLANE_ALERTS_SMTP_PORT": str(smtp.port),
        "LOGLANE_ALERTS_NOTIFY_ATTEMPTS": "2", "LOGLANE_ALERTS_NOTIFY_BACKOFF": "0.2",
    }
    with serving(http, smtp):
        worker = Worker(project, app_id, tmp_path / "home", tmp_path / "worker.log", env)
        try:
            worker.wait_ready()

            # Produce: a storm (25 errors, some info) at one instant, then silence.
            now = datetime.now(timezone.utc)
            storm = [processed_event("checkout", "ERROR", now) for _ in range(25)]
            storm += [processed_event("checkout", "INFO", now) for _ in range(10)]
            storm += [processed_event("checkout-web", "ERROR", now) for _ in range(30)]  # out of scope
            produce(settings, project, topics["processed"], storm)

            # Verify: fired (and listed as firing), then resolved once the next window closes, on every channel.
            eventually(lambda: http.received("/hook"), 90, 0.5, f"fired on the webhook; worker log:\n{worker.tail()}")
            listed = project.cli("alerts", "list")
            hooks = eventually(lambda: len(http.received("/hook")) >= 2 and http.received("/hook"), 60, 1,
                               f"resolved on the webhook; worker log:\n{worker.tail()}")
            slack = eventually(lambda: len(http.received("/slack")) >= 2 and http.received("/slack"), 30, 1, "slack")
            mails = eventually(lambda: len(smtp.received()) >= 2 and smtp.received(), 30, 1, "e-mails")
            dead = eventually(lambda: len(found := read_all(settings, topics["deadletter.notify"])) >= 2 and found,
                              60, 1, "dead letters of the broken channel")
            time.sleep(3)  # nothing more may come: one episode, one fire, one resolve
            assert len(http.received("/hook")) == 2
            listed_after = project.cli("alerts", "list")

            # Change the rules while the worker runs: `apply` tombstones the old rule and writes a new one.
            (project.directory / "rules" / "alerts.yaml").write_text(RELOADED_RULES.format(hook=http.url("/hook")))
            changed = project.cli("apply", "--yes")
            eventually(lambda: "alerts: rule checkout-storm removed" in worker.log.read_text(), 30, 0.5,
                       "the worker dropped the removed rule")
            produce(settings, project, topics["processed"],
                    [processed_event("checkout", "ERROR", datetime.now(timezone.utc)) for _ in range(6)])
            reloaded = eventually(lambda: len(http.received("/hook")) >= 3 and http.received("/hook")[2], 60, 1,
                                  f"the new rule fired; worker log:\n{worker.tail()}")
            assert worker.proc.poll() is None, worker.tail()
        finally:
            worker.stop()
        print(worker.tail())

        assert listed.exit_code == 0, listed.output
        assert listed.output.splitlines()[0].startswith(
            "checkout-storm  P1  count(level >= ERROR) over 10s > 20  [tenant=* service=checkout environment=prod] "
            "-> hook, chat, mail, broken"
        )
        assert "    FIRING  checkout (prod, tenant shop) since " in listed.output
        assert listed.output.splitlines()[-1] == "1 rule(s), 1 alert(s) firing."
        assert "    ok (last resolved " in listed_after.output, listed_after.output
        assert changed.exit_code == 0, changed.output
        assert "- delete rule checkout-storm" in changed.output and "+ create rule checkout-again" in changed.output
        assert (reloaded["rule"], reloaded["state"], reloaded["observed"]) == ("checkout-again", "fired", 6.0)

        assert [h["state"] for h in hooks] == ["fired", "resolved"]
        fired, resolved = hooks
        assert fired["alert_id"] == resolved["alert_id"]
        assert (fired["rule"], fired["service"], fired["severity"], fired["observed"], fired["threshold"]) == (
            "checkout-storm", "checkout", "P1", 25.0, 20.0,
        )
        assert fired["resolved_at"] is None and resolved["resolved_at"] is not None
        assert set(fired["sample_event_ids"]) <= {e["event_id"] for e in storm if e["level"] == "ERROR"}
        assert fired["sample_event_ids"]
        assert [s["text"].split()[1:3] for s in slack] == [["[P1]", "FIRED"], ["[P1]", "RESOLVED"]]
        assert slack[0]["attachments"][0]["fields"]
        assert [m["Subject"] for m in mails] == [
            "[P1] FIRED checkout-storm: checkout (prod, tenant shop)",
            "[P1] RESOLVED checkout-storm: checkout (prod, tenant shop)",
        ]
        assert mails[0]["To"] == "oncall@example.test"
        assert fired["alert_id"] in mails[0].get_content()
        assert len(http.received("/fail")) == 4  # 2 attempts for each of the two notifications
        assert sorted(d["error_kind"] for d in dead) == ["delivery_failed", "delivery_failed"]
        assert all('channel "broken"' in d["reason"] and "HTTP 500" in d["reason"] for d in dead)
        assert {d["event_id"] for d in dead} == {fired["alert_id"]}

        alerts = read_all(settings, topics["alerts"])
        assert [(a["state"], a["rule"]) for a in alerts if a["rule"] == "checkout-storm"] == [
            ("fired", "checkout-storm"), ("resolved", "checkout-storm"),
        ]

        def row() -> Any:
            with psycopg.connect(settings.postgres_conninfo) as conn:
                if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
                    return None
                return conn.execute(
                    f'select state, fired_at, resolved_at, observed, severity from "{table}" where alert_id = %s',
                    (fired["alert_id"],),
                ).fetchone()

        try:
            stored = eventually(lambda: (r := row()) is not None and r[0] == "resolved" and r, 120, 2,
                                "the alert row in PostgreSQL, resolved")
            assert stored[1] is not None and stored[2] is not None and stored[2] >= stored[1]
            assert (stored[3], stored[4]) == (25.0, "P1")
            with psycopg.connect(settings.postgres_conninfo) as conn:
                # One row per alert: the resolved record upserted the fired one.
                count = f'select count(*) from "{table}" where rule = %s'
                assert conn.execute(count, ("checkout-storm",)).fetchone()[0] == 1
        finally:
            with psycopg.connect(settings.postgres_conninfo, autocommit=True) as conn:
                conn.execute(f'drop table if exists "{table}"')


def test_ratio_and_baseline_rules_fire_while_counts_below_spread_or_late_beyond_grace_do_not(
    project: Project, settings: Settings, app_id: str, tmp_path: Path
) -> None:
    # Arrange: one rule of each kind (10 s windows, 2 s grace), all to a local webhook.
    http = HttpReceiver()
    topics = prepare(project, CONDITION_RULES.format(hook=http.url("/hook")))
    processed = topics["processed"]
    # Event times an hour ahead, aligned to a minute: only events move the partitions' clocks (the
    # wall clock never closes a window), so what is decided depends on the order of the stream alone.
    start = datetime.fromtimestamp((int(time.time()) // 60 + 60) * 60, timezone.utc)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def events(service: str, level: str, *seconds: float) -> list[dict[str, Any]]:
        return [processed_event(service, level, at(s)) for s in seconds]

    # The decided window is [30 s, 40 s): it closes (end + grace) once a partition's clock reaches 42 s.
    on_time = (
        # baseline-b: 2 errors in each of the 3 windows before it (a mean of 2), then 12 (> 3 x 2, >= 10).
        events("baseline-b", "ERROR", 1, 2, 11, 12, 21, 22) + events("baseline-b", "INFO", 3, 13, 23)
        + events("baseline-b", "ERROR", *(30 + 0.5 * n for n in range(12)))
        # ratio-a: 8 errors of 20 events (0.4 > 0.3, min_events 20 met).
        + events("ratio-a", "ERROR", *(31 + n for n in range(8)))
        + events("ratio-a", "INFO", *(30 + 0.5 * n for n in range(12)))
        # count-c: 5 errors, not above 5.
        + events("count-c", "ERROR", 31, 32, 33, 34, 35)
        # count-d: 8 errors within 8 s, but 4 in each of two windows.
        + events("count-d", "ERROR", 26, 27, 28, 29, 30, 31, 32, 33)
        # count-e: 3 errors in time (4 more come beyond the grace, below).
        + events("count-e", "ERROR", 31, 32, 33)
        # count-f, the control: 4 errors in time (2 more come within the grace, below).
        + events("count-f", "ERROR", 31, 32, 33, 34)
    )
    on_time.sort(key=lambda e: e["timestamp"])
    # count-f's clock passes the window's end (41 s), then 2 errors of the window arrive: within the grace.
    within_grace = events("count-f", "INFO", 41) + events("count-f", "ERROR", 38, 39)
    # Every service's clock reaches 43 s: the window is decided everywhere, the next one nowhere.
    services = ("ratio-a", "baseline-b", "count-c", "count-d", "count-e", "count-f")
    closers = [e for service in services for e in events(service, "INFO", 43)]
    # Then 4 errors of count-e's decided window (3 + 4 > 5): counted, but the decision stands.
    beyond_grace = events("count-e", "ERROR", 35, 36, 37, 38)

    with serving(http):
        worker = Worker(project, app_id, tmp_path / "home", tmp_path / "worker.log", {})
        try:
            worker.wait_ready()
            # One producer, in this order: a service's events stay in its partition, in order.
            produce(settings, project, processed, on_time + within_grace + closers + beyond_grace)
            # Committed offsets follow the flush of what the events produced: every alert is written.
            eventually(lambda: committed_to_end(settings, app_id, processed), 90, 1,
                       f"the worker processed every event; log:\n{worker.tail()}")
            alerts = read_all(settings, topics["alerts"])

            # Verify: exactly three alerts, each fired on the window [30 s, 40 s); none for count-c, -d, -e.
            fired = sorted((a["rule"], a["service"], a["state"], a["observed"], a["threshold"]) for a in alerts)
            assert fired == [
                ("error-count", "count-f", "fired", 6.0, 5.0),
                ("error-ratio", "ratio-a", "fired", 0.4, 0.3),
                ("error-spike", "baseline-b", "fired", 12.0, 6.0),
            ], worker.tail()
            hooks = eventually(lambda: len(http.received("/hook")) >= 3 and http.received("/hook"), 30, 0.5,
                               f"the webhook got the three alerts; log:\n{worker.tail()}")
            assert worker.proc.poll() is None, worker.tail()
        finally:
            worker.stop()

    assert {(a["window_start"], a["window_end"]) for a in alerts} == {(at(30), at(40))}
    assert sorted((h["rule"], h["service"], h["state"]) for h in hooks) == [f[:3] for f in fired]
    errors = {e["event_id"] for e in on_time + within_grace if e["level"] == "ERROR"}
    assert all(a["sample_event_ids"] and set(a["sample_event_ids"]) <= errors for a in alerts)


def test_a_worker_killed_mid_window_recovers_its_counts_from_the_changelog(
    project: Project, settings: Settings, app_id: str, tmp_path: Path
) -> None:
    # Arrange: a rule that needs 31 errors in a minute; a window an hour ahead, so only event time
    # moves it (the wall clock never closes it early, however long the restart takes).
    topics = prepare(project, RESTART_RULES)
    processed = topics["processed"]
    start = datetime.fromtimestamp((int(time.time()) // 60 + 60) * 60, timezone.utc)
    first = Worker(project, app_id, tmp_path / "home-1", tmp_path / "worker-1.log", {})
    try:
        first.wait_ready()

        # Produce 20 errors, wait until they are counted and committed, then kill -9 mid-window.
        produce(settings, project, processed,
                [processed_event("payments", "ERROR", start + timedelta(seconds=1 + n)) for n in range(20)])
        eventually(lambda: committed_to_end(settings, app_id, processed), 60, 1,
                   f"the first worker committed the events; log:\n{first.tail()}")
        first.kill()
    finally:
        first.stop()
    assert read_all(settings, topics["alerts"], timeout=3) == []  # 20 is below the threshold

    # Act: a new worker, on an empty disk (its tables can only come from the changelogs), gets 20
    # more errors in the same window, then an event past the window's end and grace.
    second = Worker(project, app_id, tmp_path / "home-2", tmp_path / "worker-2.log", {})
    try:
        second.wait_ready(timeout=240)  # the killed member leaves the group only at its session timeout
        produce(settings, project, processed,
                [processed_event("payments", "ERROR", start + timedelta(seconds=21 + n)) for n in range(20)]
                + [processed_event("payments", "INFO", start + timedelta(seconds=66))])

        # Verify: the rule fired on 40 errors, which only the recovered counts make.
        alerts = eventually(lambda: read_all(settings, topics["alerts"], timeout=2), 90, 1,
                            f"an alert; worker log:\n{second.tail()}")
    finally:
        second.stop()
    assert [(a["rule"], a["state"], a["observed"]) for a in alerts] == [("payments-restart", "fired", 40.0)]
    fired = alerts[0]
    assert (fired["window_start"], fired["window_end"]) == (start, start + timedelta(minutes=1))
    assert len(fired["sample_event_ids"]) == 5  # at most 5 per alert


def test_a_notification_still_retried_when_the_worker_is_killed_is_sent_by_the_next_worker(
    project: Project, settings: Settings, app_id: str, tmp_path: Path
) -> None:
    # Arrange: the webhook fails until the first worker is gone; deliveries retry for minutes.
    http = HttpReceiver()
    http.failing.add("/hook")
    topics = prepare(project, NOTIFY_RULES.format(hook=http.url("/hook")))
    env = {"LOGLANE_ALERTS_NOTIFY_ATTEMPTS": "20", "LOGLANE_ALERTS_NOTIFY_BACKOFF": "1"}
    with serving(http):
        first = Worker(project, app_id, tmp_path / "home-1", tmp_path / "worker-1.log", env)
        try:
            first.wait_ready()
            produce(settings, project, topics["processed"],
                    [processed_event("checkout", "ERROR", datetime.now(timezone.utc)) for _ in range(10)])
            # Four failed attempts (1 + 2 + 4 s of backoff): the worker committed more than once since.
            eventually(lambda: len(http.received("/hook")) >= 4, 120, 0.5, f"failed attempts; log:\n{first.tail()}")
            # Counting is committed (so nothing fires again); the alert's offset is held by its retries.
            eventually(lambda: committed_to_end(settings, app_id, topics["processed"]), 30, 0.5, "counted")
            assert not committed_to_end(settings, app_id, topics["alerts"])
            first.kill()
        finally:
            first.stop()
        failed_attempts = len(http.received("/hook"))
        http.failing.discard("/hook")

        # Act: the next worker, on an empty disk.
        second = Worker(project, app_id, tmp_path / "home-2", tmp_path / "worker-2.log", env)
        try:
            second.wait_ready(timeout=240)
            delivered = eventually(lambda: http.received("/hook")[failed_attempts:], 90, 0.5,
                                   f"the notification, sent by the next worker; log:\n{second.tail()}")
        finally:
            second.stop()

    # Verify: the one alert that fired, delivered after the restart; it did not fire twice.
    fired = [a for a in read_all(settings, topics["alerts"], timeout=3) if a["state"] == "fired"]
    assert len(fired) == 1
    assert delivered[0]["alert_id"] == fired[0]["alert_id"] and delivered[0]["state"] == "fired"
