"""The rows a table view shows: a result set filtered, sorted and cut into pages, kept current change by change.

Sorting a million rows takes seconds, so the order is built when the sort or the filter changes and then
maintained by bisection as rows change; a page is a slice of it. A new order is built in steps of `STEP_ROWS`
rows (`step()`), so the kernel's loop can send updates and run cells in between; until it is done the old order
stays on show, kept current, and the rows that change meanwhile are redone at the end, so the new order is exact.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

from rethink_widgets.jupyter.results import ResultSet, RowChange
from rethink_widgets.jupyter.sorting import sort_key

STEP_ROWS = 5_000  # rows per step of a rebuild: some 10 ms of work on a shared core
REDO_PER_STEP = 20  # changed rows redone per step: each moves up to a million entries of the order
VALUE_COLUMN = "value"  # the one column of rows that are not objects (a query that maps to numbers, say)
_MISSING = object()
_DONE = object()


def cell_text(value: Any) -> str:
    """How a value reads in a cell: strings as they are, everything else compactly as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # the same text as JSON, made faster (filters read every cell of every row)
    return json.dumps(value, separators=(", ", ": "), default=str, ensure_ascii=False)


class _Order:
    """The keys of the rows that pass a filter, sorted, and kept sorted by bisection as rows change."""

    def __init__(self, result: ResultSet, sort_column: str | None, descending: bool, filter_text: str) -> None:
        self.result = result
        self.sort_column = sort_column
        self.descending = descending
        self.filter = filter_text
        self._needle = filter_text.casefold()
        self.entries: list[tuple[Any, ...]] = []
        self.position: dict[str, tuple[Any, ...]] = {}

    @property
    def by_feed_order(self) -> bool:
        """A limit feed unsorted by the user reads in the feed's own (offset) order."""
        return self.result.positioned and self.sort_column is None

    def update(self, key: str, row: Any) -> None:
        """Put the row with this key where it now belongs (`row` None: it went away)."""
        entry = self.position.pop(key, None)
        if entry is not None:
            del self.entries[bisect.bisect_left(self.entries, entry)]
        if row is not None and (entry := self.entry(key, row)) is not None:
            self.position[key] = entry
            bisect.insort(self.entries, entry)

    def __len__(self) -> int:
        if self.by_feed_order:
            return len(self.result) if not self.filter else sum(1 for _ in self._feed_keys())
        return len(self.entries)

    def keys(self, start: int, stop: int) -> list[str]:
        """The keys from `start` to `stop` in display order."""
        if self.by_feed_order:
            return list(itertools.islice(self._feed_keys(), start, stop))
        if self.descending:
            count = len(self.entries)
            chosen = self.entries[max(0, count - stop) : max(0, count - start)]
            return [entry[-1] for entry in reversed(chosen)]
        return [entry[-1] for entry in self.entries[start:stop]]

    def unfiltered_keys(self) -> list[str]:
        """Every key of the result in this order, whether it passes the filter or not."""
        if self.by_feed_order:
            return list(self.result.ordered_keys())
        if not self.filter:
            return self.keys(0, len(self.entries))
        entries = sorted(self.sort_entry(key, self.result.get(key)) for key in self.result.ordered_keys())
        return [entry[-1] for entry in (reversed(entries) if self.descending else entries)]

    def _feed_keys(self) -> Iterator[str]:
        return (key for key in self.result.ordered_keys() if self.passes(self.result.get(key)))

    def entry(self, key: str, row: Any) -> tuple[Any, ...] | None:
        return self.sort_entry(key, row) if self.passes(row) else None

    def sort_entry(self, key: str, row: Any) -> tuple[Any, ...]:
        if self.sort_column is None:
            identity = row.get(self.result.primary_key, _MISSING) if isinstance(row, dict) else _MISSING
            return (*sort_key(row if identity is _MISSING else identity), key)  # flat tuples compare faster
        if isinstance(row, dict):
            value, missing = row.get(self.sort_column), self.sort_column not in row
        else:  # a row that is not an object is its one column's value
            value, missing = row, self.sort_column != VALUE_COLUMN
        # Rows without the column go last either way, as a person expects of blanks.
        return (missing != self.descending, *sort_key(value), key)

    def passes(self, row: Any) -> bool:
        if not self.filter:
            return True
        needle = self._needle
        if isinstance(row, dict):
            return any(needle in cell_text(value).casefold() for value in row.values())
        return needle in cell_text(row).casefold()


