"""An upload body, chunk by chunk -> its lines, gunzipping on the fly when it starts with the gzip
magic bytes. Memory stays bounded whatever the input: decompression is done in pieces of at most
`piece` bytes (a gzip bomb costs time, not memory), and a line longer than `max_line` is reported
as too large and skipped, not collected. Pure: no I/O."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from loglane.gateway.events import TOO_LARGE, Invalid

__all__ = ["CorruptBody", "LineReader"]

GZIP_MAGIC = b"\x1f\x8b"


class CorruptBody(ValueError):
    """The body is not what it claims (gzip that does not decompress, or ends early)."""


class LineReader:
    """feed(chunk) and finish() yield one item per line, blank lines included (so a caller's
    line numbers match the file's): the line's bytes without the newline, or Invalid(too_large)."""

    def __init__(self, max_line: int = 1 << 20, piece: int = 1 << 20) -> None:
        self.max_line = max_line
        self.piece = piece
        self.gzip: bool | None = None  # None until the first two bytes are seen
        self._head = b""
        self._inflate: zlib._Decompress | None = None
        self._pending = b""
        self._skipping = False  # inside a line already reported as too large

    def feed(self, chunk: bytes) -> Iterator[bytes | Invalid]:
        if self.gzip is None:
            self._head += chunk
            if len(self._head) < 2:
                return
            chunk, self._head = self._head, b""
            self.gzip = chunk.startswith(GZIP_MAGIC)
            if self.gzip:
                self._inflate = zlib.decompressobj(wbits=31)
        if not self.gzip:
            yield from self._split(chunk)
            return
        yield from self._gunzip(chunk)

    def finish(self) -> Iterator[bytes | Invalid]:
        if self.gzip is None and self._head:  # a one-byte body
            self.gzip = False
            yield from self._split(self._head)
        if self.gzip:
            assert self._inflate is not None
            if not self._inflate.eof:
                raise CorruptBody("the gzip stream ends early (truncated upload?)")
        if self._pending and not self._skipping:
            yield self._pending
        self._pending = b""

    def _gunzip(self, data: bytes) -> Iterator[bytes | Invalid]:
        assert self._inflate is not None
        while data:
            try:
                piece = self._inflate.decompress(data, self.piece)
            except zlib.error as exc:
                raise CorruptBody(f"not valid gzip: {exc}") from None
            if piece:
                yield from self._split(piece)
            if self._inflate.eof:
                rest = self._inflate.unused_data
                if not rest:
                    return
                if not rest.startswith(GZIP_MAGIC[: len(rest)]):
                    raise CorruptBody("bytes after the end of the gzip stream")
                self._inflate = zlib.decompressobj(wbits=31)  # concatenated members (cat a.gz b.gz)
                data = rest
            else:
                data = self._inflate.unconsumed_tail

    def _split(self, data: bytes) -> Iterator[bytes | Invalid]:
        if self._pending:
            data = self._pending + data
            self._pending = b""
        lines = data.split(b"\n")
        last = lines.pop()
        for line in lines:
            if self._skipping:
                self._skipping = False  # the end of the overlong line
                continue
            if len(line) > self.max_line:
                yield Invalid(TOO_LARGE, f"line longer than {self.max_line} bytes")
                continue
            yield line
        if self._skipping:
            return  # still inside the overlong line: drop what came
        if len(last) > self.max_line:
            self._skipping = True
            yield Invalid(TOO_LARGE, f"line longer than {self.max_line} bytes")
            return
        self._pending = last
