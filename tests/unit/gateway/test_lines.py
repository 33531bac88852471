"""Upload bodies -> lines: plain or gzip, split anywhere, bounded in memory."""

from __future__ import annotations

import gzip
import zlib

import pytest

from loglane.gateway.events import Invalid
from loglane.gateway.lines import CorruptBody, LineReader


def read(body: bytes, chunk: int, **options: int) -> list:
    reader = LineReader(**options)
    out: list = []
    for start in range(0, len(body), chunk):
        out += reader.feed(body[start : start + chunk])
    out += reader.finish()
    return out


TEXT = b'{"n": 1}\n\n{"n": 2}\r\n{"n": 3}'


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_should_split_plain_text_into_lines_whatever_the_chunking(chunk: int) -> None:
    assert read(TEXT, chunk) == [b'{"n": 1}', b"", b'{"n": 2}\r', b'{"n": 3}']


@pytest.mark.parametrize("chunk", [1, 5, 64, 100000])
def test_should_gunzip_on_the_fly(chunk: int) -> None:
    assert read(gzip.compress(TEXT + b"\n"), chunk) == [b'{"n": 1}', b"", b'{"n": 2}\r', b'{"n": 3}']


def test_should_read_concatenated_gzip_members() -> None:
    body = gzip.compress(b"a\nb\n") + gzip.compress(b"c\n")
    for chunk in (1, 3, len(body)):
        assert read(body, chunk) == [b"a", b"b", b"c"]


def test_should_decompress_in_bounded_pieces() -> None:
    # 64 MiB of text in a few hundred KiB: handed on in pieces of at most `piece` bytes.
    body = gzip.compress((b"x" * 1023 + b"\n") * (64 << 10))
    reader = LineReader(piece=1 << 16)
    pieces: list[int] = []
    original = reader._split
    reader._split = lambda data: (pieces.append(len(data)), original(data))[1]  # type: ignore[method-assign]
    count = sum(1 for _ in reader.feed(body)) + sum(1 for _ in reader.finish())
    assert count == 64 << 10
    assert max(pieces) <= 1 << 16


def test_should_report_and_skip_overlong_lines() -> None:
    body = b"short\n" + b"x" * 50 + b"\nafter\n" + b"y" * 30
    for chunk in (4, 13, 1000):
        items = read(body, chunk, max_line=20)
        assert items[0] == b"short"
        assert isinstance(items[1], Invalid) and items[1].kind == "too_large"
        assert items[2] == b"after"
        assert isinstance(items[3], Invalid)
        assert len(items) == 4


def test_should_refuse_corrupt_or_truncated_gzip() -> None:
    body = gzip.compress(b"a\n" * 1000)
    with pytest.raises(CorruptBody, match="ends early"):
        read(body[:-20], 100)
    with pytest.raises(CorruptBody, match="not valid gzip"):
        read(b"\x1f\x8b\x08\xffgarbage-garbage-garbage", 100)
    with pytest.raises(CorruptBody, match="after the end"):
        read(gzip.compress(b"a\n") + b"trailing", 100)


def test_a_one_byte_body_is_one_line() -> None:
    assert read(b"x", 1) == [b"x"]
    assert read(b"", 1) == []


def test_zlib_is_not_mistaken_for_gzip() -> None:
    assert read(zlib.compress(b"a"), 100)[0].startswith(b"x")
