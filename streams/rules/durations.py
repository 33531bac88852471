"""Durations in rule files: ``90s``, ``15m``, ``12h``, ``7d``, or a number of seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")


def parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is no duration; write 90s, 15m, 12h, 7d or a number of seconds")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
