from __future__ import annotations

import time

import pytest

from streams.stages.recognizers import (
    AUTHORIZATION, AWS_ACCESS_KEY, AWS_SECRET_KEY, CARD, EMAIL, IBAN, IPV4, IPV6, JWT, PRIVATE_KEY, SSN,
    URL_CREDENTIALS, Recognizer, builtin, card_network_ok, iban_ok, is_secret_key, luhn_ok, secret_assignment,
)

SECRET = secret_assignment()


def found(recognizer: Recognizer, text: str) -> list[str]:
    return [text[start:end] for start, end in recognizer.find(text)]


@pytest.mark.parametrize(
    "recognizer, text, expected",
    [
        (EMAIL, "by ada.lovelace@example.org.", ["ada.lovelace@example.org"]),
        (CARD, "card 4111 1111 1111 1111, 5555-5555-5555-4444 and 378282246310005", [
            "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005",
        ]),
        (CARD, "amex 3782 822463 10005; diners 3852 000002 3237", ["3782 822463 10005", "3852 000002 3237"]),
        (SSN, "ssn 123-45-6789 or 219 09 9999", ["123-45-6789", "219 09 9999"]),
        (IBAN, "to DE89 3704 0044 0532 0130 00 AND MORE", ["DE89 3704 0044 0532 0130 00"]),
        (IBAN, "GB82WEST12345698765432.", ["GB82WEST12345698765432"]),
        (IPV4, "from 10.0.0.7. and 255.255.255.255", ["10.0.0.7", "255.255.255.255"]),
        (IPV6, "via 2001:db8::1 and fe80::1%eth0 and ::1", ["2001:db8::1", "fe80::1%eth0", "::1"]),
        (JWT, "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"]),
        (AWS_ACCESS_KEY, "key AKIAIOSFODNN7EXAMPLE,", ["AKIAIOSFODNN7EXAMPLE"]),
        (AWS_SECRET_KEY, "s wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
        (SECRET, 'password=hunter2 {"api_key": "k 1"} Token: abc', ["hunter2", "k 1", "abc"]),
        (SECRET, "db_password='p w' GITHUB_TOKEN=ghp_x1", ["p w", "ghp_x1"]),
        (SECRET, "?token=abc&page=2 PASSWORD: Tr0ub&3", ["abc", "Tr0ub&3"]),
        (URL_CREDENTIALS, "postgres://app:pa55@db/x redis://:pw@cache", ["pa55", "pw"]),
        (AUTHORIZATION, "Authorization: Basic dXNlcjpw, sent Bearer abcdefgh123", ["dXNlcjpw", "abcdefgh123"]),
    ],
)
def test_should_find_what_it_is_made_for(recognizer: Recognizer, text: str, expected: list[str]) -> None:
    assert found(recognizer, text) == expected


@pytest.mark.parametrize(
    "recognizer, text",
    [
        (CARD, "order 4111111111111112"),  # Luhn fails
        (CARD, "imei 490154203237518"),  # Luhn passes, no card network issues 49... of 15 digits
        (CARD, "ts 1768989600000 and 1768989600000000"),  # epoch ms, µs
        (CARD, "phone +49 1512 3456 7890 and 4155550132"),
        (CARD, "uuid 123e4567-e89b-12d3-a456-426614174000, pi 3.14159265358979323846"),
        (CARD, "0000000000000000"),
        (SSN, "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 555-123-4567 2026-01-21"),
        (IBAN, "DE89370400440532013001 XX12345678901234567890 SKU ABCD1234EFGH5678"),
        (IPV4, "v1.2.3.4 and 999.1.1.1 and 1.2.3.4.5"),
        (IPV6, "at 10:00:00, mac 00:1a:2b:3c:4d:5e, std::vector, arn:aws:iam::123456789012:role"),
        (JWT, "eyJhbGciOi.truncated and eyJub3QiOiJqd3QifQ.eyJhIjoxfQ.c2ln"),  # header without alg/typ
        (AWS_SECRET_KEY, "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12 AbstractSingletonProxyFactoryBeanImpl123"),
        (AWS_SECRET_KEY, "org/apache/kafka/clients/producer/Kafka1"),
        (SECRET, "max_tokens=4096 token_count=5 password_reset=true password: ******** secret=null token=<secret>"),
        (EMAIL, "user@localhost pkg@1.2.3 @example.com git@github.com:loglane/loglane.git"),
    ],
)
def test_look_alikes_are_left_alone(recognizer: Recognizer, text: str) -> None:
    assert found(recognizer, text) == []


def test_a_private_key_block_is_found_whole_and_to_the_end_when_cut_short() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY-----"
    assert found(PRIVATE_KEY, f"key {block} loaded") == [block]
    cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl"
    assert found(PRIVATE_KEY, f"dump: {cut}") == [cut]
    assert found(PRIVATE_KEY, "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----") == []


def test_checks() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_network_ok("378282246310005") and not card_network_ok("178282246310005")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE8937040044053201300")  # one short


def test_secret_keys_are_names_ending_with_a_secret_word() -> None:
    names_secret = is_secret_key(["password", "api_key", "token"])
    assert all(map(names_secret, ["password", "DB_PASSWORD", "x-api-key", "apikey", "csrf_token"]))
    assert not any(map(names_secret, ["password_reset", "token_count", "max_tokens", "user"]))


def test_every_recognizer_scans_long_text_in_linear_time() -> None:
    text = ("x" * 50_000 + ". ") * 4 + "4" * 5_000 + " " + "a:" * 20_000 + "eyJ" + "A" * 20_000 + "@" + "b." * 20_000
    started = time.perf_counter()
    for recognizer in builtin():
        list(recognizer.find(text))
    assert time.perf_counter() - started < 2.0
