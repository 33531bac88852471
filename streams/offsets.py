"""Every record of a source partition processed in offset order, none skipped, and its offset
committed only once its outputs are flushed: the guard between Faust's consumer and an agent.

Why not Faust's own acks: Faust 0.15.3 drops records it has fetched (around table recovery, a
rebalance or a seek racing its fetch loop) while its position moves on, and its ack-based commit
then moves past the hole (README, Known issues; tests/integration/test_restart.py). So a source
topic is declared with acks disabled (Faust neither tracks nor commits it) and this guard keeps,
per partition, the next offset to process, starting from the group's committed offset whenever
partitions are assigned:

- the next offset: process it (`admit` says True), then `done` once its outputs are sent;
- an offset already passed (a re-delivery after a seek or a restart): let go;
- work a record started that goes on after it (a notification's retries) is `hold`-ed until
  `release`, and no commit passes it meanwhile;
- an offset past the next one: records were not delivered. If they exist, seek back to the next
  offset and let go of what arrives until the re-read comes (a watchdog seeks again when Faust's
  fetch loop swallowed the re-read); offsets that do not exist (compaction, transaction markers)
  are stepped over.

`commit` snapshots the done offsets, flushes the producer, then commits the snapshot; it runs on a
timer, before partitions are revoked and at shutdown. `judge` is the pure decision."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition
from faust.types import TP, AppT, Message

log = logging.getLogger(__name__)
RESEEK_AFTER = 2.0  # seconds without the re-read arriving before seeking again


class Verdict(Enum):
    PROCESS = "process"  # the next record: process it
    SKIP = "skip"  # processed already, or in flight from before a seek back: let go
    HOLE = "hole"  # records before it were not delivered: let go, read again from the next offset


@dataclass(frozen=True)
class Cursor:
    next_offset: int  # the lowest offset of the partition this worker has not started
    rewinding: bool = False  # a seek back to next_offset is under way


def judge(cursor: Cursor, offset: int) -> tuple[Verdict, Cursor]:
    """What to do with the record at `offset`, and the cursor after it."""
    if offset == cursor.next_offset:
        return Verdict.PROCESS, Cursor(offset + 1)
    if offset < cursor.next_offset or cursor.rewinding:
        return Verdict.SKIP, cursor
    return Verdict.HOLE, replace(cursor, rewinding=True)


def committable(done: int, held: set[int]) -> int:
    """The offset a partition may commit: after the last record done, unless a record's work is still
    held (then that record's own offset, so it is read again after a crash)."""
    return min(done, *held) if held else done


class OffsetGuard:
    """For one Faust app: `admit` each record an agent receives, `done` when its outputs are sent;
    its topics are declared with acks=False."""

    def __init__(self, app: AppT, bootstrap: str) -> None:
        self._app = app
        self._bootstrap = bootstrap
        self._cursors: dict[TP, Cursor] = {}
        self._sought_at: dict[TP, float] = {}  # when the last seek back of a rewinding partition was
        self._done: dict[TP, int] = {}  # per partition: the offset after the last record done
        self._held: dict[TP, set[int]] = {}  # done, but work it started is still under way
        self._committed: dict[TP, int] = {}
        self._assignments = 0  # a lookup that straddles a new assignment is done again
        self._lookup: Consumer | None = None
        self._lookup_lock = threading.Lock()  # agents look up from worker threads; one at a time
        self._lock = asyncio.Lock()  # one commit at a time
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)
        app.on_before_shutdown.connect(self._on_shutdown)

    async def admit(self, message: Message) -> bool:
        """True: process the record, then call `done`. False: let it go."""
        tp = message.tp
        cursor = self._cursors.get(tp)
        while cursor is None:
            assignments = self._assignments
            start = await asyncio.to_thread(self._looked_up, committed_or_earliest, tp)
            if assignments == self._assignments:
                cursor = Cursor(start)
        verdict, after = judge(cursor, message.offset)
        if verdict is Verdict.HOLE:
            first = await asyncio.to_thread(self._looked_up, first_offset_from, tp, cursor.next_offset)
            if first is not None and first > cursor.next_offset:
                log.info("%s[%d]: offsets %d-%d do not exist; going on from %d",
                         tp.topic, tp.partition, cursor.next_offset, first - 1, first)
                self._cursors[tp] = Cursor(first)
                self._done[tp] = max(self._done.get(tp, first), first)
                return await self.admit(message)
            log.warning("%s[%d]: offset %d arrived but %d was never delivered; reading again from %d",
                        tp.topic, tp.partition, message.offset, cursor.next_offset, cursor.next_offset)
            await self._seek(tp, cursor.next_offset)
        self._cursors[tp] = after
        return verdict is Verdict.PROCESS

    def done(self, message: Message) -> None:
        self._done[message.tp] = message.offset + 1

    def hold(self, message: Message) -> None:
        """Work the record started goes on after `done` (a notification's deliveries): no commit
        reaches its offset before `release`."""
        self._held.setdefault(message.tp, set()).add(message.offset)

    def release(self, tp: TP, offset: int) -> None:
        self._held.get(tp, set()).discard(offset)

    async def reseek(self) -> None:
        """Seek again where a re-read has not come: Faust's fetch loop drops records below the
        offset it last delivered, so a seek that raced it is lost."""
        now = time.monotonic()
        for tp, cursor in list(self._cursors.items()):
            if cursor.rewinding and now - self._sought_at.get(tp, now) >= RESEEK_AFTER:
                await self._seek(tp, cursor.next_offset)

    async def commit(self, only: set[TP] | None = None) -> None:
        async with self._lock:
            offsets = {tp: committable(done, self._held.get(tp, set())) for tp, done in self._done.items()
                       if only is None or tp in only}
            offsets = {tp: offset for tp, offset in offsets.items() if self._committed.get(tp) != offset}
            if not offsets:
                return
            # Outputs first: a committed offset never stands for an output still in a buffer.
            await self._app.producer.flush()
            consumer: Any = self._app.consumer
            # The commit primitive of Faust's consumer (its own commit covers acked records only).
            if await consumer._commit(offsets):
                self._committed.update(offsets)

    async def _seek(self, tp: TP, offset: int) -> None:
        self._sought_at[tp] = time.monotonic()
        await self._app.consumer.seek(tp, offset)

    async def _on_revoked(self, sender: Any, revoked: Any, **_: Any) -> None:
        await self.commit(set(revoked))  # the new owner starts where this worker stopped

    async def _on_assigned(self, sender: Any, assigned: Any, **_: Any) -> None:
        # Another worker may have moved any partition on: start again from the committed offsets.
        self._assignments += 1
        self._cursors.clear()
        self._sought_at.clear()
        self._done.clear()
        self._held.clear()
        self._committed.clear()

    async def _on_shutdown(self, sender: Any, **_: Any) -> None:
        try:
            await self.commit()
        except Exception as exc:  # noqa: BLE001 - stopping anyway; the next owner reads them again
            log.warning("could not commit the last offsets at shutdown (they will be read again): %s", exc)

    def _looked_up(self, lookup: Any, *args: Any) -> Any:
        """lookup(consumer, *args) in this thread, one at a time (agents call from worker threads)."""
        with self._lookup_lock:
            if self._lookup is None:
                self._lookup = lookup_consumer(self._bootstrap, self._app.conf.id)
            return lookup(self._lookup, *args)


def lookup_consumer(bootstrap: str, group: str) -> Consumer:
    """A consumer of the group that is never subscribed, so never a member: it reads the group's
    committed offsets and single records. earliest: an offset retention already deleted reads from the
    log start, so what the group never got counts as offsets that do not exist, not as a hole forever."""
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                     "enable.partition.eof": True, "auto.offset.reset": "earliest"})


def committed_or_earliest(consumer: Consumer, tp: TP) -> int:
    """The group's committed offset, or the log start when it has none (auto.offset.reset earliest)."""
    partition = TopicPartition(tp.topic, tp.partition)
    [committed] = consumer.committed([partition], timeout=30)
    if committed.offset != OFFSET_INVALID:
        return int(committed.offset)
    return int(consumer.get_watermark_offsets(partition, timeout=30)[0])


def first_offset_from(consumer: Consumer, tp: TP, offset: int, timeout: float = 10.0) -> int | None:
    """The offset of the first record at or after `offset` (None: none within the timeout)."""
    consumer.assign([TopicPartition(tp.topic, tp.partition, offset)])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = consumer.poll(1.0)
            if record is not None and record.error() is None:
                return int(record.offset())
        return None
    finally:
        consumer.unassign()
