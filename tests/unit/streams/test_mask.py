from __future__ import annotations

import re
import time

import pytest

from streams.stages.mask import EMAIL, Recognizer, mask, mask_text
from tests.unit.streams.records import log_event


@pytest.mark.parametrize(
    "text, masked",
    [
        ("reset requested by ada.lovelace@example.org", "reset requested by <email>"),
        ("to: a+tag@mail.example.co.uk, b_c@x.io.", "to: <email>, <email>."),
        ("<ana.12@example.com>", "<<email>>"),
        ("ÄNNE@example.de wrote", "<email> wrote"),
    ],
)
def test_should_replace_every_email_with_a_token(text: str, masked: str) -> None:
    assert mask_text(text) == (masked, masked.count("<email>"))


@pytest.mark.parametrize("text", ["no address here", "user@localhost", "pkg@1.2.3", "a @ b.com", "@example.com"])
def test_text_without_an_address_is_left_alone(text: str) -> None:
    assert mask_text(text) == (text, 0)


def test_should_mask_message_attribute_values_and_exception_and_count_each_replacement() -> None:
    event = log_event(
        message="mail to ana@example.com and ben@example.com",
        attributes={"customer": "ana@example.com", "order_id": "ord-1"},
        exception={"type": "SmtpError", "message": "rejected ben@example.com", "stack": "at send(ben@example.com)"},
    )
    masked = mask(event)
    assert masked.replaced == 5
    assert masked.event["message"] == "mail to <email> and <email>"
    assert masked.event["attributes"] == {"customer": "<email>", "order_id": "ord-1"}
    assert masked.event["exception"] == {
        "type": "SmtpError", "message": "rejected <email>", "stack": "at send(<email>)",
    }
    assert event["message"] == "mail to ana@example.com and ben@example.com"  # the input is untouched


def test_an_event_without_pii_or_exception_passes_unchanged() -> None:
    event = log_event(exception={"type": "Boom", "message": "no stock", "stack": None})
    assert mask(event) == (event, 0)


def test_recognizers_are_a_list_applied_in_order() -> None:
    ipv4 = Recognizer("ipv4", re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"))
    masked = mask(log_event(message="ana@example.com from 10.0.0.7"), [EMAIL, ipv4])
    assert masked == (log_event(message="<email> from <ipv4>"), 2)


def test_long_text_without_an_address_is_scanned_in_linear_time() -> None:
    stack = ("x" * 100_000 + ".") * 5 + "a" * 70 + "@" + "b." * 50_000
    started = time.perf_counter()
    assert mask_text(stack)[1] == 0
    assert time.perf_counter() - started < 1.0
