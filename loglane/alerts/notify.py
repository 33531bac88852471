"""Notifications: each alert goes to each of its channels, through one bounded queue and one task per
channel, so a slow or dead channel delays only itself; submitting never waits. A delivery is retried
with exponential backoff; when a channel refuses it for good, keeps failing, or its queue is full,
the alert goes to the notification dead-letter topic with the channel and the reason. `settled` is
called once every channel of a notification is done with it (delivered or dead-lettered), so the
worker commits an alert's offset only then: a worker killed with notifications queued sends them
again after its restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import smtplib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loglane import __version__
from loglane.alerts.messages import email_message, headline, slack_payload, webhook_payload
from loglane.alerts.rules import ENV_PLACEHOLDER, Channel
from loglane.errors import LoglaneError

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0


class DeadLetterKind(StrEnum):
    """DeadLetter.error_kind of a notification that was not delivered."""

    FAILED = "delivery_failed"  # kept failing: every attempt was used
    REFUSED = "delivery_refused"  # the receiver refused it for good (e.g. HTTP 400), or the channel is unusable
    QUEUE_FULL = "queue_full"  # the channel was too far behind to take it
    UNKNOWN_CHANNEL = "unknown_channel"  # no rule names a channel of that name any more


class DeliveryError(LoglaneError):
    """One delivery attempt failed; permanent: retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Notification:
    """One alert record to deliver, with where it came from (for its dead letter)."""

    alert: Mapping[str, Any]
    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Undelivered:
    notification: Notification
    channel: str
    kind: DeadLetterKind
    reason: str


Deliver = Callable[[Channel, Mapping[str, Any]], Awaitable[None]]
DeadLetter = Callable[[Undelivered], Awaitable[None]]
Settled = Callable[[Notification], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first: float = 1.0
    most: float = MAX_BACKOFF

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.first * 2 ** (attempt - 1), self.most)


@dataclass
class ChannelStats:
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0


@dataclass
class _Lane:
    queue: asyncio.Queue[Notification]
    task: asyncio.Task[None] | None = None
    stats: ChannelStats = field(default_factory=ChannelStats)


