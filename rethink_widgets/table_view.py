"""The rows a table view shows: a result set filtered, sorted and cut into pages, kept current change by change.

Sorting a million rows takes a second, so the order is built once when the sort or the filter changes and then
maintained by bisection as rows change; a page is a slice of it.
"""

from __future__ import annotations

import bisect
import json
from typing import Any

from rethink_widgets.results import Change, ResultSet
from rethink_widgets.sorting import sort_key

_MISSING = object()


def cell_text(value: Any) -> str:
    """How a value reads in a cell: strings as they are, everything else compactly as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # the same text as JSON, made faster (filters read every cell of every row)
    return json.dumps(value, separators=(", ", ": "), default=str, ensure_ascii=False)


class TableView:
    def __init__(self, result: ResultSet) -> None:
        self.result = result
        self.sort_column: str | None = None
        self.descending = False
        self.filter = ""
        self._needle = ""
        self._order: list[tuple[Any, ...]] = []
        self._position: dict[str, tuple[Any, ...]] = {}
        self.rebuild()

    def configure(self, sort_column: str | None, descending: bool, filter_text: str) -> None:
        if (sort_column, descending, filter_text) != (self.sort_column, self.descending, self.filter):
            self.sort_column, self.descending, self.filter = sort_column, descending, filter_text
            self._needle = filter_text.casefold()
            self.rebuild()

    def use(self, result: ResultSet) -> None:
        self.result = result
        self.rebuild()

    @property
    def by_feed_order(self) -> bool:
        """A limit feed unsorted by the user reads in the feed's own (offset) order."""
        return self.result.positioned and self.sort_column is None

    def rebuild(self) -> None:
        self._position = {}
        self._order = []
        if self.by_feed_order:
            return
        for key in self.result.ordered_keys():
            entry = self._entry(key, self.result.get(key))
            if entry is not None:
                self._position[key] = entry
        self._order = sorted(self._position.values())

    def apply(self, changes: list[Change]) -> None:
        if self.by_feed_order:
            return
        for change in changes:
            entry = self._position.pop(change.key, None)
            if entry is not None:
                del self._order[bisect.bisect_left(self._order, entry)]
            if change.new is not None and (entry := self._entry(change.key, change.new)) is not None:
                self._position[change.key] = entry
                bisect.insort(self._order, entry)

    def __len__(self) -> int:
        """How many rows pass the filter."""
        if self.by_feed_order:
            return len(self.result) if not self.filter else sum(1 for _ in self._feed_keys())
        return len(self._order)

    def page(self, number: int, size: int) -> list[str]:
        """The keys on page `number` (from 0), in display order."""
        start, stop = number * size, (number + 1) * size
        if self.by_feed_order:
            keys = self._feed_keys()
            return [key for index, key in enumerate(keys) if start <= index < stop][:size]
        if self.descending:
            count = len(self._order)
            chosen = self._order[max(0, count - stop) : max(0, count - start)]
            return [entry[-1] for entry in reversed(chosen)]
        return [entry[-1] for entry in self._order[start:stop]]

    def ordered_keys(self) -> list[str]:
        """Every key that passes the filter, in display order."""
        return self.page(0, max(1, len(self.result)))

    def _feed_keys(self) -> Any:
        return (key for key in self.result.ordered_keys() if self._passes(self.result.get(key)))

    def _entry(self, key: str, row: Any) -> tuple[Any, ...] | None:
        if not self._passes(row):
            return None
        if self.sort_column is None:
            identity = row.get(self.result.primary_key, _MISSING) if isinstance(row, dict) else _MISSING
            return (*sort_key(row if identity is _MISSING else identity), key)  # flat tuples compare faster
        value = row.get(self.sort_column) if isinstance(row, dict) else None
        # Rows without the column go last either way, as a person expects of blanks.
        missing = not isinstance(row, dict) or self.sort_column not in row
        return (missing != self.descending, *sort_key(value), key)

    def _passes(self, row: Any) -> bool:
        if not self.filter:
            return True
        needle = self._needle
        if isinstance(row, dict):
            return any(needle in cell_text(value).casefold() for value in row.values())
        return needle in cell_text(row).casefold()