class TableView:
    def __init__(self, result: ResultSet) -> None:
        self.result = result
        self.sort_column: str | None = None
        self.descending = False
        self.filter = ""
        self.step_rows = STEP_ROWS
        self._shown = _Order(result, None, False, "")
        self._build: Iterator[None] | None = None
        self._dirty: set[str] = set()
        self.rebuild()

    def configure(self, sort_column: str | None, descending: bool, filter_text: str) -> None:
        """Start building the order for this sort and filter; `step()` builds it, `settle()` finishes it."""
        if (sort_column, descending, filter_text) != (self.sort_column, self.descending, self.filter):
            self.sort_column, self.descending, self.filter = sort_column, descending, filter_text
            self._start()

    def use(self, result: ResultSet) -> None:
        self.result = result
        self.rebuild()

    def rebuild(self) -> None:
        """Build the order for the current sort and filter at once."""
        self._start()
        self.settle()

    @property
    def building(self) -> bool:
        return self._build is not None

    def step(self) -> bool:
        """Do one step (about `step_rows` rows) of the order being built; True when it is built."""
        if self._build is None:
            return True
        if next(self._build, _DONE) is not _DONE:
            return False
        self._build = None
        return True

    def advance(self, seconds: float) -> bool:
        """Build for about `seconds` (steps until that much time has passed); True when the order is built."""
        deadline = time.perf_counter() + seconds
        while not self.step():
            if time.perf_counter() > deadline:
                return False
        return True

    def settle(self) -> None:
        """Finish building the order now."""
        while not self.step():
            pass

    def apply(self, changes: list[RowChange]) -> None:
        if self._build is not None:
            self._dirty.update(change.key for change in changes)
        if not self._shown.by_feed_order:
            for change in changes:
                self._shown.update(change.key, change.new)

    def __len__(self) -> int:
        """How many rows pass the filter (in the order on show)."""
        return len(self._shown)

    def page(self, number: int, size: int) -> list[str]:
        """The keys on page `number` (from 0), in display order."""
        return self._shown.keys(number * size, (number + 1) * size)

    def ordered_keys(self) -> list[str]:
        """Every key that passes the filter, in display order."""
        return self._shown.keys(0, len(self.result))

    def unfiltered_keys(self) -> list[str]:
        """Every key of the result, in the display's sort order, filtered out or not."""
        return self._shown.unfiltered_keys()

    def _start(self) -> None:
        self._build = self._rebuilding(_Order(self.result, self.sort_column, self.descending, self.filter))
        self._dirty = set()

    def _rebuilding(self, order: _Order) -> Iterator[None]:
        """Fill `order`, redo the rows that changed meanwhile, show it, and let the old order go, step by step."""
        yield from self._filling(order)
        while self._dirty:  # rows keep changing meanwhile; the order is shown once none is left to redo
            for _ in range(min(REDO_PER_STEP, len(self._dirty))):
                key = self._dirty.pop()
                order.update(key, self.result.get(key))
            yield
        old, self._shown = self._shown, order
        # Freeing a million entries at once would stall the loop as long as a step of building them.
        while old.position:
            for _ in range(min(self.step_rows, len(old.position))):
                old.position.popitem()
            del old.entries[-self.step_rows :]
            yield

    def _filling(self, order: _Order) -> Iterator[None]:
        """Fill `order` a step at a time: sort runs of rows, then merge them."""
        if order.by_feed_order:
            return
        # The result may change between steps: the rows changed meanwhile are redone at the end.
        position = order.position = self.result.by_key()  # its values are replaced by entries as they are made
        yield
        keys = list(position)
        yield
        runs = []
        for start in range(0, len(keys), self.step_rows):
            run = []
            for key in keys[start : start + self.step_rows]:
                row = self.result.get(key)
                entry = None if row is None else order.entry(key, row)
                if entry is None:
                    del position[key]
                else:
                    position[key] = entry
                    run.append(entry)
            run.sort()
            runs.append(run)
            yield
        merged = heapq.merge(*runs)
        while chunk := list(itertools.islice(merged, self.step_rows)):
            order.entries.extend(chunk)
            yield
