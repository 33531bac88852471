"""An append-only spool on local disk: where events wait, in order, while Kafka cannot take them.

Layout of one spool directory (one per running handler: see `acquire_slot`)::

    .lock                         flock()ed by the handler that owns the directory
    ack                           "<segment> <offset>": everything before it was delivered
    seg-<first seq, 20 digits>.spool

Segments are replayed in name order, which is sequence order: a segment holds a contiguous run of
sequence numbers and no two segments' runs interleave (the shipper guarantees it by starting a
new segment whenever it begins spilling and after every `insert`). A segment starts with MAGIC and
holds frames::

    u32 body length | u32 crc32(body) | body = u64 seq | u8 kind | u16 key length | key | value

kind A: value is the Confluent-framed Avro bytes (serialized before it was spooled);
kind J: value is the LogEvent as JSON (spooled before serialization; serialized at replay).

Durability (`fsync`): "interval" (default) fsyncs dirty segments from the shipper thread about
once a second, so a process crash loses nothing (each frame is one write(2) into the page cache)
and a power loss at most the last second; "always" fsyncs every append (slow); "never" leaves it
to the OS. The ack file is rewritten at most once a second: after a crash, up to a second of
already-delivered frames is replayed again (at-least-once; sinks dedupe by event_id).

Bounds: `max_bytes` over all segments; an append past it raises SpoolFull (the caller counts the
event as dropped). A frame that fails its CRC (a torn write after a crash, a damaged disk) makes
the rest of its segment unreadable: `read` returns it as one unreadable item for the caller to count.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loglane.sdk.errors import SpoolError, SpoolFull

FsyncPolicy = Literal["never", "interval", "always"]

MAGIC = b"LLSPOOL1"
KIND_AVRO = ord("A")
KIND_JSON = ord("J")
_HEAD = struct.Struct(">II")  # body length, crc32(body)
_BODY = struct.Struct(">QBH")  # seq, kind, key length
_MAX_BODY = 64 * 1024 * 1024
_SLOTS = 64


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    kind: int  # KIND_AVRO or KIND_JSON
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True, order=True)
class Position:
    segment: int  # the segment's name: the first sequence number it holds
    offset: int


@dataclass(frozen=True, slots=True)
class SpooledFrame:
    """A frame read back, with where it starts and ends; frame None: unreadable bytes (counted as lost)."""

    frame: Frame | None
    start: Position
    end: Position


def encode(frame: Frame) -> bytes:
    body = _BODY.pack(frame.seq, frame.kind, len(frame.key)) + frame.key + frame.value
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def _segment_name(seq: int) -> str:
    return f"seg-{seq:020d}.spool"


def acquire_slot(root: Path) -> tuple[Path, int]:
    """The first of root/slot-0..63 no other live handler holds, and the open, flock()ed lock fd.

    Several processes of one service (web workers) each take a slot; a restarted process takes a
    free one and replays whatever a dead one left there.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpoolError(f"spool: cannot create {root}: {exc}; pass spool_dir= a writable directory") from exc
    for n in range(_SLOTS):
        directory = root / f"slot-{n}"
        try:
            directory.mkdir(exist_ok=True)
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SpoolError(f"spool: cannot use {directory}: {exc}; pass spool_dir= a writable directory") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return directory, fd
    raise SpoolError(f"spool: all {_SLOTS} slots under {root} are held by running handlers; pass spool_dir=")


