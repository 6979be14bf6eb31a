"""Read CSV/TSV files row by row, reporting a malformed row by its line and keeping the others.

The rows are parsed strictly (:mod:`csv` with ``strict=True``) from lines this module decodes one
at a time, so that each kind of damage costs one row, never the file:

* a line that is not UTF-8 rejects the row that holds it (with the line and byte);
* a row with fewer or more cells than the header is rejected (never imported with empty cells);
* a quote that is never closed, or closed in the middle of a cell, would swallow the rows after
  it: the row where it opened is rejected and reading resumes at the line after that one, so the
  rows it swallowed are read again on their own;
* a truncated or damaged ``.gz`` file ends the reading with one issue at the line where the
  compressed data ends; the rows before it are kept.
"""

from __future__ import annotations

import csv
import gzip
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from workbench.errors import ImportFormatError

from .readers_base import GZIP_ERRORS, RawRecord, gzip_problem, not_gzip, open_bytes

__all__ = ["read_csv"]


class _Lines:
    """The decoded lines of a file, numbered, with the lines of the current row kept for a replay."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._next = 0
        self.pending: deque[tuple[int, str, str | None]] = deque()
        self.consumed: list[tuple[int, str, str | None]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pending:
            item = self.pending.popleft()
        else:
            blob = self._fh.readline()
            if not blob:
                raise StopIteration
            self._next += 1
            problem = None
            try:
                text = blob.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = f"invalid UTF-8 ({exc.reason} at byte {exc.start}): re-encode the line"
                text = blob.decode("utf-8", errors="replace")
            if self._next == 1:
                text = text.removeprefix("\ufeff")
            item = (self._next, text, problem)
        self.consumed.append(item)
        return item[1]

    def replay_after_first(self) -> None:
        """Read the lines of the current row again, except its first one."""
        self.pending.extendleft(reversed(self.consumed[1:]))
        self.consumed.clear()

    @property
    def last_line(self) -> int:
        """The number of the last line read from the file."""
        return self._next


def read_csv(path: Path, delimiter: str) -> Iterator[RawRecord]:
    """Yield the rows of a CSV (``","``) or TSV (``"\\t"``) file as records keyed by the header."""
    csv.field_size_limit(sys.maxsize)
    with open_bytes(path) as fh:
        lines = _Lines(fh)
        header: list[str] | None = None
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        while True:
            lines.consumed.clear()
            try:
                row = next(reader)
            except StopIteration:
                if lines.consumed and header is not None:  # the file ended inside a quote
                    yield _bad(lines, "a quote opened here is never closed")
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    continue
                return
            except csv.Error as exc:
                if header is None:
                    raise ImportFormatError(
                        f"{path.name}: the header line is not valid CSV ({exc}); fix it"
                    ) from exc
                reason = (
                    "a quote opened in this row is never closed"
                    if "unexpected end of data" in str(exc)
                    else f"malformed CSV ({exc}): check the quotes in this row"
                )
                yield _bad(lines, reason)
                reader = csv.reader(lines, delimiter=delimiter, strict=True)
                continue
            except GZIP_ERRORS as exc:
                if lines.last_line == 0 and isinstance(exc, gzip.BadGzipFile):
                    raise ImportFormatError(not_gzip(path, exc)) from exc
                yield RawRecord(f"line {lines.last_line + 1}", None, gzip_problem(exc))
                return
            if not row:
                continue
            start = lines.consumed[0][0]
            where = f"line {start}"
            problem = next((p for _, _, p in lines.consumed if p), None)
            if header is None:
                if problem:
                    raise ImportFormatError(
                        f"{path.name}: the header line is not UTF-8 text ({problem}): convert "
                        "the file to UTF-8"
                    )
                header = row
                continue
            if problem:
                bad = next(n for n, _, p in lines.consumed if p)
                yield RawRecord(f"line {bad}", None, problem)
                continue
            if len(row) != len(header):
                more = "more" if len(row) > len(header) else "fewer"
                reason = (
                    f"{len(row)} cells, {more} cells than the {len(header)} headers: "
                    "give every row one cell per header (quote cells that hold the delimiter)"
                )
                if len(lines.consumed) > 1:  # a quote may have swallowed the next rows
                    yield _bad(lines, reason)
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    continue
                yield RawRecord(where, None, reason)
                continue
            yield RawRecord(where, dict(zip(header, row, strict=True)))


def _bad(lines: _Lines, reason: str) -> RawRecord:
    """Reject the row that started at the first consumed line; read the lines after it again."""
    start = lines.consumed[0][0] if lines.consumed else lines.last_line
    spans = len(lines.consumed)
    lines.replay_after_first()
    extra = f" (it ran over {spans} lines; they are read again as rows)" if spans > 1 else ""
    return RawRecord(f"line {start}", None, reason + extra)
