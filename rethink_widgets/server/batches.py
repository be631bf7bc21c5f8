"""How much one batch of a cursor may hold, for row streams and changefeeds alike (RethinkDB's rules).

A batch holds at least one row; beyond that it stops at `max_batch_rows` rows, at `max_batch_bytes` of encoded rows,
or `max_batch_seconds` after it began. The first batch of a cursor is answered sooner: its byte budget and deadline
are divided by `first_batch_scaledown_factor`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class BatchLimits:
    """The batch limits from the query's global optargs (RethinkDB's defaults)."""

    max_rows: float = math.inf
    max_bytes: int = 1024 * 1024
    max_seconds: float = 0.5
    first_scaledown: int = 4

    @classmethod
    def from_optargs(cls, optargs: dict[str, Any]) -> BatchLimits:
        limits = cls()
        rows = optargs.get("max_batch_rows")
        if isinstance(rows, (int, float)) and rows >= 1:
            limits.max_rows = int(rows)
        size = optargs.get("max_batch_bytes")
        if isinstance(size, (int, float)) and size >= 1:
            limits.max_bytes = int(size)
        seconds = optargs.get("max_batch_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            limits.max_seconds = float(seconds)
        factor = optargs.get("first_batch_scaledown_factor")
        if isinstance(factor, (int, float)) and factor >= 1:
            limits.first_scaledown = int(factor)
        return limits


class Pages:
    """Encoded rows that come a page (a list of rows) at a time, as a scan reads them: a batch takes a whole page
    where it fits, without a step per row. What a batch left of a page comes first in the next."""

    __slots__ = ("_left", "_pages")

    def __init__(self, pages: Iterator[list[str]]) -> None:
        self._pages = pages
        self._left: list[str] = []

    def take(self) -> list[str] | None:
        """The next page (never empty); None once the rows have run out."""
        if self._left:
            page, self._left = self._left, []
            return page
        for page in self._pages:
            if page:
                return page
        return None

    def give_back(self, rows: list[str]) -> None:
        """What is left of the page last taken: the next `take` gives it."""
        self._left = rows

    def exhausted(self) -> bool:
        """Whether the rows have run out (a page is read ahead to know)."""
        page = self.take()
        if page is None:
            return True
        self._left = page
        return False

    def close(self) -> None:
        close = getattr(self._pages, "close", None)
        if close is not None:
            close()


class Batch:
    """Encoded rows gathered for one response, within the batch limits (the first batch is smaller)."""

    __slots__ = ("_closed", "_deadline", "_max_bytes", "_max_rows", "_size", "rows")

    def __init__(self, limits: BatchLimits, first: bool) -> None:
        scale = limits.first_scaledown if first else 1
        self.rows: list[str] = []
        self._size = 0
        self._max_rows = limits.max_rows
        self._max_bytes = limits.max_bytes // scale
        self._deadline = time.monotonic() + limits.max_seconds / scale
        self._closed = False

    def add(self, row: str) -> None:
        self.rows.append(row)
        self._size += len(row)

    def extend(self, rows: list[str]) -> None:
        self.rows.extend(rows)
        self._size += sum(map(len, rows))

    def close(self) -> None:
        """Take no more rows, however much room is left."""
        self._closed = True

    def has_room(self) -> bool:
        if not self.rows:
            return not self._closed
        full = len(self.rows) >= self._max_rows or self._size >= self._max_bytes
        return not (self._closed or full or time.monotonic() >= self._deadline)

    def fill(self, pages: Pages) -> bool:
        """Add rows while there is room, as if `has_room` were asked after each row; whether the rows ran out. A page
        that leaves room after it is added whole (a scan sends hundreds of thousands of rows a second); the one that
        fills the batch, row by row, up to the row that does."""
        if not self.has_room():
            return False
        out = self.rows
        while (page := pages.take()) is not None:
            size = sum(map(len, page))
            fits = len(out) + len(page) < self._max_rows and self._size + size < self._max_bytes
            if fits and time.monotonic() < self._deadline:
                out.extend(page)
                self._size += size
                continue
            for i, row in enumerate(page):
                self.add(row)
                if not self.has_room():
                    pages.give_back(page[i + 1 :])
                    return False
        return True

    def room(self, most: int) -> int:
        """How many more rows to fetch at once: at most `most`, and no more than the row limit leaves (at least 1)."""
        if self._max_rows == math.inf:  # (no row limit was asked for: as good as always)
            return most
        return int(max(1, min(most, self._max_rows - len(self.rows))))