class Spool:
    """One spool directory. append/insert/rotate/size are thread-safe; reading and committing belong
    to one thread (the shipper's)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        segment_bytes: int = 16 * 1024 * 1024,
        fsync: FsyncPolicy = "interval",
    ) -> None:
        if fsync not in ("never", "interval", "always"):
            raise SpoolError(f"spool: fsync must be never, interval or always, not {fsync!r}")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}  # segment -> bytes on disk
        self._bytes = 0
        self._write_seg: int | None = None
        self._write_fd: int | None = None
        self._dirty: set[int] = set()
        self._read = Position(0, 0)
        self._read_fd: int | None = None
        self._read_file_seg: int | None = None
        self._ack = Position(0, 0)
        self._ack_saved = Position(0, 0)
        self._ack_saved_at = 0.0
        self.last_seq = -1
        self._open = False

    # -- life cycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Find the segments left by an earlier run and where their replay resumes."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in self.directory.glob("seg-*.spool"):
                self._sizes[int(path.name[4:24])] = path.stat().st_size
            for path in self.directory.glob("*.tmp"):
                path.unlink()
        except (OSError, ValueError) as exc:
            raise SpoolError(f"spool: cannot read {self.directory}: {exc}") from exc
        self._bytes = sum(self._sizes.values())
        ack = self._load_ack()
        for segment in sorted(self._sizes):
            if ack is not None and (segment < ack.segment or ack == Position(segment, self._sizes[segment])):
                self._delete(segment)  # delivered; its deletion did not happen before the stop
        first = min(self._sizes, default=None)
        if first is None:
            self._read = self._ack = Position(0, 0)
        elif ack is not None and ack.segment == first and ack.offset < self._sizes[first]:
            self._read = self._ack = ack
        else:
            self._read = self._ack = Position(first, len(MAGIC))
        self._ack_saved = self._ack
        last = max(self._sizes, default=None)
        if last is not None:
            self.last_seq = max(last, max((f.frame.seq for f in self._scan(last) if f.frame), default=last))
        self._open = True

    def close(self) -> None:
        with self._lock:
            self._close_writer()
            self._sync_ack(force=True)
            self._close_reader()
            self._open = False

    # -- writing (any thread) --------------------------------------------------------------
    def append(self, frame: Frame) -> None:
        """Add a frame after every other; raises SpoolFull or SpoolError, leaving the spool as it was."""
        data = encode(frame)
        with self._lock:
            if self._write_fd is None or self._sizes[self._write_seg] + len(data) > self.segment_bytes:  # type: ignore[index]
                self._check_room(len(data) + len(MAGIC))
                self._start_segment(frame.seq)
            else:
                self._check_room(len(data))
            self._write(data)

    def insert(self, frames: Sequence[Frame]) -> None:
        """Write frames (in seq order) as a segment of their own, replayed in its seq-order place.

        For events that were already past the spool's ordering point (in memory or in flight) when
        they had to be kept after all; the next append starts a new segment.
        """
        if not frames:
            return
        data = b"".join(encode(f) for f in frames)
        with self._lock:
            self._check_room(len(data) + len(MAGIC))
            self._close_writer()
            self._start_segment(frames[0].seq)
            self._write(data)
            self._close_writer()
            # Older than what the spool held when it was empty and spilling began: replay (and the
            # ack, which open() trusts to delete what lies before it) must start here now.
            start = Position(frames[0].seq, len(MAGIC))
            if start.segment < self._read.segment:
                self._read = start
            if start.segment < self._ack.segment:
                self._ack = start

    def rotate(self) -> None:
        """The next append starts a new segment."""
        with self._lock:
            self._close_writer()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def _check_room(self, needed: int) -> None:
        if self._bytes + needed > self.max_bytes:
            raise SpoolFull(f"spool: {self.directory} is at its limit of {self.max_bytes} bytes")

    def _start_segment(self, seq: int) -> None:
        self._close_writer()
        path = self.directory / _segment_name(seq)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except OSError as exc:
            raise SpoolError(f"spool: cannot create {path}: {exc}") from exc
        self._write_fd, self._write_seg = fd, seq
        self._sizes[seq] = 0
        try:
            self._write(MAGIC)
        except SpoolError:
            os.close(fd)
            path.unlink(missing_ok=True)
            del self._sizes[seq]
            self._write_fd = self._write_seg = None
            raise
        if self._read.segment == 0:  # the spool was empty: replay starts here
            self._read = self._ack = Position(seq, len(MAGIC))

    def _write(self, data: bytes) -> None:
        assert self._write_fd is not None and self._write_seg is not None
        fd, seg = self._write_fd, self._write_seg
        before = self._sizes[seg]
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync == "always":
                os.fsync(fd)
        except OSError as exc:
            try:  # no torn frame in the middle of a segment: cut back to the last whole frame
                os.ftruncate(fd, before)
            except OSError:
                pass
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise (SpoolFull if full else SpoolError)(f"spool: writing {self.directory}: {exc}") from exc
        self._sizes[seg] = before + len(data)
        self._bytes += len(data)
        if self.fsync == "interval":
            self._dirty.add(seg)

    def _close_writer(self) -> None:
        if self._write_fd is None:
            return
        segment = self._write_seg
        try:
            if self.fsync != "never" and segment in self._dirty:
                os.fsync(self._write_fd)
            os.close(self._write_fd)
        except OSError:
            pass
        self._dirty.discard(segment)  # type: ignore[arg-type]
        self._write_fd = self._write_seg = None
        if segment is not None and self._ack == Position(segment, self._sizes.get(segment, -1)):
            self._delete(segment)  # sealed and delivered

    # -- reading (the shipper's thread) ----------------------------------------------------
    def unread(self) -> bool:
        """Whether frames wait after the read position."""
        with self._lock:
            return self._next_readable() is not None

    def _next_readable(self) -> Position | None:
        position = self._read
        while True:
            size = self._sizes.get(position.segment)
            if size is not None and position.offset < size:
                return position
            if size is not None and position.segment == self._write_seg:
                return None  # at the end of the segment being written
            later = [s for s in self._sizes if s > position.segment]
            if not later:
                return None
            position = Position(min(later), len(MAGIC))

    def read(self, limit: int) -> list[SpooledFrame]:
        """Up to `limit` frames from the read position on, advancing it."""
        with self._lock:
            start = self._next_readable()
            if start is None:
                return []
            end = self._sizes[start.segment]  # appends only ever go past this point
        fd = self._reader(start.segment)
        items: list[SpooledFrame] = []
        offset = start.offset
        chunk = 1024 * 1024
        while offset < end and len(items) < limit:
            try:
                data = os.pread(fd, min(chunk, end - offset), offset)
            except OSError as exc:
                raise SpoolError(f"spool: cannot read {self.directory}: {exc}") from exc
            parsed, used = _parse(data, start.segment, offset, end, limit - len(items))
            if not parsed:  # one frame longer than the chunk
                chunk *= 4
                continue
            items.extend(parsed)
            offset += used
        self._read = Position(start.segment, offset)
        return items

    def rewind(self, position: Position) -> None:
        """Read again from position (a frame start returned by read)."""
        self._read = position

    def commit(self, end: Position) -> None:
        """Everything up to end (a frame end returned by read) is delivered; delete finished segments."""
        with self._lock:
            self._ack = end
            if end.offset < self._sizes.get(end.segment, -1):
                return
            if end.segment == self._write_seg:
                if self._next_readable() is not None:
                    return
                self._close_writer()  # fully replayed: seal it, which deletes it
            else:
                self._delete(end.segment)

    def sync(self) -> None:
        """fsync what was appended since the last sync, and persist the ack position (throttled)."""
        with self._lock:
            if self._dirty and self._write_fd is not None and self._write_seg in self._dirty:
                try:
                    os.fsync(self._write_fd)
                except OSError:
                    pass
            self._dirty.clear()
            self._sync_ack(force=False)

    def _reader(self, segment: int) -> int:
        if self._read_file_seg != segment or self._read_fd is None:
            self._close_reader()
            path = self.directory / _segment_name(segment)
            try:
                self._read_fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise SpoolError(f"spool: cannot read {path}: {exc}") from exc
            self._read_file_seg = segment
        return self._read_fd

    def _close_reader(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
        self._read_fd, self._read_file_seg = None, None

    def _scan(self, segment: int) -> list[SpooledFrame]:
        try:
            data = (self.directory / _segment_name(segment)).read_bytes()
        except OSError as exc:
            raise SpoolError(f"spool: cannot read {self.directory / _segment_name(segment)}: {exc}") from exc
        return _parse(data[len(MAGIC) :], segment, len(MAGIC), len(data), len(data))[0]

    # -- bookkeeping -----------------------------------------------------------------------
    def _delete(self, segment: int) -> None:
        size = self._sizes.pop(segment, None)
        if size is None:
            return
        self._bytes -= size
        (self.directory / _segment_name(segment)).unlink(missing_ok=True)
        if self._read_file_seg == segment:
            self._close_reader()
        if not self._sizes:
            self._read = self._ack = Position(0, 0)

    def _load_ack(self) -> Position | None:
        try:
            segment, offset = (self.directory / "ack").read_text().split()
            return Position(int(segment), int(offset))
        except (OSError, ValueError):
            return None

    def _sync_ack(self, force: bool) -> None:
        if self._ack == self._ack_saved or (not force and time.monotonic() - self._ack_saved_at < 1.0):
            return
        ack = self._ack
        path, tmp = self.directory / "ack", self.directory / "ack.tmp"
        try:
            tmp.write_text(f"{ack.segment} {ack.offset}\n")
            os.replace(tmp, path)
        except OSError:
            return
        self._ack_saved, self._ack_saved_at = ack, time.monotonic()


def _parse(data: bytes, segment: int, base: int, end: int, limit: int) -> tuple[list[SpooledFrame], int]:
    """Whole frames from data (the bytes of segment at offset base, which ends at end); bytes used.

    A frame that cannot be trusted (bad length, bad CRC, cut short at the segment's end) makes the
    rest of the segment one unreadable item.
    """
    items: list[SpooledFrame] = []
    offset = 0
    size = len(data)
    while offset < size and len(items) < limit:
        start = Position(segment, base + offset)
        if offset + _HEAD.size > size:
            if base + size >= end:  # the segment ends inside a frame header
                items.append(SpooledFrame(None, start, Position(segment, end)))
                offset = end - base
            break
        length, crc = _HEAD.unpack_from(data, offset)
        if length < _BODY.size or length > _MAX_BODY or base + offset + _HEAD.size + length > end:
            items.append(SpooledFrame(None, start, Position(segment, end)))
            offset = end - base
            break
        if offset + _HEAD.size + length > size:
            break  # the frame continues past this chunk
        body = data[offset + _HEAD.size : offset + _HEAD.size + length]
        if zlib.crc32(body) != crc:
            items.append(SpooledFrame(None, start, Position(segment, end)))
            offset = end - base
            break
        seq, kind, key_length = _BODY.unpack_from(body)
        key = body[_BODY.size : _BODY.size + key_length]
        offset += _HEAD.size + length
        items.append(SpooledFrame(Frame(seq, kind, key, body[_BODY.size + key_length :]), start, Position(segment, base + offset)))
    return items, offset
