"""Recognizers: each finds one kind of personal data or secret in text, and validates what it finds
(a card number must pass the Luhn check, an IBAN mod-97, an IP address must parse), so numbers that
merely look alike (order ids, timestamps, phone numbers, UUIDs, versions) are left alone.

A recognizer yields spans (start, end) of the text to replace; the mask stage decides what to
replace them with (rules/pii.yaml: mask, a keyed-HMAC pseudonym, or drop). Patterns are anchored
with look-arounds so a scan stays linear on long text (stack traces)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

Span = tuple[int, int]
Check = Callable[[re.Match[str]], Span | None]
Hint = Callable[[str, int], bool]  # (text, how many digits it holds) -> may it hold a find at all?
_NO_DIGITS = str.maketrans("", "", "0123456789")


def digit_count(text: str) -> int:
    return len(text) - len(text.translate(_NO_DIGITS))


def _whole(match: re.Match[str]) -> Span | None:
    return match.span()


def _same(value: str) -> str:
    return value


@dataclass(frozen=True)
class Recognizer:
    """One kind of PII: where to look (pattern), what counts (check), how to compare (canonical).

    name: the key in rules/pii.yaml; kind: the token it becomes (``<kind>``), shared by recognizers
    of the same kind (three recognizers find ``secret``s); hint: a cheap test that the text may hold
    one at all (most log lines hold none, so most scans end there); canonical: the form equal
    values share before they are pseudonymized (``Ana@Example.com`` = ``ana@example.com``)."""

    name: str
    kind: str
    pattern: re.Pattern[str]
    check: Check = _whole
    hint: Hint | None = None
    canonical: Callable[[str], str] = _same
    doc: str = field(default="", compare=False)

    def find(self, text: str, digits: int | None = None) -> Iterator[Span]:
        if self.hint is not None and not self.hint(text, digit_count(text) if digits is None else digits):
            return
        for match in self.pattern.finditer(text):
            span = self.check(match)
            if span is not None and span[0] < span[1]:
                yield span


def _has_digits(minimum: int) -> Hint:
    return lambda text, digits: digits >= minimum


def _contains(*needles: str) -> Hint:
    if len(needles) == 1:
        needle = needles[0]
        return lambda text, digits: needle in text
    return lambda text, digits: any(needle in text for needle in needles)


def _contains_folded(*needles: str) -> Hint:
    return lambda text, digits: any(needle in text.lower() for needle in needles)


# --- e-mail ----------------------------------------------------------------------------------
# The lookbehind anchors a match at the start of an address-like run (linear on long text without
# '@'); lengths follow RFC 5321's limits.
EMAIL = Recognizer(
    "email",
    "email",
    # Not followed by ":path" either: git@github.com:org/repo is an SSH remote, not a person.
    re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}(?![\w-]|:[\w.~-]+/)"),
    hint=_contains("@"),
    canonical=str.lower,
    doc="e-mail addresses, domain included",
)


# --- payment cards ---------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_network_ok(digits: str) -> bool:
    """The number starts as some card network issues numbers of that length (ISO/IEC 7812 IINs).
    Epoch timestamps (1...) and compact dates of the wrong length fail here, not only by Luhn."""
    n = len(digits)
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 3528 <= p4 <= 3589 or p2 == 62:
        return 16 <= n <= 19  # Discover, JCB, UnionPay
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19  # Diners Club
    if p2 == 50 or 56 <= p2 <= 69:
        return 12 <= n <= 19  # Maestro
    return False


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _card(match: re.Match[str]) -> Span | None:
    digits = _digits(match.group())
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return None
    return match.span() if card_network_ok(digits) and luhn_ok(digits) else None


# 12-19 digits written together, in groups of four with one kind of separator (4-4-4-4, 4-4-4-4-3),
# or as American Express and Diners print them (4-6-5, 4-6-4).
CARD = Recognizer(
    "card",
    "card",
    re.compile(
        r"(?<![\w.-])(?:\d{12,19}|\d{4}(?P<a>[ -])\d{4}(?:(?P=a)\d{1,4}){1,3}|\d{4}(?P<b>[ -])\d{6}(?P=b)\d{4,5})"
        r"(?![\w-]|\.\d)"
    ),
    check=_card,
    hint=_has_digits(12),
    canonical=_digits,
    doc="payment card numbers, 12-19 digits, spaces or dashes allowed, Luhn and card network checked",
)


# --- US social security numbers ----------------------------------------------------------------
# Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
SSN = Recognizer(
    "ssn",
    "ssn",
    re.compile(r"(?<![\w.-])(?!000|666|9\d\d)\d{3}(?P<s>[- ])(?!00)\d{2}(?P=s)(?!0000)\d{4}(?![\w-]|\.\d)"),
    hint=_has_digits(9),
    canonical=_digits,
    doc="US social security numbers written 123-45-6789 (or with spaces); never-issued ranges excluded",
)


# --- IBAN --------------------------------------------------------------------------------------
# Lengths by country (SWIFT IBAN registry); a country not listed is not an IBAN.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_ok(compact: str) -> bool:
    """ISO 13616: the right length for its country, and mod-97 of the rearranged number is 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
    except ValueError:
        return False


