"""streams.offsets.judge: records processed in offset order, none skipped, whatever Faust delivers."""

from __future__ import annotations

from streams.offsets import Cursor, Verdict, committable, judge


def run(start: int, delivered: list[int]) -> tuple[list[int], list[int]]:
    """The offsets processed and the offsets that revealed a hole, for a sequence of deliveries."""
    cursor = Cursor(start)
    processed, holes = [], []
    for offset in delivered:
        verdict, cursor = judge(cursor, offset)
        if verdict is Verdict.PROCESS:
            processed.append(offset)
        elif verdict is Verdict.HOLE:
            holes.append(offset)
    return processed, holes


def test_should_process_records_delivered_in_order() -> None:
    assert run(10, [10, 11, 12]) == ([10, 11, 12], [])


def test_should_let_go_of_records_delivered_again_after_a_restart() -> None:
    assert run(12, [10, 11, 12, 13]) == ([12, 13], [])


def test_should_read_again_from_the_first_record_never_delivered() -> None:
    # 3-5 dropped by the consumer; 7-8 were in flight when the seek back to 3 took effect.
    assert run(0, [0, 1, 2, 6, 7, 8, 3, 4, 5, 6, 7, 8, 9]) == ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [6])


def test_should_read_again_from_the_committed_offset_when_the_first_records_are_missing() -> None:
    assert run(0, [3, 4, 0, 1, 2, 3, 4]) == ([0, 1, 2, 3, 4], [3])


def test_should_let_go_of_everything_past_the_hole_until_the_re_read_comes() -> None:
    # The seek raced the fetch loop: records past the hole keep coming, the re-read later.
    assert run(5, [9, 10, 11, 12, 5, 6]) == ([5, 6], [9])


def test_should_see_a_later_hole_once_the_first_is_filled() -> None:
    assert run(0, [0, 2, 0, 1, 2, 5, 3, 4, 5]) == ([0, 1, 2, 3, 4, 5], [2, 5])


def test_should_commit_up_to_the_last_record_done_unless_one_is_still_held() -> None:
    assert committable(10, set()) == 10
    assert committable(10, {7, 9}) == 7  # 7's notifications are still being delivered
