"""The rule book a worker follows: records of the rules topic applied in order."""

from __future__ import annotations

from loglane.alerts.rulebook import RuleBook
from tests.unit.alerts.rules import rule

STORM = rule({"count": {"window": "1m", "above": 5}}, name="storm", channels=["hook"])


def test_records_add_change_and_tombstones_remove_rules() -> None:
    book = RuleBook()
    book.apply(b"storm", STORM.to_bytes())
    assert book.rules() == [STORM]
    stricter = rule({"count": {"window": "1m", "above": 50}}, name="storm", channels=["hook"])
    book.apply(b"storm", stricter.to_bytes())
    assert book.rules() == [stricter]
    book.apply(b"storm", None)
    assert book.rules() == []
    assert book.channel("hook") == STORM.channels[0]  # kept, to deliver the resolution of an open episode


def test_a_record_that_is_no_rule_keeps_the_previous_version() -> None:
    book = RuleBook([STORM])
    book.apply(b"storm", b'{"version": 1, "name": "storm"}')
    book.apply(b"storm", b"not json")
    book.apply(b"other", STORM.to_bytes())  # a key that is not its rule's name
    book.apply(None, STORM.to_bytes())
    assert book.rules() == [STORM]
