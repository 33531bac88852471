"""The background half of the SDK: one thread that serializes events and produces them to Kafka,
spilling to the spool while Kafka (or the registry) cannot take them, and replaying in order.

How events flow, and why order holds per service (one key, one partition):

    submit() ──▶ queue (bounded) ──▶ serialize ──▶ librdkafka (bounded) ──▶ Kafka
        │ spilling, or queue full                         ▲
        └──▶ spool (disk, in seq order) ──▶ replay ───────┘

- submit() runs in the application's thread: it takes a lock, gives the event a sequence number
  and either appends it to the queue or, while `spilling`, appends it to the spool as JSON (it
  never serializes, so it never talks to the registry). Once one event went to the spool, all
  later ones do, until the spool is replayed to its end with the broker healthy.
- Spilling starts when the queue is full, when librdkafka reports all brokers down, when
  deliveries stall, or when the registry cannot be reached; each start begins a new spool segment.
- Queue events always go to librdkafka, whose own queue is bounded; librdkafka retries them
  until delivered (message.timeout.ms=0: no timeout, so no reordering by expiry).
- Queue events and replayed events are never in flight together: the queue is produced only
  when no replayed event is in flight, the spool only when the queue is empty and no queue event
  is in flight. So a failure involves one origin, and ordering survives it:
  failed queue events (and the queue behind them) are written to the spool as a segment that
  sorts before what was spilled after them; failed replayed events are simply read again.
- close() purges what librdkafka still holds and writes it to the spool the same way, so nothing
  that was accepted is lost when the process ends with Kafka down; the next handler on the same
  spool directory replays it first.

Losses are counted in `stats().dropped` by reason and announced on stderr (rate-limited):
spool_full, spool_error (the spool could not take the event), spool_corrupt (unreadable spool
bytes), rejected (the broker refused the record for good, e.g. too large), serialization (the
event does not fit the schema), closed (emitted after close), internal (a bug in the SDK).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from loglane.sdk.errors import InvalidEvent, SpoolFull
from loglane.sdk.event import LogEvent
from loglane.sdk.spool import KIND_AVRO, KIND_JSON, Frame, Position, Spool, SpooledFrame

# LogEvent -> bytes; raises InvalidEvent for an event that can never be serialized, anything else
# when it cannot serialize now (registry unreachable): the event is then kept and retried.
Serializer = Callable[[LogEvent], bytes]

_DIRECT, _SPOOL = 0, 1
_HOLD, _DROPPED = object(), object()  # serialize: retry later / never; produce: retry later / dropped
_OK = object()
_PENDING, _DONE, _FAILED = 0, 1, 2
# Delivery errors that can never succeed on retry: the event is counted as dropped, not kept.
_PERMANENT = frozenset(
    {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.INVALID_RECORD}
)
_BROKER_DOWN = frozenset({KafkaError._ALL_BROKERS_DOWN})


@dataclass(frozen=True)
class HandlerStats:
    """Counts since the handler started. Every event emitted is, or will be, exactly one of:
    delivered (directly or replayed), waiting (buffered in memory or in the spool), or dropped."""

    emitted: int
    delivered: int  # includes replayed
    spooled: int  # events written to the spool (an event can be spooled once per outage)
    replayed: int  # delivered from the spool
    dropped: Mapping[str, int]  # reason -> events; see the module docstring
    buffered: int  # in memory now: queued or in flight
    spool_bytes: int
    broker_up: bool
    spilling: bool

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass(frozen=True)
class ShipperConfig:
    topic: str
    producer_config: Mapping[str, Any]
    buffer_size: int = 50_000  # events in the queue; librdkafka holds up to as many more
    buffer_kbytes: int = 65_536  # librdkafka's queue, KiB
    replay_window: int = 10_000  # replayed events in flight at once
    stall_timeout: float = 10.0  # seconds without a delivery while events are in flight: broker down
    fsync_interval: float = 1.0
    warn_interval: float = 30.0  # at most one stderr line per reason per interval
    name: str = "loglane"


class _Entry:
    __slots__ = ("end", "event", "key", "origin", "seq", "start", "state", "value")

    def __init__(self, seq: int, event: LogEvent | None, key: bytes, value: bytes | None = None) -> None:
        self.seq = seq
        self.event = event
        self.key = key
        self.value = value
        self.origin = _DIRECT
        self.start: Position | None = None
        self.end: Position | None = None
        self.state = _PENDING

    def frame(self) -> Frame:
        if self.value is not None:
            return Frame(self.seq, KIND_AVRO, self.key, self.value)
        return Frame(self.seq, KIND_JSON, self.key, json.dumps(self.event, separators=(",", ":")).encode())


class Warner:
    """One-line stderr notices, at most one per reason per interval; what was held back is summed."""

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def warn(self, reason: str, message: str, count: int = 0) -> None:
        now = time.monotonic()
        with self._lock:
            self._held[reason] += count
            if now - self._last.get(reason, -1e9) < self.interval:
                return
            self._last[reason] = now
            held, self._held[reason] = self._held[reason], 0
        suffix = f" ({held} event(s) since the last notice)" if held > 1 else ""
        try:
            sys.stderr.write(f"{self.name}: {message}{suffix}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001, S110 - a closed stderr must not break logging
            pass


class Shipper:
    def __init__(self, config: ShipperConfig, serializer: Serializer, spool: Spool, warner: Warner) -> None:
        self.config = config
        self._serialize = serializer
        self._spool = spool
        self._warner = warner
        self._lock = threading.Lock()  # orders submit() against spilling decisions
        self._queue: deque[_Entry] = deque()
        self._spilling = False
        self._closed = False
        self._seq = max(time.time_ns(), spool.last_seq + 1)
        # counters written by submit() (under _lock) and by the thread
        self._emitted = 0
        self._spooled = 0
        self._delivered = 0
        self._replayed = 0
        self._dropped: Counter[str] = Counter()
        self._dropped_lock = threading.Lock()
        # the thread's own state
        self._producer: Producer | None = None
        self._head: _Entry | None = None  # taken from the queue, not yet produced
        self._direct_inflight = 0
        self._replay_inflight = 0
        self._replay: deque[_Entry] = deque()  # replayed entries in produce order, for acks
        self._failed_direct: list[_Entry] = []
        self._failed_replay = False
        self._skip: set[Position] = set()  # replayed frames already resolved before a rewind
        self._fatal = False
        self._down = False
        self._last_progress = time.monotonic()
        self._retry_at = 0.0
        self._backoff = 0.5
        self._last_error = ""
        self._last_sync = time.monotonic()
        self._idle = threading.Condition()
        self._is_idle = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._producer = self._new_producer()
        if self._spool.unread():
            self._set_spilling("events left in the spool by an earlier run: replaying them first")
        self._thread = threading.Thread(target=self._run, name=f"{self.config.name}-shipper", daemon=True)
        self._thread.start()

    def _new_producer(self) -> Producer:
        return Producer(dict(self.config.producer_config), error_cb=self._on_error)

    def flush(self, timeout: float) -> bool:
        """Wait until every event so far is delivered (memory and spool empty); False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while not (self._is_idle and not self._queue and not self._spilling):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._idle.wait(min(remaining, 0.1))
        return True

    def close(self, timeout: float) -> None:
        """Deliver what can be delivered within timeout, keep the rest in the spool, stop."""
        deadline = time.monotonic() + timeout
        self.flush(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(1.0, deadline - time.monotonic()) + 5.0)
        pending = self._spool.size_bytes
        self._spool.close()
        if pending:
            self._warner.warn(
                "left",
                f"{pending} bytes of log events stay in the spool {self._spool.directory}; "
                "the next handler with this spool directory delivers them",
            )

    # -- the application's side ------------------------------------------------------------
    def submit(self, event: LogEvent) -> None:
        """Accept one event; never blocks on I/O other than a local spool append, never raises."""
        try:
            with self._lock:
                self._emitted += 1
                if self._closed:
                    self._drop("closed", 1, "an event was logged after the handler was closed")
                    return
                self._seq += 1
                if not self._spilling:
                    if len(self._queue) < self.config.buffer_size:
                        self._queue.append(_Entry(self._seq, event, event["service"].encode()))
                        if len(self._queue) == 1:
                            self._wake.set()
                        return
                    self._start_spilling_locked("the in-memory buffer is full")
                self._spool_locked(_Entry(self._seq, event, event["service"].encode()))
        except Exception as exc:  # noqa: BLE001 - never raise into the application (emitted is counted)
            self._drop("internal", 1, f"internal error while accepting an event: {exc!r}")  # emitted counted

    def is_own_thread(self) -> bool:
        thread = self._thread
        return thread is not None and thread.ident == threading.get_ident()

    def reject(self, reason: str, message: str) -> None:
        """Count an event the application emitted but that never became a LogEvent (a bug)."""
        with self._lock:
            self._emitted += 1
        self._drop(reason, 1, message)

    def stats(self) -> HandlerStats:
        return HandlerStats(
            emitted=self._emitted,
            delivered=self._delivered,
            spooled=self._spooled,
            replayed=self._replayed,
            dropped=self._dropped_copy(),
            buffered=len(self._queue) + self._direct_inflight + (self._head is not None),
            spool_bytes=self._spool.size_bytes,
            broker_up=not self._down,
            spilling=self._spilling,
        )

    def _dropped_copy(self) -> dict[str, int]:
        with self._dropped_lock:
            return dict(self._dropped)

    def _drop(self, reason: str, count: int, message: str) -> None:
        with self._dropped_lock:
            self._dropped[reason] += count
        self._warner.warn(
            f"drop:{reason}", f"dropped {count} log event(s) ({reason}): {message}; see the handler's stats()", count
        )

    def _spool_locked(self, entry: _Entry) -> None:
        try:
            self._spool.append(entry.frame())
            self._spooled += 1
        except Exception as exc:  # noqa: BLE001 - SpoolFull, SpoolError, an unencodable event
            self._drop("spool_full" if isinstance(exc, SpoolFull) else "spool_error", 1, str(exc))

    def _start_spilling_locked(self, why: str) -> None:
        if not self._spilling:
            self._spilling = True
            self._spool.rotate()
            self._warner.warn("spill", f"{why}; spooling log events to {self._spool.directory}")

    def _set_spilling(self, why: str) -> None:
        with self._lock:
            self._start_spilling_locked(why)

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # noqa: BLE001 - keep shipping; report the bug
                self._warner.warn("internal", f"internal error in the shipper thread: {exc!r}")
                time.sleep(0.1)
        try:
            self._shutdown()
        except Exception as exc:  # noqa: BLE001 - the spool keeps what it holds
            self._warner.warn("internal", f"internal error while closing: {exc!r}; the spool keeps what it holds")
        finally:
            with self._idle:
                self._is_idle = True
                self._idle.notify_all()

    def _step(self) -> None:
        producer = self._producer
        assert producer is not None
        self._wake.clear()
        producer.poll(0)
        now = time.monotonic()
        busy = False
        if self._fatal and not (self._failed_direct or self._failed_replay):
            # The idempotent producer cannot go on: fail what it holds (kept, see _recover) and replace it.
            if self._direct_inflight or self._replay_inflight:
                producer.purge(in_queue=True, in_flight=True)
                producer.poll(0)
            else:
                self._recover()
            return
        if self._failed_direct or self._failed_replay:
            if self._direct_inflight or self._replay_inflight:
                producer.poll(0.05)
                return
            self._recover()
        if now >= self._retry_at:
            if self._replay_inflight == 0:
                busy |= self._pump_queue(producer)
            if self._spilling and not self._queue and self._head is None and self._direct_inflight == 0:
                busy |= self._pump_spool(producer)
                self._maybe_stop_spilling()
        self._housekeeping(now)
        if not busy:
            if self._direct_inflight or self._replay_inflight:
                producer.poll(0.02)
            else:
                self._wake.wait(0.1)

    def _pump_queue(self, producer: Producer) -> bool:
        produced = 0
        while produced < 2000:
            if self._head is None:
                if not self._queue:
                    break
                self._is_idle = False
                self._head = self._queue.popleft()
            entry = self._head
            if entry.value is None:
                value = self._serialize_or_hold(entry.event)  # type: ignore[arg-type]
                if value is _HOLD:
                    break  # the registry is unreachable: the head waits, later events spill
                if value is _DROPPED:
                    self._head = None
                    continue
                entry.value, entry.event = value, None  # type: ignore[assignment]
            outcome = self._produce(producer, entry)
            if outcome is _HOLD:
                break
            self._head = None
            if outcome is _DROPPED:
                continue
            self._direct_inflight += 1
            produced += 1
            if produced % 500 == 0:
                producer.poll(0)
        return produced > 0

    def _pump_spool(self, producer: Producer) -> bool:
        room = self.config.replay_window - self._replay_inflight
        if room <= 0:
            return False
        items = self._spool.read(min(room, 2000))
        for item in items:
            if item.start in self._skip:  # resolved before a rewind: not again
                self._skip.discard(item.start)
                self._resolve(item)
                continue
            frame = item.frame
            if frame is None:
                size = item.end.offset - item.start.offset
                self._drop("spool_corrupt", 1, f"{size} unreadable bytes in the spool {self._spool.directory}")
                self._resolve(item)
                continue
            entry = _Entry(frame.seq, None, frame.key, frame.value if frame.kind == KIND_AVRO else None)
            entry.origin, entry.start, entry.end = _SPOOL, item.start, item.end
            if entry.value is None:
                try:
                    event = json.loads(frame.value)
                except ValueError:
                    self._drop("spool_corrupt", 1, f"an undecodable event in the spool {self._spool.directory}")
                    self._resolve(item)
                    continue
                value = self._serialize_or_hold(event)
                if value is _HOLD:
                    self._spool.rewind(item.start)  # read it again once the registry answers
                    break
                if value is _DROPPED:
                    self._resolve(item)
                    continue
                entry.value = value  # type: ignore[assignment]
            self._replay.append(entry)
            outcome = self._produce(producer, entry)
            if outcome is _HOLD:
                self._replay.pop()
                self._spool.rewind(item.start)
                break
            if outcome is _DROPPED:
                entry.state = _DONE
                self._commit_acks()
                continue
            self._replay_inflight += 1
        return bool(items)

    def _resolve(self, item: SpooledFrame) -> None:
        """A spool item that needs no delivery (dropped, or resolved before a rewind): commit it in order."""
        entry = _Entry(-1, None, b"")
        entry.origin, entry.start, entry.end, entry.state = _SPOOL, item.start, item.end, _DONE
        self._replay.append(entry)
        self._commit_acks()

    def _serialize_or_hold(self, event: LogEvent) -> object:
        """The event's bytes; _HOLD when the registry cannot be used now (retry_at is set), _DROPPED
        when the event can never be serialized (counted)."""
        try:
            return self._serialize(event)
        except InvalidEvent as exc:
            self._drop("serialization", 1, str(exc))
            return _DROPPED
        except Exception as exc:  # noqa: BLE001 - registry unreachable or failing
            self._registry_trouble(exc)
        return _HOLD

    def _registry_trouble(self, exc: BaseException) -> None:
        self._set_spilling(f"the schema registry failed ({_short(exc)})")
        self._retry_later()

    def _produce(self, producer: Producer, entry: _Entry) -> object:
        """_OK (in flight), _HOLD (try again later) or _DROPPED (refused for good, counted)."""
        try:
            producer.produce(
                self.config.topic, value=entry.value, key=entry.key, on_delivery=partial(self._on_delivery, entry)
            )
            return _OK
        except BufferError:  # librdkafka's queue is full: the broker is slow or away
            producer.poll(0.05)
            return _HOLD
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is not None and error.code() in _PERMANENT:
                self._drop("rejected", 1, f"Kafka refuses the record: {error.str()}")
                return _DROPPED
            self._last_error = str(exc)
            self._retry_later()
            return _HOLD

    def _on_delivery(self, entry: _Entry, error: KafkaError | None, _message: Message) -> None:
        if entry.origin == _DIRECT:
            self._direct_inflight -= 1
        else:
            self._replay_inflight -= 1
        if error is None:
            entry.state = _DONE
            self._delivered += 1
            if entry.origin == _SPOOL:
                self._replayed += 1
            self._down = False
            self._last_progress = time.monotonic()
            self._backoff = 0.5
        elif error.code() in _PERMANENT:
            entry.state = _DONE
            self._drop("rejected", 1, f"Kafka refused the record: {error.str()}")
        else:
            entry.state = _FAILED
            if error.fatal():
                self._fatal = True
            if error.code() not in (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT):
                self._last_error = error.str()
            if entry.origin == _DIRECT:
                self._failed_direct.append(entry)
            else:
                self._failed_replay = True
        if entry.origin == _SPOOL:
            self._commit_acks()

    def _commit_acks(self) -> None:
        """Commit the delivered prefix of the replay log to the spool."""
        replay = self._replay
        while replay and replay[0].state == _DONE:
            done = replay.popleft()
            self._spool.commit(done.end)  # type: ignore[arg-type]

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = True
            self._last_error = error.str()
        if error.code() in _BROKER_DOWN and not self._down:
            self._down = True
            self._last_error = error.str()
            self._set_spilling(f"Kafka is unreachable ({error.str()})")

    def _recover(self) -> None:
        """After a failure, once nothing is in flight: put every kept event back in order, then retry."""
        if self._fatal:  # the idempotent producer cannot go on: a new one (new producer id)
            self._producer = self._new_producer()
            self._fatal = False
        if self._failed_direct:
            self._set_spilling(f"Kafka did not take log events ({self._last_error})")
            self._keep(self._failed_direct)
            self._failed_direct = []
        if self._failed_replay:
            first = self._replay[0]
            assert first.state == _FAILED and first.start is not None
            self._skip = {e.start for e in self._replay if e.state == _DONE and e.start is not None}
            self._replay.clear()
            self._spool.rewind(first.start)
            self._failed_replay = False
        self._retry_later()

    def _keep(self, failed: list[_Entry]) -> None:
        """Write failed queue events, the held one and the queue behind them to the spool, in seq order.

        They are older than anything spilled since (spilling is on, so submit() adds nothing to the
        queue); the spool places the run by its first seq, before those. Encoding and writing happen
        outside the lock, so the application is not held up meanwhile.
        """
        with self._lock:
            queued, self._queue = self._queue, deque()
            head, self._head = self._head, None
        entries = sorted(failed + ([head] if head else []) + list(queued), key=lambda e: e.seq)
        if not entries:
            return
        try:
            self._spool.insert([e.frame() for e in entries])
            with self._lock:
                self._spooled += len(entries)
        except Exception as exc:  # noqa: BLE001 - SpoolFull, SpoolError
            self._drop("spool_full" if isinstance(exc, SpoolFull) else "spool_error", len(entries), str(exc))

    def _retry_later(self) -> None:
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 30.0)

    def _maybe_stop_spilling(self) -> None:
        if self._down or self._failed_direct or self._failed_replay or self._retry_at > time.monotonic():
            return
        with self._lock:
            if self._spilling and not self._queue and self._head is None and not self._spool.unread():
                self._spilling = False
                self._warner.warn("resume", "Kafka takes log events again; the spool is replayed")

    def _housekeeping(self, now: float) -> None:
        inflight = self._direct_inflight + self._replay_inflight
        if inflight == 0:
            self._last_progress = now
        elif not self._down and now - self._last_progress > self.config.stall_timeout:
            self._down = True
            self._set_spilling(f"no delivery for {self.config.stall_timeout:.0f}s; Kafka looks unreachable")
        if now - self._last_sync >= self.config.fsync_interval:
            self._spool.sync()
            self._last_sync = now
        idle = (
            not self._queue
            and self._head is None
            and inflight == 0
            and not self._spilling
            and not self._failed_direct
            and not self._failed_replay
        )
        if idle != self._is_idle or idle:
            with self._idle:
                self._is_idle = idle
                if idle:
                    self._idle.notify_all()

    def _shutdown(self) -> None:
        """Final flush by the thread: whatever librdkafka still holds is purged and kept in the spool."""
        producer = self._producer
        assert producer is not None
        producer.flush(0.5)
        producer.purge(in_queue=True, in_flight=True)
        deadline = time.monotonic() + 5.0
        while (self._direct_inflight or self._replay_inflight) and time.monotonic() < deadline:
            producer.poll(0.05)
        self._keep(self._failed_direct)
        self._failed_direct = []
        if self._failed_replay:
            self._failed_replay = False  # still in the spool, after the committed prefix: replayed next run
        self._spool.sync()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."
