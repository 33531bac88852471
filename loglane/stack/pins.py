"""Reads artifacts.env, the one file that pins every artifact of the local stack and compose/."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from loglane.errors import ConfigError

PINS_FILE = Path(__file__).with_name("artifacts.env")
_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def parse_env_file(text: str, source: str = "artifacts.env") -> dict[str, str]:
    """KEY=VALUE lines, '#' comments, ${KEY} referring to an earlier key (compose's .env rules)."""
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ConfigError(f"{source}:{number}: expected KEY=VALUE, got {line!r}")

        def expand(match: re.Match[str], line_no: int = number) -> str:
            name = match.group(1)
            if name not in pins:
                raise ConfigError(f"{source}:{line_no}: ${{{name}}} is not defined above")
            return pins[name]

        pins[key] = _REFERENCE.sub(expand, value)
    return pins


@lru_cache(maxsize=1)
def pins() -> dict[str, str]:
    return parse_env_file(PINS_FILE.read_text(), str(PINS_FILE))


def pin(key: str) -> str:
    try:
        return pins()[key]
    except KeyError:
        raise ConfigError(f"{PINS_FILE}: no pin named {key}") from None