def _iban(match: re.Match[str]) -> Span | None:
    text = match.group()
    length = IBAN_LENGTHS.get(text[:2])
    if length is None:
        return None
    # The pattern may run on into following words ("... 0130 00 AND MORE"): cut after the
    # country's length, at a space, and check that.
    seen = 0
    for index, char in enumerate(text):
        if char != " ":
            seen += 1
        if seen == length:
            end = index + 1
            if end < len(text) and text[end] != " ":
                return None
            compact = text[:end].replace(" ", "").upper()
            return (match.start(), match.start() + end) if iban_ok(compact) else None
    return None


IBAN = Recognizer(
    "iban",
    "iban",
    re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
    check=_iban,
    hint=_has_digits(4),
    canonical=lambda value: value.replace(" ", "").upper(),
    doc="IBANs, with or without spaces, length by country and the mod-97 check",
)


# --- IP addresses (off by default: addresses of services are not personal, clients' may be) ------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = Recognizer(
    "ipv4",
    "ipv4",
    re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)"),
    hint=lambda text, digits: digits >= 4 and "." in text,
    doc="IPv4 addresses (each octet 0-255)",
)


def _ipv6(match: re.Match[str]) -> Span | None:
    text = match.group()
    address = text.split("%", 1)[0]
    if "::" not in address and address.count(":") != 7:
        return None
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return None
    return match.span()


IPV6 = Recognizer(
    "ipv6",
    "ipv6",
    re.compile(
        r"(?<![\w:.])(?=[0-9A-Fa-f:.]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
        r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]{1,16})?(?![\w:])"
    ),
    check=_ipv6,
    hint=_contains(":"),
    canonical=str.lower,
    doc="IPv6 addresses (full, compressed with ::, or with an embedded IPv4)",
)


# --- JSON web tokens ---------------------------------------------------------------------------
def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _jwt(match: re.Match[str]) -> Span | None:
    try:
        header = _b64url_json(match.group().split(".", 1)[0])
    except (ValueError, binascii.Error):
        return None
    return match.span() if isinstance(header, dict) and ("alg" in header or "typ" in header) else None


JWT = Recognizer(
    "jwt",
    "jwt",
    re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?![\w-])"),
    check=_jwt,
    hint=_contains("eyJ"),
    doc="JSON web tokens (a base64url JSON header with alg or typ, payload, signature)",
)


