"""The notifier: a queue and a task per channel, retries with backoff, dead letters; and what each
channel type receives."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from loglane.alerts.evaluate import AlertState
from loglane.alerts.messages import email_message, slack_payload, webhook_payload
from loglane.alerts.notify import (
    DeadLetterKind, Deliverer, DeliveryError, Notification, Notifier, RetryPolicy, Undelivered, dead_letter_record,
)
from loglane.alerts.rules import Channel
from loglane.settings import Settings
from tests.unit.alerts.rules import T0

CHANNELS = {
    "hook": Channel("hook", "webhook", "http://127.0.0.1:9/hook"),
    "slow": Channel("slow", "webhook", "http://127.0.0.1:9/slow"),
    "mail": Channel("mail", "email", to=("oncall@example.test",)),
}


def alert(state: str = "fired", channels: tuple[str, ...] = ("hook",), **changes: Any) -> dict[str, Any]:
    record = {
        "alert_id": "a-1", "rule": "storm", "state": state, "severity": "P1", "tenant": "shop",
        "service": "checkout", "environment": "prod", "scope": "tenant=* service=checkout environment=*",
        "condition": "count(level >= ERROR) over 1m > 10", "window_start": T0, "window_end": T0 + 60_000,
        "observed": 25.0, "threshold": 10.0, "fired_at": T0 + 70_000,
        "resolved_at": T0 + 130_000 if state == "resolved" else None, "sample_event_ids": ["e1", "e2"],
        "channels": list(channels), "summary": "[P1] storm: checkout: 25", "updated_at": T0 + 70_000,
    }
    return {**record, **changes}


def notification(**changes: Any) -> Notification:
    return Notification(alert(**changes), b"avro", b"a-1", "logs.alerts", 0, 7)


class Receiver:
    """Delivers by recording; per channel it can fail, fail for good, or take its time."""

    def __init__(self, failures: Mapping[str, int] | None = None, permanent: set[str] | None = None,
                 delays: Mapping[str, float] | None = None) -> None:
        self.failures = dict(failures or {})
        self.permanent = permanent or set()
        self.delays = delays or {}
        self.got: list[tuple[str, str]] = []
        self.attempts: dict[str, int] = {}

    async def __call__(self, channel: Channel, record: Mapping[str, Any]) -> None:
        self.attempts[channel.name] = self.attempts.get(channel.name, 0) + 1
        await asyncio.sleep(self.delays.get(channel.name, 0))
        if channel.name in self.permanent:
            raise DeliveryError("HTTP 404: no such hook", permanent=True)
        if self.failures.get(channel.name, 0) > 0:
            self.failures[channel.name] -= 1
            raise DeliveryError("HTTP 503")
        self.got.append((channel.name, str(record["state"])))


def run(receiver: Receiver, notifications: list[Notification], queue_size: int = 10,
        attempts: int = 3, settled: list[Notification] | None = None) -> tuple[list[Undelivered], list[float], Notifier]:
    dead: list[Undelivered] = []
    slept: list[float] = []

    async def dead_letter(undelivered: Undelivered) -> None:
        dead.append(undelivered)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> Notifier:
        notifier = Notifier(CHANNELS.get, receiver, dead_letter, queue_size, RetryPolicy(attempts, 0.5), sleep,
                            settled=(settled if settled is not None else []).append)
        for item in notifications:
            await notifier.submit(item)
        await notifier.drain(5)
        await notifier.close()
        return notifier

    return dead, slept, asyncio.run(go())


def test_each_channel_gets_each_alert_in_order() -> None:
    receiver = Receiver()
    dead, _, notifier = run(receiver, [notification(channels=("hook", "mail")),
                                       notification(state="resolved", channels=("hook", "mail"))])
    assert dead == []
    assert [g for g in receiver.got if g[0] == "hook"] == [("hook", "fired"), ("hook", "resolved")]
    assert [g for g in receiver.got if g[0] == "mail"] == [("mail", "fired"), ("mail", "resolved")]
    assert notifier.stats()["hook"].delivered == 2


def test_a_failing_delivery_is_retried_with_backoff_then_dead_lettered() -> None:
    receiver = Receiver(failures={"hook": 2})
    dead, slept, _ = run(receiver, [notification()])
    assert receiver.got == [("hook", "fired")] and slept == [0.5, 1.0] and dead == []

    receiver = Receiver(failures={"hook": 99})
    dead, slept, notifier = run(receiver, [notification()])
    assert receiver.attempts["hook"] == 3 and slept == [0.5, 1.0]
    assert [(d.channel, d.kind) for d in dead] == [("hook", DeadLetterKind.FAILED)]
    assert dead[0].reason == 'channel "hook" (webhook http://127.0.0.1:9/hook): HTTP 503 (after 3 attempts)'
    assert notifier.stats()["hook"].dead_lettered == 1


def test_a_notification_is_settled_once_every_channel_delivered_or_dead_lettered_it() -> None:
    settled: list[Notification] = []
    delivered, refused, unknown = (notification(channels=("hook", "mail")), notification(channels=("slow",)),
                                   notification(channels=("nowhere",)))
    dead, _, _ = run(Receiver(permanent={"slow"}), [delivered, refused, unknown], settled=settled)
    assert [d.kind for d in dead] == [DeadLetterKind.UNKNOWN_CHANNEL, DeadLetterKind.REFUSED]
    assert sorted(map(id, settled)) == sorted(map(id, [delivered, refused, unknown]))  # each once


def test_a_notification_still_queued_is_not_settled() -> None:
    settled: list[Notification] = []

    async def go() -> None:
        async def dead_letter(_: Undelivered) -> None: ...

        notifier = Notifier(CHANNELS.get, Receiver(delays={"slow": 5}), dead_letter, 10, RetryPolicy(1, 0.1),
                            settled=settled.append)
        await notifier.submit(notification(channels=("slow", "hook")))
        await asyncio.sleep(0.1)  # hook delivered, slow still at it
        await notifier.close()

    asyncio.run(go())
    assert settled == []


def test_a_refusal_for_good_is_not_retried() -> None:
    receiver = Receiver(permanent={"hook"})
    dead, slept, _ = run(receiver, [notification()])
    assert receiver.attempts["hook"] == 1 and slept == []
    assert [d.kind for d in dead] == [DeadLetterKind.REFUSED]


def test_a_slow_channel_delays_only_itself_and_submitting_never_waits() -> None:
    receiver = Receiver(delays={"slow": 0.5})

    async def go() -> tuple[float, list[tuple[str, str]]]:
        async def dead_letter(_: Undelivered) -> None: ...

        notifier = Notifier(CHANNELS.get, receiver, dead_letter, 10, RetryPolicy(1, 0.1))
        started = asyncio.get_running_loop().time()
        for _ in range(3):
            await notifier.submit(notification(channels=("slow", "hook")))
        submitted = asyncio.get_running_loop().time() - started
        await asyncio.sleep(0.1)
        early = list(receiver.got)
        await notifier.close()
        return submitted, early

    submitted, early = asyncio.run(go())
    assert submitted < 0.05
    assert early == [("hook", "fired")] * 3  # all of the fast channel's, none of the slow one's yet


def test_a_full_queue_dead_letters_at_once() -> None:
    receiver = Receiver(delays={"slow": 0.2})
    dead, _, _ = run(receiver, [notification(channels=("slow",)) for _ in range(4)], queue_size=2)
    # The first is taken by the channel's task only once submit yields; the queue holds 2.
    assert [d.kind for d in dead] == [DeadLetterKind.QUEUE_FULL] * 2
    assert "LOGLANE_ALERTS_NOTIFY_QUEUE" in dead[0].reason
    assert receiver.got == [("slow", "fired")] * 2


def test_an_unknown_channel_is_dead_lettered() -> None:
    dead, _, _ = run(Receiver(), [notification(channels=("gone",))])
    assert [(d.channel, d.kind) for d in dead] == [("gone", DeadLetterKind.UNKNOWN_CHANNEL)]


def test_the_dead_letter_keeps_the_alert_and_where_it_came_from() -> None:
    undelivered = Undelivered(notification(), "hook", DeadLetterKind.FAILED, "HTTP 503")
    record = dead_letter_record(undelivered, "now")
    assert record == {
        "stage": "notify", "error_kind": "delivery_failed", "reason": "HTTP 503", "original": b"avro",
        "original_key": b"a-1", "source_topic": "logs.alerts", "source_partition": 0, "source_offset": 7,
        "event_id": "a-1", "failed_at": "now",
    }


def test_an_unset_environment_variable_is_a_refusal_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IT_NO_SUCH_HOOK", raising=False)
    deliverer = Deliverer(Settings())
    channel = Channel("hook", "webhook", "${env:IT_NO_SUCH_HOOK}")
    with pytest.raises(DeliveryError, match="IT_NO_SUCH_HOOK is not set") as caught:
        asyncio.run(deliverer(channel, alert()))
    assert caught.value.permanent


def test_what_each_channel_type_receives() -> None:
    fired, resolved = alert(), alert(state=str(AlertState.RESOLVED))
    body = webhook_payload(fired)
    assert body["version"] == 1 and body["state"] == "fired" and body["resolved_at"] is None
    assert (body["window_start"], body["fired_at"]) == ("2026-03-01T12:00:00Z", "2026-03-01T12:01:10Z")
    assert webhook_payload(resolved)["resolved_at"] == "2026-03-01T12:02:10Z"

    slack = slack_payload(fired)
    assert slack["text"] == ":rotating_light: [P1] FIRED storm: checkout (prod, tenant shop)"
    fields = {f["title"]: f["value"] for f in slack["attachments"][0]["fields"]}
    assert fields["Observed"] == "25" and fields["Sample events"] == "e1, e2"
    assert slack_payload(resolved)["attachments"][0]["color"] == "#2eb67d"

    mail = email_message(resolved, "loglane@localhost", ["a@example.test", "b@example.test"])
    assert mail["Subject"] == "[P1] RESOLVED storm: checkout (prod, tenant shop)"
    assert mail["To"] == "a@example.test, b@example.test"
    assert "Resolved at: 2026-03-01T12:02:10Z" in mail.get_content()
