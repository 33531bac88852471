"""Multi-line events from lines: a stack trace is one event, not one per frame. A line continues
the event before it when it matches rules/parse.yaml's ``multiline.continuation`` (indented
frames, "Caused by: ", a Java exception's header), or when it closes a Python traceback (the
first unindented line after its frames: ``ValueError: bad value``). Blank lines inside a trace
(between chained Python tracebacks) stay in it; elsewhere they separate events and are dropped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streams.stages.parse import PY_TRACEBACK


@dataclass(frozen=True)
class Lines:
    first: int  # the 1-based number of its first line
    text: str


def group_lines(lines: Iterable[str], continuation: re.Pattern[str]) -> Iterator[Lines]:
    current: list[str] = []
    first = 0
    blanks: list[str] = []
    closing_traceback = False  # inside a Python traceback's frames: its next unindented line closes it
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if current:
                blanks.append(line)
            continue
        continues = bool(current) and (continuation.match(line) is not None or closing_traceback)
        if continues:
            current.extend(blanks)
            current.append(line)
        else:
            if current:
                yield Lines(first, "\n".join(current))
            current, first = [line], number
        blanks = []
        if line.startswith(PY_TRACEBACK):
            closing_traceback = True
        elif closing_traceback and not line[0].isspace():
            closing_traceback = False
    if current:
        yield Lines(first, "\n".join(current))