# --- AWS credentials ---------------------------------------------------------------------------
AWS_ACCESS_KEY = Recognizer(
    "aws_access_key",
    "aws_access_key",
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    hint=_contains("AKIA", "ASIA", "ABIA", "ACCA"),
    doc="AWS access key ids (AKIA..., ASIA... and 16 more characters)",
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


_HEX = frozenset("0123456789abcdefABCDEF")
_LOWER_RUN = re.compile(r"[a-z]{3,}")


def _aws_secret(match: re.Match[str]) -> Span | None:
    text = match.group()
    if set(text) <= _HEX or "//" in text:
        return None  # a SHA-1 digest, or a path
    kinds = (any(c.isupper() for c in text), any(c.islower() for c in text), any(c.isdigit() for c in text))
    # Random base64 of 40 characters has ~4.8 bits per character and few runs of lower-case letters;
    # identifiers (AbstractSingletonProxyFactoryBean12) are mostly such runs: their words.
    wordy = sum(len(run) for run in _LOWER_RUN.findall(text)) / len(text)
    return match.span() if all(kinds) and entropy(text) >= 4.0 and wordy < 0.4 else None


AWS_SECRET_KEY = Recognizer(
    "aws_secret_key",
    "aws_secret_key",
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    check=_aws_secret,
    hint=_has_digits(1),
    doc="AWS secret access keys: 40 base64 characters of high entropy, mixed case and digits",
)


# --- private keys ------------------------------------------------------------------------------
_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


def _private_key(match: re.Match[str]) -> Span | None:
    end = _KEY_END.search(match.string, match.end())
    # A block cut short (a truncated log line) is masked to the end of the text.
    return (match.start(), end.end() if end else len(match.string))


PRIVATE_KEY = Recognizer(
    "private_key",
    "private_key",
    _KEY_BEGIN,
    check=_private_key,
    hint=_contains("PRIVATE KEY"),
    doc="PEM and PGP private key blocks, BEGIN to END (to the end of the text when END is missing)",
)


# --- passwords, tokens and secrets -------------------------------------------------------------
# Values that are no secret even under a secret's name: empty, booleans, nulls, already masked.
_NOT_A_SECRET = re.compile(
    r"(?i)(?:|true|false|null|none|nil|undefined|\*+|x{3,}|•+|<[\w:-]+>|\[?(?:redacted|masked|filtered|hidden)\]?)"
)


def not_a_secret(value: str) -> bool:
    """Empty, a boolean, a null or already masked: no secret even under a secret's name."""
    return _NOT_A_SECRET.fullmatch(value) is not None


def _value_group(*names: str) -> Check:
    def check(match: re.Match[str]) -> Span | None:
        for name in names:
            if match.group(name) is not None:
                if not_a_secret(match.group(name)):
                    return None
                return match.span(name)
        return None

    return check


DEFAULT_SECRET_KEYS = (
    "password", "passwd", "pwd", "passphrase", "secret", "client_secret", "secret_key", "secret_access_key",
    "token", "access_token", "refresh_token", "id_token", "auth_token", "session_token", "api_key", "apikey",
    "x-api-key", "private_key", "credentials",
)


def key_pattern(keys: Sequence[str]) -> str:
    """A regex for field names that end with one of keys ("db_password", "GITHUB_TOKEN")."""
    words = "|".join(
        "[_-]?".join(re.escape(part) for part in re.split(r"[_-]", key))
        for key in sorted(keys, key=len, reverse=True)
    )
    return rf"[A-Za-z0-9_.-]*?(?:{words})"


def is_secret_key(keys: Sequence[str]) -> Callable[[str], bool]:
    """Whether a field name (an attribute's key) names a secret: it ends with one of keys."""
    pattern = re.compile(key_pattern(keys), re.IGNORECASE)
    return lambda name: pattern.fullmatch(name) is not None


def secret_assignment(keys: Sequence[str] = DEFAULT_SECRET_KEYS) -> Recognizer:
    """The value of a key=value pair, a key: value line or a JSON field whose key names a secret."""
    pattern = re.compile(
        rf"(?i)(?<![\w.-])[\"']?{key_pattern(keys)}[\"']?\s*[=:]\s*"
        r"(?:\"(?P<dq>(?:[^\"\\\n]|\\.){1,512})\"|'(?P<sq>[^'\n]{1,512})'|(?P<bare>(?:[^\s\"',;&}\])]|&(?![\w.-]+=)){1,512}))"
    )
    return Recognizer(
        "secret",
        "secret",
        pattern,
        check=_value_group("dq", "sq", "bare"),
        hint=lambda text, digits: "=" in text or ":" in text,
        doc="the value of key=value pairs, key: value lines and JSON fields whose key names a secret",
    )


URL_CREDENTIALS = Recognizer(
    "url_credentials",
    "secret",
    re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s/:@]{0,256}:(?P<password>[^\s/@]{1,256})@"),
    check=_value_group("password"),
    hint=_contains("://"),
    doc="the password of user:password@host in URLs",
)

AUTHORIZATION = Recognizer(
    "authorization",
    "secret",
    re.compile(
        r"(?i)(?:\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
        r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey)\s+)?(?P<header>[^\s\"',;]{1,4096})"
        r"|\bbearer\s+(?P<bearer>[A-Za-z0-9\-._~+/]{8,4096}=*))"
    ),
    check=_value_group("header", "bearer"),
    hint=_contains_folded("authorization", "bearer"),
    doc="credentials in Authorization headers and Bearer tokens",
)


def builtin(secret_keys: Sequence[str] = DEFAULT_SECRET_KEYS) -> tuple[Recognizer, ...]:
    """Every built-in recognizer, in priority order: where two finds overlap, the earlier wins
    (a JWT in an Authorization header is a ``<jwt>``; a card number in a password=... is a secret)."""
    return (
        PRIVATE_KEY,
        JWT,
        AWS_ACCESS_KEY,
        URL_CREDENTIALS,
        AUTHORIZATION,
        AWS_SECRET_KEY,
        secret_assignment(secret_keys),
        EMAIL,
        IBAN,
        CARD,
        SSN,
        IPV6,
        IPV4,
    )


NAMES = tuple(recognizer.name for recognizer in builtin())
