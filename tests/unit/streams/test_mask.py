from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from streams.rules.pii import from_mapping
from streams.stages.mask import Action, FieldPolicy, Pseudonyms, finds, mask, mask_text
from streams.stages.recognizers import EMAIL, IPV4, JWT, AUTHORIZATION
from tests.unit.streams.records import log_event
from pydantic import SecretStr

RULES = from_mapping({})  # the built-in defaults: every recognizer but ipv4/ipv6, action mask
KEY = SecretStr("test-key")


def message_policy(rules: Any = RULES, tenant: str = "shop") -> FieldPolicy:
    return rules.for_field(tenant, "message")


@pytest.mark.parametrize(
    "text, masked",
    [
        ("reset requested by ada.lovelace@example.org", "reset requested by <email>"),
        ("to: a+tag@mail.example.co.uk, b_c@x.io.", "to: <email>, <email>."),
        ("<ana.12@example.com>", "<<email>>"),
        ("paid 4111 1111 1111 1111 via DE89370400440532013000", "paid <card> via <iban>"),
        ("ssn 123-45-6789, key AKIAIOSFODNN7EXAMPLE", "ssn <ssn>, key <aws_access_key>"),
        ("login password=hunter2 ok", "login password=<secret> ok"),
        ("db postgres://app:pa55@db:5432/x", "db postgres://app:<secret>@db:5432/x"),
    ],
)
def test_should_replace_every_find_with_a_token_of_its_kind(text: str, masked: str) -> None:
    result, counts = mask_text(text, message_policy())
    assert result == masked
    assert sum(counts.values()) == masked.count("<") - text.count("<")


@pytest.mark.parametrize(
    "text",
    ["no pii here", "order 4111111111111112 at 1768989600000", "from 10.0.0.7", "v2.14.1 uuid 123e4567-e89b-12d3-a456-426614174000"],
)
def test_text_without_pii_is_left_alone(text: str) -> None:
    assert mask_text(text, message_policy()) == (text, Counter())


def test_where_finds_overlap_the_earlier_recognizer_wins() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    text = f"Authorization: Bearer {token}"
    for order, kind in [((JWT, AUTHORIZATION), "jwt"), ((AUTHORIZATION, JWT), "secret")]:
        [find] = finds(text, [(r, Action.MASK) for r in order])
        assert (text[find.start:find.end], find.recognizer.kind) == (token, kind)


def test_hmac_pseudonyms_are_stable_per_value_and_tenant_and_need_the_key() -> None:
    rules = from_mapping({"defaults": {"recognizers": {"email": {"action": "hmac"}}}}, KEY)
    policy = message_policy(rules)
    first, _ = mask_text("by Ana@Example.com", policy, "shop", rules.pseudonyms)
    again, _ = mask_text("for ana@example.com", policy, "shop", rules.pseudonyms)
    other, _ = mask_text("by ana@example.com", policy, "bank", rules.pseudonyms)
    pseudonym = first.removeprefix("by ")
    assert pseudonym.startswith("<email:") and len(pseudonym) == len("<email:>") + 16
    assert again == f"for {pseudonym}"  # equal values (case folded) stay joinable
    assert other != first  # but not across tenants
    assert Pseudonyms(b"other-key")("shop", "email", "ana@example.com") not in first


def test_drop_removes_the_find() -> None:
    rules = from_mapping({"defaults": {"action": "drop"}})
    assert mask_text("mail ana@example.com now", message_policy(rules)) == ("mail  now", Counter(email=1))


def test_should_mask_message_attributes_and_exception_and_count_each_replacement() -> None:
    event = log_event(
        message="mail to ana@example.com and ben@example.com",
        attributes={"customer": "ana@example.com", "order_id": "ord-1", "db_password": "hunter2", "token": "<secret>"},
        exception={"type": "SmtpError", "message": "rejected ben@example.com", "stack": "at send(ben@example.com)"},
    )
    masked = mask(event, RULES)
    assert masked.replaced == 6
    assert masked.kinds == Counter(email=5, secret=1)
    assert masked.event["message"] == "mail to <email> and <email>"
    assert masked.event["attributes"] == {
        "customer": "<email>", "order_id": "ord-1", "db_password": "<secret>", "token": "<secret>",
    }
    assert masked.event["exception"] == {"type": "SmtpError", "message": "rejected <email>", "stack": "at send(<email>)"}
    assert event["message"] == "mail to ana@example.com and ben@example.com"  # the input is untouched


def test_an_event_without_pii_or_exception_passes_unchanged() -> None:
    event = log_event(exception={"type": "Boom", "message": "no stock", "stack": None})
    assert mask(event, RULES) == (event, 0, Counter())


def test_rules_apply_per_tenant_and_field() -> None:
    rules = from_mapping({
        "defaults": {"fields": {"attributes.client_ip": {"recognizers": {"ipv4": {"enabled": True}}}}},
        "tenants": {
            "bank": {
                "recognizers": {"ipv4": {"enabled": True}, "email": {"action": "drop"}},
                "fields": {
                    "attributes.customer": {"value": "mask", "kind": "customer"},
                    "attributes.order_*": {"scan": False},
                    "exception.stack": {"recognizers": {"ipv4": {"enabled": False}}},
                },
            }
        },
    })
    event = log_event(
        message="from 10.0.0.7 by ana@example.com",
        attributes={"client_ip": "10.0.0.8", "customer": "Ana Lima", "order_note": "ana@example.com"},
        exception={"type": "E", "message": "10.0.0.9", "stack": "at 10.0.0.9"},
    )
    shop = mask({**event, "tenant": "shop"}, rules).event
    assert shop["message"] == "from 10.0.0.7 by <email>"
    assert shop["attributes"] == {"client_ip": "<ipv4>", "customer": "Ana Lima", "order_note": "<email>"}
    bank = mask({**event, "tenant": "bank"}, rules).event
    assert bank["message"] == "from <ipv4> by "
    assert bank["attributes"] == {"client_ip": "<ipv4>", "customer": "<customer>", "order_note": "ana@example.com"}
    assert bank["exception"] == {"type": "E", "message": "<ipv4>", "stack": "at 10.0.0.9"}


def test_a_whole_attribute_value_dropped_removes_the_attribute() -> None:
    rules = from_mapping({"defaults": {"fields": {"attributes.ssn_raw": {"value": "drop"}}}})
    masked = mask(log_event(attributes={"ssn_raw": "123456789", "k": "v"}), rules)
    assert (masked.event["attributes"], masked.replaced) == ({"k": "v"}, 1)


def test_recognizers_run_in_the_order_given() -> None:
    policy = FieldPolicy(recognizers=((EMAIL, Action.MASK), (IPV4, Action.MASK)))
    assert mask_text("ana@example.com from 10.0.0.7", policy) == ("<email> from <ipv4>", Counter(email=1, ipv4=1))


def test_long_text_without_pii_is_scanned_in_linear_time() -> None:
    stack = ("x" * 100_000 + ".") * 5 + "a" * 70 + "@" + "b." * 50_000
    started = time.perf_counter()
    assert mask_text(stack, message_policy())[1] == Counter()
    assert time.perf_counter() - started < 2.0
