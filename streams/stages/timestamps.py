"""Timestamps as logs write them -> an aware UTC datetime with millisecond precision.

Accepted: ISO 8601 with or without zone (``T`` or a space, ``.`` or ``,`` before the fraction, any
number of fraction digits), ``2026/01/21 10:00:00``, epoch seconds / milliseconds / microseconds /
nanoseconds (told apart by magnitude), syslog's ``Jan 21 10:00:00`` (RFC 3164: no year, so the
year that puts it nearest before the reference time), the access-log ``21/Jan/2026:10:00:00 +0000``
and RFC 2822 / HTTP dates. A time without a zone is taken as UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}

_ISO = re.compile(
    r"(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:[T ]+(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?\s*(?P<z>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
_SYSLOG = re.compile(
    r"(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+(?:(?P<y>\d{4})\s+)?(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d{1,9}))?"
)
_CLF = re.compile(
    r"(?P<d>\d{1,2})/(?P<mon>[A-Za-z]{3})/(?P<y>\d{4}):(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d{1,9}))?\s*(?P<z>[+-]\d{4})?"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

# Epoch magnitudes: seconds until the year 5138, then milliseconds, microseconds, nanoseconds.
_SECONDS_BELOW, _MILLIS_BELOW, _MICROS_BELOW = 1e11, 1e14, 1e17


def to_millis(moment: datetime) -> datetime:
    """UTC, truncated to the millisecond (what timestamp-millis can hold)."""
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_epoch(value: float) -> datetime | None:
    magnitude = abs(value)
    if magnitude < _SECONDS_BELOW:
        seconds = value
    elif magnitude < _MILLIS_BELOW:
        seconds = value / 1e3
    elif magnitude < _MICROS_BELOW:
        seconds = value / 1e6
    else:
        seconds = value / 1e9
    try:
        return to_millis(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _micros(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def _build(year: int, month: int, day: int, hour: int, minute: int, second: int, fraction: str | None,
           zone: timezone) -> datetime | None:
    try:
        return to_millis(datetime(year, month, day, hour, minute, second, _micros(fraction), tzinfo=zone))
    except ValueError:
        return None  # 2026-02-30, 25:00...


def _syslog(match: re.Match[str], now: datetime) -> datetime | None:
    month = MONTHS.get(match["mon"].lower())
    if month is None:
        return None
    fields = (month, int(match["d"]), int(match["h"]), int(match["mi"]), int(match["s"]), match["f"], timezone.utc)
    if match["y"]:
        return _build(int(match["y"]), *fields)
    # No year: the one that puts it nearest before now (a December line read in January is last year's).
    moment = _build(now.year, *fields)
    if moment is not None and moment > now + timedelta(days=1):
        moment = _build(now.year - 1, *fields)
    return moment


def parse_timestamp(value: object, now: datetime | None = None) -> datetime | None:
    """An aware UTC datetime with millisecond precision, or None when value is not a time."""
    if isinstance(value, datetime):
        return to_millis(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return from_epoch(float(text))
    match = _ISO.fullmatch(text)
    if match:
        return _build(
            int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"] or 0), int(match["mi"] or 0),
            int(match["s"] or 0), match["f"], _zone(match["z"]),
        )
    match = _CLF.fullmatch(text)
    if match and match["mon"].lower() in MONTHS:
        return _build(
            int(match["y"]), MONTHS[match["mon"].lower()], int(match["d"]), int(match["h"]), int(match["mi"]),
            int(match["s"]), match["f"], _zone(match["z"]),
        )
    match = _SYSLOG.fullmatch(text)
    if match:
        return _syslog(match, now or datetime.now(timezone.utc))
    try:
        parsed = parsedate_to_datetime(text)  # RFC 2822: "Wed, 21 Jan 2026 10:00:00 GMT"
    except (TypeError, ValueError, IndexError):
        return None
    return to_millis(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))
