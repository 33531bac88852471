"""Mask: find personal data and secrets in free text (message, attribute values, exception message
and stack) with the recognizers a policy enables for that tenant and field, and replace each find
by its action: ``mask`` (``<email>``), ``hmac`` (``<email:9f86d081884c7d65>``, a keyed pseudonym:
equal values give equal pseudonyms within a tenant, so they stay joinable) or ``drop`` (removed).

The policy comes from rules/pii.yaml (streams.rules.pii). Attribute keys are field names, not data,
so they stay; an attribute whose key names a secret (``password``, ``api_key``...) has its whole
value replaced. Every replacement counts (ProcessedLogEvent.pii_masked)."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

from streams.stages.recognizers import Recognizer, digit_count, not_a_secret
from streams.stages.types import LogEvent

STAGE = "mask"
PSEUDONYM_HEX = 16  # 64 bits of HMAC-SHA256: collisions are negligible at log volumes


class Action(StrEnum):
    MASK = "mask"
    HMAC = "hmac"
    DROP = "drop"


class Pseudonyms:
    """HMAC-SHA256 under a secret key, per tenant: the same value gets the same pseudonym in every
    event of a tenant (joinable), different ones across tenants (not linkable), and nobody without
    the key can recompute them (a plain hash of an e-mail address is reversed by guessing)."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("an HMAC key must not be empty")
        self._key = key

    def __call__(self, tenant: str, kind: str, canonical: str) -> str:
        message = f"{tenant}\x1f{kind}\x1f{canonical}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


@dataclass(frozen=True)
class FieldPolicy:
    """What the mask stage does with one field of one tenant's events.

    scan: look for PII at all; whole: the whole value is PII (e.g. an attribute ``customer``),
    replaced as ``whole_kind``; recognizers: the finds to look for, each with its action, in
    priority order; secret_keys: attribute keys that name a secret (their whole value is one),
    with the action for secrets, or None when secrets are not looked for in this field."""

    recognizers: tuple[tuple[Recognizer, Action], ...] = ()
    scan: bool = True
    whole: Action | None = None
    whole_kind: str = "pii"
    secret_keys: tuple[Callable[[str], bool], Action] | None = None


class Policy(Protocol):
    """The FieldPolicy for a tenant's field: ``message``, ``exception.message``,
    ``exception.stack`` or ``attributes.<key>``. streams.rules.pii.PiiRules is one."""

    def for_field(self, tenant: str, field: str, /) -> FieldPolicy: ...

    @property
    def pseudonyms(self) -> Pseudonyms | None: ...


class Masked(NamedTuple):
    event: LogEvent
    replaced: int  # ProcessedLogEvent.pii_masked: every occurrence counts
    kinds: Counter[str]  # replacements by kind, for the stream's metrics


@dataclass(frozen=True)
class Find:
    start: int
    end: int
    recognizer: Recognizer
    action: Action


def finds(text: str, recognizers: Sequence[tuple[Recognizer, Action]]) -> list[Find]:
    """Every find of the recognizers in text, without overlaps: where two overlap, the recognizer
    earlier in the list wins. Sorted by position."""
    taken: list[Find] = []
    digits = digit_count(text)  # once per text: most recognizers' hints ask for it
    for recognizer, action in recognizers:
        hint = recognizer.hint
        if hint is not None and not hint(text, digits):
            continue  # the common case: most text holds nothing of most kinds
        for match in recognizer.pattern.finditer(text):
            span = recognizer.check(match)
            if span is None or span[0] >= span[1]:
                continue
            start, end = span
            if all(end <= other.start or start >= other.end for other in taken):
                taken.append(Find(start, end, recognizer, action))
    if len(taken) > 1:
        taken.sort(key=lambda find: find.start)
    return taken


def replacement(
    action: Action, kind: str, value: str, tenant: str, pseudonyms: Pseudonyms | None,
    canonical: Callable[[str], str] = str,
) -> str:
    if action is Action.DROP:
        return ""
    if action is Action.HMAC:
        if pseudonyms is None:
            raise ValueError("the hmac action needs a key (LOGLANE_PII_HMAC_KEY)")
        return f"<{kind}:{pseudonyms(tenant, kind, canonical(value))}>"
    return f"<{kind}>"


def mask_text(
    text: str, policy: FieldPolicy, tenant: str = "default", pseudonyms: Pseudonyms | None = None
) -> tuple[str, Counter[str]]:
    """The text with every find replaced, and the count of replacements by kind."""
    counts: Counter[str] = Counter()
    if not policy.scan or not text:
        return text, counts
    if policy.whole is not None:
        counts[policy.whole_kind] += 1
        return replacement(policy.whole, policy.whole_kind, text, tenant, pseudonyms), counts
    found = finds(text, policy.recognizers)
    if not found:
        return text, counts
    parts: list[str] = []
    position = 0
    for find in found:
        kind = find.recognizer.kind
        parts.append(text[position:find.start])
        parts.append(
            replacement(find.action, kind, text[find.start:find.end], tenant, pseudonyms, find.recognizer.canonical)
        )
        counts[kind] += 1
        position = find.end
    parts.append(text[position:])
    return "".join(parts), counts


def mask_attribute(
    key: str, value: str, policy: FieldPolicy, tenant: str, pseudonyms: Pseudonyms | None
) -> tuple[str | None, Counter[str]]:
    """The attribute's new value (None: drop the attribute) and what was replaced."""
    if not policy.scan:
        return value, Counter()
    if policy.whole is None and policy.secret_keys is not None and value:
        names_secret, action = policy.secret_keys
        if names_secret(key) and not not_a_secret(value):
            policy = FieldPolicy(whole=action, whole_kind="secret")
    if policy.whole is Action.DROP:
        return None, Counter({policy.whole_kind: 1})
    return mask_text(value, policy, tenant, pseudonyms)


def mask(event: LogEvent, policy: Policy) -> Masked:
    """The event with its message, attribute values and exception masked by the tenant's policy."""
    tenant = event["tenant"]
    pseudonyms = policy.pseudonyms
    total: Counter[str] = Counter()

    def clean(text: str | None, field: str) -> str | None:
        if text is None:
            return None
        masked, counts = mask_text(text, policy.for_field(tenant, field), tenant, pseudonyms)
        total.update(counts)
        return masked

    attributes: dict[str, str] = {}
    for key, value in event["attributes"].items():
        masked_value, counts = mask_attribute(
            key, value, policy.for_field(tenant, f"attributes.{key}"), tenant, pseudonyms
        )
        total.update(counts)
        if masked_value is not None:
            attributes[key] = masked_value
    result: LogEvent = {**event, "message": clean(event["message"], "message"), "attributes": attributes}
    if event["exception"] is not None:
        exception = event["exception"]
        result["exception"] = {
            **exception,
            "message": clean(exception["message"], "exception.message"),
            "stack": clean(exception["stack"], "exception.stack"),
        }
    return Masked(result, sum(total.values()), total)
