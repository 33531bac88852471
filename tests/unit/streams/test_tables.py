"""The worker's service catalog over its table: records read once, read again when they change,
and an unreadable record is no service (never an exception in the pipeline)."""

from __future__ import annotations

import pytest

from loglane.services import Service
from streams.tables import TableServices

CHECKOUT = Service("checkout", "shop", "tier-1")


def test_a_service_is_read_from_its_record_and_follows_a_changed_record() -> None:
    table: dict[bytes, bytes] = {b"checkout": CHECKOUT.to_bytes()}
    services = TableServices(table)
    assert services.get("checkout") == CHECKOUT
    assert services.get("nobody") is None
    table[b"checkout"] = Service("checkout", "payments").to_bytes()  # `loglane apply` wrote it again
    assert services.get("checkout") == Service("checkout", "payments")
    del table[b"checkout"]  # a tombstone
    assert services.get("checkout") is None


def test_an_unreadable_record_is_no_service_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    services = TableServices({b"checkout": b"not json", b"old": b'{"version": 9}'})
    assert services.get("checkout") is None
    assert services.get("checkout") is None
    assert services.get("old") is None
    assert [r.getMessage().removesuffix("; its events get no owner_team or tier") for r in caplog.records] == [
        "service catalog: the record of 'checkout' is not a service (Expecting value: line 1 column 1 (char 0))",
        "service catalog: the record of 'old' is not a service (service format version 9; this loglane reads 1)",
    ]
