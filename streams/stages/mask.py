"""Mask: replace personal data in free text (message, attribute values, exception message and
stack) with a token naming its kind, e.g. ``<email>``, and count the replacements.

The whole value is replaced, domain included: a company domain or a local part can identify a
person, and a fixed token stays searchable (``message:"<email>"``). Attribute keys are field
names, not data, so they stay. More kinds of PII are more Recognizers in RECOGNIZERS."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from streams.stages.types import LogEvent


@dataclass(frozen=True)
class Recognizer:
    """One kind of personal data: the pattern that finds it and the token that replaces it."""

    kind: str
    pattern: re.Pattern[str]

    @property
    def token(self) -> str:
        return f"<{self.kind}>"


# The lookbehind anchors a match at the start of an address-like run, which keeps the scan linear
# on long text without '@' (stack traces); lengths follow RFC 5321's limits.
EMAIL = Recognizer(
    "email",
    re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}(?![\w-])"),
)
RECOGNIZERS: tuple[Recognizer, ...] = (EMAIL,)


class Masked(NamedTuple):
    event: LogEvent
    replaced: int  # ProcessedLogEvent.pii_masked: every occurrence counts


def mask_text(text: str, recognizers: Sequence[Recognizer] = RECOGNIZERS) -> tuple[str, int]:
    replaced = 0
    for recognizer in recognizers:
        text, count = recognizer.pattern.subn(recognizer.token, text)
        replaced += count
    return text, replaced


def mask(event: LogEvent, recognizers: Sequence[Recognizer] = RECOGNIZERS) -> Masked:
    total = 0

    def clean(text: str | None) -> str | None:
        nonlocal total
        if text is None:
            return None
        masked, count = mask_text(text, recognizers)
        total += count
        return masked

    masked: LogEvent = {
        **event,
        "message": clean(event["message"]),
        "attributes": {key: clean(value) for key, value in event["attributes"].items()},
    }
    if event["exception"] is not None:
        exception = event["exception"]
        masked["exception"] = {
            **exception,
            "message": clean(exception["message"]),
            "stack": clean(exception["stack"]),
        }
    return Masked(masked, total)
