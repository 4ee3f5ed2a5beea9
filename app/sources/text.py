"""A source file's exact bytes and a text view whose offsets every parser and edit share.

Decoding keeps every byte recoverable: UTF-8 with `surrogateescape`, so a latin-1 Dockerfile
round-trips byte for byte; a UTF-8 BOM is kept aside and put back on write. The text keeps its
line endings (CRLF stays CRLF) so offsets in the text map one-to-one onto the bytes on disk.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property

from batten.fsio import NotRegularFile, TooLarge, read_regular
from batten.model import Location, Span

BOM = b"\xef\xbb\xbf"
MAX_BYTES = 2 * 1024 * 1024  # files above this are reported, not parsed (2 MiB)
BINARY_SNIFF = 8192


class SourceError(Exception):
    """A file that cannot be read as text; the message is one line for the user."""

    def __init__(self, message: str, line: int = 1, column: int = 1, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.unreadable = unreadable  # the file could not be read at all (permissions, I/O)


@dataclass(eq=False)
class SourceText:
    """One file: its bytes, its decoded text and helpers to turn offsets into lines."""

    path: str  # project-relative, forward slashes
    raw: bytes
    text: str
    bom: bool = False
    valid_utf8: bool = True
    abspath: str | None = None
    mtime_ns: int | None = None
    _line_starts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def from_bytes(
        cls, path: str, raw: bytes, *, abspath: str | None = None, mtime_ns: int | None = None
    ) -> SourceText:
        if len(raw) > MAX_BYTES:
            raise SourceError(
                f"file is {len(raw):,} bytes, over batten's {MAX_BYTES // (1024 * 1024)} MiB cap; not parsed"
            )
        if b"\x00" in raw[:BINARY_SNIFF]:
            raise SourceError("binary file (contains NUL bytes); not parsed")
        bom = raw.startswith(BOM)
        body = raw[len(BOM) :] if bom else raw
        try:
            text = body.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            text = body.decode("utf-8", errors="surrogateescape")
            valid = False
        return cls(path=path, raw=raw, text=text, bom=bom, valid_utf8=valid, abspath=abspath, mtime_ns=mtime_ns)

    @classmethod
    def from_text(cls, path: str, text: str) -> SourceText:
        return cls.from_bytes(path, text.encode("utf-8", errors="surrogateescape"))

    @classmethod
    def read(cls, abspath: str, relpath: str) -> SourceText:
        """Read a file that may be hostile: never blocks (a FIFO is refused, not opened for a
        writer that never comes), regular files only, at most MAX_BYTES."""
        try:
            raw = read_regular(abspath, MAX_BYTES)
            mtime = os.stat(abspath).st_mtime_ns
        except TooLarge as exc:
            raise SourceError(
                f"file is {exc.size:,} bytes, over batten's {MAX_BYTES // (1024 * 1024)} MiB cap; not parsed"
            ) from None
        except NotRegularFile as exc:
            raise SourceError(str(exc.strerror)) from None
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}", unreadable=True) from None
        return cls.from_bytes(relpath, raw, abspath=abspath, mtime_ns=mtime)

    # -- encoding back -------------------------------------------------------------------------

    def encode(self, text: str | None = None) -> bytes:
        """Bytes for `text` (default: this text) in this file's encoding, BOM included."""
        body = (self.text if text is None else text).encode("utf-8", errors="surrogateescape")
        return (BOM + body) if self.bom else body

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    # -- line bookkeeping ----------------------------------------------------------------------

    @property
    def line_starts(self) -> list[int]:
        if not self._line_starts:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._line_starts = starts
        return self._line_starts

    @cached_property
    def newline(self) -> str:
        """The file's dominant line ending ("\\r\\n" or "\\n")."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"

    @property
    def ends_with_newline(self) -> bool:
        return self.text.endswith("\n")

    @property
    def line_count(self) -> int:
        n = len(self.line_starts)
        return n - 1 if self.text.endswith("\n") else n

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        starts = self.line_starts
        idx = bisect.bisect_right(starts, offset) - 1
        return idx + 1, offset - starts[idx] + 1

    def offset(self, line: int, column: int = 1) -> int:
        starts = self.line_starts
        line = max(1, min(line, len(starts)))
        return min(starts[line - 1] + column - 1, len(self.text))

    def line_span(self, line: int) -> Span:
        """Span of a 1-based line without its line ending."""
        starts = self.line_starts
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        if end > start and self.text[end - 1 : end] == "\r" and line < len(starts):
            end -= 1
        return Span(start, max(start, end))

    def line_text(self, line: int) -> str:
        sp = self.line_span(line)
        return self.text[sp.start : sp.end]

    def lines(self) -> list[str]:
        return [self.line_text(i) for i in range(1, self.line_count + 1)]

    def location(self, span: Span | None) -> Location:
        if span is None:
            return Location(self.path, 1, 1)
        line, col = self.line_col(span.start)
        end = max(span.start, span.end - 1) if span.end > span.start else span.start
        eline, ecol = self.line_col(end)
        return Location(self.path, line, col, eline, ecol + (1 if span.end > span.start else 0), span)

    def location_at(self, start: int, end: int | None = None) -> Location:
        return self.location(Span(start, start if end is None else end))