class Notifier:
    def __init__(self, channels: Callable[[str], Channel | None], deliver: Deliver, dead_letter: DeadLetter,
                 queue_size: int = 1000, retry: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 settled: Settled = lambda notification: None) -> None:
        self._channels = channels
        self._settled = settled
        self._unsettled: dict[int, int] = {}  # by id(): channels still working on each notification
        self._deliver = deliver
        self._dead_letter = dead_letter
        self._queue_size = queue_size
        self._retry = retry
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    def stats(self) -> dict[str, ChannelStats]:
        return {name: lane.stats for name, lane in self._lanes.items()}

    def pending(self) -> int:
        return sum(lane.queue.qsize() for lane in self._lanes.values())

    async def submit(self, notification: Notification) -> None:
        """Queue the alert for each of its channels; returns at once (a dead letter is only produced)."""
        queued = 0
        for name in notification.alert.get("channels") or ():
            if self._channels(name) is None:
                await self._give_up(notification, name, DeadLetterKind.UNKNOWN_CHANNEL,
                                    f'channel "{name}": no rule defines it (removed from rules/alerts.yaml?)')
                continue
            lane = self._lane(name)
            try:
                lane.queue.put_nowait(notification)
                queued += 1
            except asyncio.QueueFull:
                await self._give_up(notification, name, DeadLetterKind.QUEUE_FULL,
                                    f'channel "{name}": {lane.queue.qsize()} notifications already waiting '
                                    f"(LOGLANE_ALERTS_NOTIFY_QUEUE); this one was not sent")
        if queued:
            self._unsettled[id(notification)] = queued  # alive until settled: it sits in the queues
        else:
            self._settled(notification)

    def _settle(self, notification: Notification) -> None:
        left = self._unsettled.pop(id(notification)) - 1
        if left:
            self._unsettled[id(notification)] = left
        else:
            self._settled(notification)

    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane(asyncio.Queue(self._queue_size))
        if lane.task is None or lane.task.done():
            lane.task = asyncio.get_running_loop().create_task(self._run(name, lane), name=f"alerts-channel-{name}")
        return lane

    async def _run(self, name: str, lane: _Lane) -> None:
        while True:
            notification = await lane.queue.get()
            try:
                await self._send(name, lane, notification)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug must not stop the channel: dead-letter and go on
                log.exception("alerts: channel %s: unexpected failure", name)
                await self._give_up(notification, name, DeadLetterKind.FAILED,
                                    f'channel "{name}": internal error (a loglane bug; see the worker log)')
            finally:
                lane.queue.task_done()
            self._settle(notification)  # not when cancelled: a stop leaves it unsettled, read again

    async def _send(self, name: str, lane: _Lane, notification: Notification) -> None:
        what = headline(notification.alert)
        for attempt in range(1, self._retry.attempts + 1):
            channel = self._channels(name)  # looked up each time: apply may have changed its URL
            if channel is None:
                await self._give_up(notification, name, DeadLetterKind.UNKNOWN_CHANNEL,
                                    f'channel "{name}": no rule defines it any more')
                return
            try:
                await self._deliver(channel, notification.alert)
            except DeliveryError as exc:
                where = f'channel "{name}" ({channel.type} {channel.target()})'
                if exc.permanent:
                    await self._give_up(notification, name, DeadLetterKind.REFUSED, f"{where}: {exc}")
                    return
                if attempt == self._retry.attempts:
                    await self._give_up(notification, name, DeadLetterKind.FAILED,
                                        f"{where}: {exc} (after {attempt} attempts)")
                    return
                delay = self._retry.delay(attempt)
                lane.stats.retried += 1
                log.warning("alerts: %s: %s; attempt %d of %d, next in %.1fs", where, exc, attempt,
                            self._retry.attempts, delay)
                await self._sleep(delay)
            else:
                lane.stats.delivered += 1
                log.info("alerts: delivered to %s: %s", name, what)
                return

    async def _give_up(self, notification: Notification, name: str, kind: DeadLetterKind, reason: str) -> None:
        lane = self._lanes.get(name)
        if lane is not None:
            lane.stats.dead_lettered += 1
        log.error("alerts: not delivered (%s): %s: %s", kind, headline(notification.alert), reason)
        await self._dead_letter(Undelivered(notification, name, kind, reason))

    async def drain(self, timeout: float) -> None:
        """Wait up to timeout for the queues to empty (tests; an orderly stop)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(lane.queue.join() for lane in self._lanes.values())), timeout)

    async def close(self) -> None:
        """Stop every channel task; what is still queued is reported, not delivered."""
        waiting = {name: lane.queue.qsize() for name, lane in self._lanes.items() if lane.queue.qsize()}
        if waiting:
            log.warning("alerts: stopping with undelivered notifications: %s", waiting)
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Deliverer:
    """Delivers to the three channel types: webhook and Slack over HTTP (aiohttp), e-mail over SMTP
    (smtplib, in a thread so the worker's loop never waits on a mail server)."""

    def __init__(self, settings: Any) -> None:
        self.timeout = float(settings.alerts_notify_timeout)
        self.smtp_host = settings.alerts_smtp_host
        self.smtp_port = settings.alerts_smtp_port
        self.smtp_from = settings.alerts_smtp_from
        self.smtp_username = settings.alerts_smtp_username
        password = settings.alerts_smtp_password
        self._smtp_password = password.get_secret_value() if password is not None else None
        self.smtp_starttls = settings.alerts_smtp_starttls
        self._session: Any = None

    async def __call__(self, channel: Channel, alert: Mapping[str, Any]) -> None:
        if channel.type == "email":
            message = email_message(alert, self.smtp_from, channel.to)
            await asyncio.to_thread(self._mail, message)
        elif channel.type == "slack":
            await self._post(self._url(channel), slack_payload(alert))
        elif channel.type == "webhook":
            await self._post(self._url(channel), webhook_payload(alert))
        else:
            raise DeliveryError(f"unknown channel type {channel.type!r}", permanent=True)

    @staticmethod
    def _url(channel: Channel) -> str:
        url = str(channel.url)
        placeholder = ENV_PLACEHOLDER.match(url)
        if placeholder is None:
            return url
        value = os.environ.get(placeholder.group(1), "")
        if not value:
            raise DeliveryError(f"{placeholder.group(1)} is not set in the worker's environment", permanent=True)
        return value

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": f"loglane/{__version__}"},
            )
        started = time.monotonic()
        try:
            async with self._session.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}) as r:
                answer = (await r.text())[:200]
                status = r.status
        except asyncio.TimeoutError as exc:
            raise DeliveryError(f"no answer within {self.timeout:g}s (LOGLANE_ALERTS_NOTIFY_TIMEOUT)") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300:
            return
        # 408 and 429 ask to come back later, 5xx may pass; any other 4xx will fail again the same way.
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise DeliveryError(f"HTTP {status} after {time.monotonic() - started:.1f}s: {answer}", permanent=permanent)

    def _mail(self, message: Any) -> None:
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout) as smtp:
                if self.smtp_starttls:
                    smtp.starttls()
                if self.smtp_username:
                    smtp.login(self.smtp_username, self._smtp_password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused every recipient: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server will not take it; 4xx: try again later.
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            where = f"{self.smtp_host}:{self.smtp_port} (LOGLANE_ALERTS_SMTP_HOST/_PORT)"
            raise DeliveryError(f"SMTP {where}: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def dead_letter_record(undelivered: Undelivered, now: Any) -> dict[str, Any]:
    """The DeadLetter (schemas/dead_letter.avsc) of a notification: the alert's bytes, the channel
    and why, so it can be replayed once the channel works."""
    notification = undelivered.notification
    return {
        "stage": "notify",
        "error_kind": str(undelivered.kind),
        "reason": undelivered.reason,
        "original": notification.value,
        "original_key": notification.key,
        "source_topic": notification.topic,
        "source_partition": notification.partition,
        "source_offset": notification.offset,
        "event_id": str(notification.alert.get("alert_id")),
        "failed_at": now,
    }
