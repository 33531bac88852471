"""The spool on its own: order, insertion, acks across restarts, bounds, damage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loglane.sdk.spool import KIND_AVRO, KIND_JSON, MAGIC, Frame, Spool, SpoolFull, acquire_slot


def frame(seq: int, size: int = 10) -> Frame:
    return Frame(seq, KIND_JSON if seq % 2 else KIND_AVRO, b"svc", f"{seq:0{size}d}".encode())


def opened(directory: Path, **options: object) -> Spool:
    spool = Spool(directory, **options)  # type: ignore[arg-type]
    spool.open()
    return spool


def read_all(spool: Spool, commit: bool = True) -> list[int]:
    seqs = []
    while items := spool.read(7):
        for item in items:
            assert item.frame is not None
            seqs.append(item.frame.seq)
            if commit:
                spool.commit(item.end)
    return seqs


def test_frames_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = opened(tmp_path, segment_bytes=200)
    for seq in range(1, 51):
        spool.append(frame(seq))
    assert len(list(tmp_path.glob("seg-*.spool"))) > 5
    items = []
    while batch := spool.read(7):
        items.extend(batch)
    assert [i.frame.seq for i in items] == list(range(1, 51))  # type: ignore[union-attr]
    assert items[0].frame == frame(1)
    assert not spool.unread()


def test_committing_everything_deletes_every_segment(tmp_path: Path) -> None:
    spool = opened(tmp_path, segment_bytes=200)
    for seq in range(1, 51):
        spool.append(frame(seq))
    assert read_all(spool) == list(range(1, 51))
    assert spool.size_bytes == 0 and list(tmp_path.glob("seg-*")) == []
    spool.append(frame(60))  # an emptied spool starts afresh
    assert read_all(spool) == [60]


def test_a_reopened_spool_resumes_after_what_was_committed(tmp_path: Path) -> None:
    spool = opened(tmp_path, segment_bytes=200)
    for seq in range(1, 31):
        spool.append(frame(seq))
    delivered = 0
    while delivered < 12:  # a read stops at the end of a segment
        for item in spool.read(12 - delivered):
            spool.commit(item.end)
            delivered += 1
    assert len(spool.read(5)) > 0  # read but not delivered: must come again
    spool.close()
    again = opened(tmp_path, segment_bytes=200)
    assert again.last_seq == 30
    assert read_all(again) == list(range(13, 31))


def test_insert_places_a_run_between_segments(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    for seq in (1, 2, 3):
        spool.append(frame(seq))
    assert [i.frame.seq for i in spool.read(10)] == [1, 2, 3]  # type: ignore[union-attr]
    spool.rotate()  # what is spilled from now on starts a new segment
    for seq in (10, 11):
        spool.append(frame(seq))
    spool.insert([frame(5), frame(6)])  # events that were in memory when spilling started
    spool.append(frame(12))
    assert read_all(spool, commit=False) == [5, 6, 10, 11, 12]
    spool.close()
    assert read_all(opened(tmp_path)) == [1, 2, 3, 5, 6, 10, 11, 12]  # nothing was committed


def test_rewind_reads_again(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    for seq in range(1, 6):
        spool.append(frame(seq))
    items = spool.read(3)
    spool.rewind(items[1].start)
    assert [i.frame.seq for i in spool.read(10)] == [2, 3, 4, 5]  # type: ignore[union-attr]


def test_the_byte_limit_refuses_appends_and_leaves_the_spool_intact(tmp_path: Path) -> None:
    spool = opened(tmp_path, max_bytes=300)
    kept = 0
    with pytest.raises(SpoolFull):
        for seq in range(1, 100):
            spool.append(frame(seq))
            kept += 1
    assert 0 < kept < 99 and spool.size_bytes <= 300
    with pytest.raises(SpoolFull):
        spool.insert([frame(200, size=400)])
    assert read_all(spool) == list(range(1, kept + 1))


def test_a_damaged_frame_makes_the_rest_of_its_segment_one_unreadable_item(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    for seq in range(1, 6):
        spool.append(frame(seq))
    spool.close()
    (segment,) = tmp_path.glob("seg-*.spool")
    data = bytearray(segment.read_bytes())
    frame_size = (len(data) - len(MAGIC)) // 5
    data[len(MAGIC) + 2 * frame_size + 12] ^= 0xFF  # inside the third frame's body
    segment.write_bytes(bytes(data))
    items = opened(tmp_path).read(10)
    assert [i.frame.seq if i.frame else None for i in items] == [1, 2, None]
    assert items[-1].end.offset == len(data)


def test_a_torn_last_frame_is_reported_not_misread(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    for seq in range(1, 4):
        spool.append(frame(seq))
    spool.close()
    (segment,) = tmp_path.glob("seg-*.spool")
    os.truncate(segment, segment.stat().st_size - 3)  # a crash in the middle of a write
    again = opened(tmp_path)
    assert again.last_seq == 2
    assert [i.frame.seq if i.frame else None for i in again.read(10)] == [1, 2, None]


def test_each_live_handler_gets_its_own_slot(tmp_path: Path) -> None:
    first, first_fd = acquire_slot(tmp_path)
    second, second_fd = acquire_slot(tmp_path)
    assert (first.name, second.name) == ("slot-0", "slot-1")
    os.close(first_fd)
    again, again_fd = acquire_slot(tmp_path)  # a restarted process takes the freed slot and its leftovers
    assert again.name == "slot-0"
    os.close(second_fd)
    os.close(again_fd)


def test_insert_before_the_first_spilled_segment_is_replayed_first_even_after_a_restart(tmp_path: Path) -> None:
    # Spilling began with events 1..3 still in memory: the spool starts at 4, then 1..3 are kept.
    spool = opened(tmp_path)
    for seq in (4, 5):
        spool.append(frame(seq))
    spool.sync()
    spool.insert([frame(1), frame(2), frame(3)])
    spool.close()
    assert read_all(opened(tmp_path), commit=False) == [1, 2, 3, 4, 5]
    live = opened(tmp_path)
    live.insert([frame(0)])  # the same in a running spool
    assert read_all(live) == [0, 1, 2, 3, 4, 5]
