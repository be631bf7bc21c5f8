"""The rows a table view shows: a result set filtered, sorted and cut into pages (or any window), kept current change
by change.

The order is held as entries, tuples that sort as the view reads: (group, value) for each sort key in turn, then
(identity group, identity value, key), where the identity is the primary key (or the row itself) and key the result's
key. A descending key's part is inverted (sorting.py's `inverted`), so each key has its own direction and rows without
the column come last either way. Ties in every sorted column so read in primary-key order, and no two
entries are equal, so a row's old entry is found again by bisection when it changes: one change costs microseconds.
Entries hold no row, so the garbage collector stops tracking them and a full collection does not grow with them.
Every row's entry is kept (`everything`), and those that pass the filter (`shown`, the same when there is none).
Changes are applied as the feed brings them, a batch at a time: rows that appear together, as a snapshot's do, have
their entries sorted together and merged in.

A new sort or filter is built from a copy of the result taken at once, in steps (`step()`) so that the kernel's loop
can send updates and run cells in between: values are sorted column by column (sorting.py), the filter reads many
rows per call (filtering.py), then the changes made meanwhile are replayed. Until it is done the old order stays on
show, kept current, so what a view shows is never stale. A new filter on the same sort needs no sorting at all:
it takes the entries held and picks those that pass.
"""

from __future__ import annotations

import array
import functools
import itertools
import operator
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

from rethink_widgets.jupyter import collector
from rethink_widgets.jupyter.filtering import Filter
from rethink_widgets.jupyter.results import ResultSet, RowChange, shape, unpacked
from rethink_widgets.jupyter.sorted_entries import Entry, SortedEntries
from rethink_widgets.jupyter.sorting import inverted, inverted_comparables, sort_key, sort_keys, sorted_positions

STEP_ROWS = 50_000  # rows per step of a rebuild: some 5 to 25 ms of work on a shared core
VALUE_COLUMN = "value"  # the one column of rows that are not objects (a query that maps to numbers, say)
MISSING_LAST = 8  # the group of rows without a sorted column, after every type in either direction
MISSING_FIRST = -1  # and before every type, to sort a descending key backwards

Sort = tuple[tuple[str, bool], ...]  # (column, descending) for each sort key, first the most significant


class _Missing:
    """The value of a column a row does not have."""


_MISSING = _Missing()
_KEY = operator.itemgetter(-1)  # an entry's key
_DONE = object()

Steps = Generator[None, None, Any]


class _Copy:
    """A result's keys and rows as held, copied at once for a build to read (`TableView._copy`)."""

    def __init__(self) -> None:
        # Filled anew each time, never made anew: a new list of a million is young, and the garbage collector's
        # young collections would walk it, some 100 ms each; these grew old empty.
        self.keys: list[str] = []
        self.rows: list[Any] = []
        self.fields: tuple[str, ...] | None = None  # every row's field names, when the result knew them at once


class _Order:
    """The entries of a result's rows for one sort and filter."""

    def __init__(self, result: ResultSet, sort: Sort, filter_text: str) -> None:
        self.result = result
        self.sort_keys = sort
        self.filter = Filter(filter_text)
        self.everything = SortedEntries()
        self.shown = self.everything if not self.filter else SortedEntries()
        # Rows kept where they were (an edited row, until the next sort action): key -> the row as its entry reads.
        self.pinned: dict[str, Any] = {}
        self.borrowed = False  # `everything` is the order on show's, kept current by it: changes move `shown` only

    @property
    def by_feed_order(self) -> bool:
        """A limit feed unsorted by the user reads in the feed's own (offset) order: it holds no entries."""
        return self.result.positioned and not self.sort_keys

    def same_sort(self, other: _Order) -> bool:
        return (self.result, self.sort_keys) == (other.result, other.sort_keys)

    # ---------------------------------------------------------------- one row

    def identity(self, row: Any) -> Any:
        key = self.result.primary_key
        return row[key] if key is not None and isinstance(row, dict) and key in row else row

    def entry(self, key: str, row: Any) -> Entry:
        # (no list for an unsorted view: an entry is made for every row a snapshot brings)
        group, value = _held_key(self.identity(row))
        if not self.sort_keys:
            return (group, value, key)
        parts: list[Any] = []
        for column, descending in self.sort_keys:
            cell = _value(row, column)
            if cell is _MISSING:
                parts += (MISSING_LAST, 0)
            else:
                parts += inverted(*sort_key(cell)) if descending else _held_key(cell)
        return (*parts, group, value, key)

    def update(self, change: RowChange) -> None:
        old = self.pinned.get(change.key, change.old)
        if change.key in self.pinned:
            if change.new is not None:
                return  # it stays where it is, showing its new values
            del self.pinned[change.key]
        self._move(change.key, old, change.new)

    def update_all(self, changes: list[RowChange]) -> None:
        """`update` for each change in turn; rows that appear one after another (a snapshot's) are added together,
        their entries sorted in one call."""
        added: list[RowChange] = []
        for change in changes:
            if change.old is None and change.key not in self.pinned:
                added.append(change)
                continue
            self._add_all(added)
            added = []
            self.update(change)
        self._add_all(added)

    def _add_all(self, added: list[RowChange]) -> None:
        """Add the entries of rows that were not there (each with a key of its own)."""
        if not added:
            return
        entry = self.entry
        if self.shown is self.everything:  # (no filter: no rows to keep beside the entries)
            if not self.borrowed:
                self.everything.add_sorted(sorted([entry(change.key, change.new) for change in added]))
            return
        # (entry, row) pairs sort by entry alone: no two entries are equal
        made = sorted([(entry(change.key, change.new), change.new) for change in added])
        if not self.borrowed:
            self.everything.add_sorted([entry for entry, _ in made])
        passes = self.filter.passes
        self.shown.add_sorted([entry for entry, row in made if passes(row)])

    def pin(self, key: str, row: Any) -> None:
        """Keep the row `key` (now `row`) where it is whatever its next changes, until `unpin`."""
        if not self.by_feed_order:
            self.pinned.setdefault(key, row)

    def unpin(self, key: str, row: Any) -> None:
        """Put a pinned row (now `row`, None when gone) where it belongs."""
        if key in self.pinned:
            self._move(key, self.pinned.pop(key), row)

    def _move(self, key: str, old: Any, new: Any) -> None:
        if old is not None:
            entry = self.entry(key, old)
            if not self.borrowed:
                self.everything.remove(entry)
            if self.shown is not self.everything and self.filter.passes(old):
                self.shown.remove(entry)
        if new is not None:
            entry = self.entry(key, new)
            if not self.borrowed:
                self.everything.add(entry)
            if self.shown is not self.everything and self.filter.passes(new):
                self.shown.add(entry)

    def keys(self, start: int, stop: int) -> list[str]:
        """The keys from `start` to `stop` in display order."""
        if self.by_feed_order:
            return list(itertools.islice(self._feed_keys(), start, stop))
        return list(map(_KEY, self.shown.between(start, stop)))

    def _feed_keys(self) -> Iterator[str]:
        return (key for key in self.result.ordered_keys() if self.filter.passes(self.result.get(key)))

    def __len__(self) -> int:
        if self.by_feed_order:
            return len(self.result) if not self.filter else sum(1 for _ in self._feed_keys())
        return len(self.shown)

    # ---------------------------------------------------------------- many rows at once

    def sort(self, copy: _Copy, run: int, spares: tuple[list[Any], list[Any]]) -> Steps:
        """Fill the order with the entries of the rows copied, a step at a time (`spares`: two lists to fill, for
        the identities and each sorted column's values)."""
        keys, rows = copy.keys, copy.rows
        flags = yield from self._passing(copy, run)
        positions: Sequence[int] = range(len(rows))
        identities = yield from _column(copy, self.result.primary_key, self.identity, spares[0], run)
        id_groups, id_values = yield from sort_keys(identities, run)
        positions = yield from sorted_positions(positions, id_groups, id_values, run)
        columns = [id_groups, (yield from _held_numbers(identities, id_values, run)), keys]
        for index, (column, descending) in enumerate(reversed(self.sort_keys)):  # stable: the most significant last
            into = spares[1] if index == 0 else []  # a column's values may be its comparables, kept for the entries
            values = yield from _column(copy, column, functools.partial(_value, column=column), into, run)
            missing = MISSING_FIRST if descending else MISSING_LAST
            groups, comparables = yield from sort_keys(values, run, functools.partial(_key_or_missing, missing))
            if descending:  # stably backwards: forwards over the order reversed, then reversed (plain values sort
                # faster than inverted ones, some of which compare in Python); the entries hold them inverted
                positions = (yield from sorted_positions(positions[::-1], groups, comparables, run))[::-1]
                groups, comparables = yield from _inverted_column(groups, comparables, run)
            else:
                positions = yield from sorted_positions(positions, groups, comparables, run)
                comparables = yield from _held_numbers(values, comparables, run)
            columns = [groups, comparables, *columns]
        # Made in the result's order, then put in order: made in order, each would be a handful of cache misses.
        entries: list[Entry] = []
        for start in range(0, len(keys), run):
            stop = min(start + run, len(keys))
            entries.extend(zip(*(_part(column, start, stop) for column in columns), strict=True))
            yield
        del columns
        for start in range(0, len(positions), run):
            chunk = positions[start : start + run]
            ordered = list(map(entries.__getitem__, chunk))
            self.everything.extend_sorted(ordered)
            if flags is not None:
                self.shown.extend_sorted(list(itertools.compress(ordered, map(flags.__getitem__, chunk))))
            yield

    def adopt(self, entries: list[Entry], copy: _Copy, run: int) -> Steps:
        """Fill the entries shown with those of `entries` (a copy of `everything`, of the rows copied) that pass the
        filter, a step at a time."""
        keys = copy.keys
        flags = yield from self._passing(copy, run)
        assert flags is not None  # an order with no filter shows `everything` itself
        # The keys of the rows that pass, as a dict: the garbage collector never tracks a dict of texts, and it
        # would walk a set of a million keys made young over many steps (some 50 ms).
        passing: dict[str, None] = {}
        for start in range(0, len(keys), run):
            passing.update(dict.fromkeys(itertools.compress(keys[start : start + run], flags[start : start + run])))
            yield
        for start in range(0, len(entries), run):
            chunk = entries[start : start + run]
            self.shown.extend_sorted(list(itertools.compress(chunk, map(passing.__contains__, map(_KEY, chunk)))))
            yield

    def _passing(self, copy: _Copy, run: int) -> Steps:
        """Whether each row passes the filter (None when there is none), a step at a time. Rows are read in the
        result's order: one after the other in memory, where in sorted order each would be a cache miss. Held as
        bytes: a list of a million, made young over steps that make few objects, would be walked by the garbage
        collector."""
        if not self.filter:
            return None
        flags = bytearray()
        for start in range(0, len(copy.rows), run):
            flags.extend(self.filter.matching(copy.rows[start : start + run], copy.fields))
            yield
        return flags


def _column(copy: _Copy, name: str | None, of: Callable[[Any], Any], into: list[Any], run: int) -> Steps:
    """`into` (empty), filled with `of(row)` for each row copied (as held: see results.py's `copy_into`), a step per
    `run` rows; returns it. By a C loop reading the field at its position when every row of a step is an object with
    the same fields, this one among them: the common case."""
    for start in range(0, len(copy.rows), run):
        part = copy.rows[start : start + run]
        fields = copy.fields if copy.fields is not None else shape(part)
        if name is not None and fields is not None and name in fields:
            into.extend(map(operator.itemgetter(fields.index(name)), part))
        else:
            into.extend(map(of, map(unpacked, part)))
        yield
    return into


def _held_key(value: Any) -> tuple[int, Any]:
    """`sort_key` of a value for an entry: a whole number as the row's own int when its float is equal (not a new
    float: 24 bytes an entry). Floats are their own comparables already."""
    group, comparable = sort_key(value)
    return (group, value) if type(value) is int and comparable == value else (group, comparable)


def _held_numbers(values: list[Any], comparables: Sequence[Any], run: int) -> Steps:
    """For the entries, a column's values in place of their comparables when these are numbers as floats (an array)
    equal to them: the rows' own numbers, where each float read from the array would be made anew, 24 bytes a row.
    Entries made from a row later hold its float comparables: equal, and compared exactly, to the numbers."""
    if not isinstance(comparables, array.array):
        return comparables
    for start in range(0, len(values), run):
        if not all(map(operator.eq, values[start : start + run], comparables[start : start + run])):
            return comparables  # a number a float cannot hold exactly, or NaN
        yield
    return values


def _value(row: Any, column: str) -> Any:
    if isinstance(row, dict):
        return row.get(column, _MISSING)
    return row if column == VALUE_COLUMN else _MISSING  # a row that is not an object is its one column


def _key_or_missing(missing: int, value: Any) -> tuple[int, Any]:
    """`sort_key` of a column's value, rows without it in the `missing` group."""
    return (missing, 0) if value is _MISSING else sort_key(value)


def _inverted_column(groups: int | list[int], comparables: Sequence[Any], run: int) -> Steps:
    """A descending key's groups and comparables (rows without the column in MISSING_FIRST) as its entries hold
    them: `inverted`, rows without the column last; a step per `run` values."""
    if isinstance(groups, int):
        group, _ = inverted(groups, 0)
        flipped: Any = array.array("d") if isinstance(comparables, array.array) else []
        for start in range(0, len(comparables), run):
            flipped.extend(inverted_comparables(groups, comparables[start : start + run]))
            yield
        return group, flipped
    keys: list[tuple[int, Any]] = []
    for start in range(0, len(groups), run):
        keys.extend(
            (MISSING_LAST, 0) if group == MISSING_FIRST else inverted(group, value)
            for group, value in zip(groups[start : start + run], comparables[start : start + run], strict=True)
        )
        yield
    return [key[0] for key in keys], [key[1] for key in keys]


def _part(column: int | Sequence[Any], start: int, stop: int) -> Iterable[Any]:
    """Items `start` to `stop` of a column, which may be one value for every row."""
    return itertools.repeat(column, stop - start) if isinstance(column, int) else column[start:stop]


class TableView:
    def __init__(self, result: ResultSet) -> None:
        self.result = result
        self.sort: Sort = ()
        self.filter = ""
        self.step_rows = STEP_ROWS
        self._shown = _Order(result, (), "")
        self._stale = True  # the order on show does not follow the result (not built yet, or a change too big)
        self._build: Iterator[None] | None = None
        self._leftovers: list[SortedEntries] = []  # orders no longer shown, let go of a step at a time
        self._queued: list[RowChange] = []  # changes made since the copy a build works from
        # The copies a build works from, filled anew each time (see `_Copy`).
        self._copied = _Copy()
        self._entries: list[Entry] = []
        self._spares: tuple[list[Any], list[Any]] = ([], [])
        self.rebuild()

    def configure(self, sort: Sort, filter_text: str) -> None:
        """Start building the order for this sort ((column, descending) for each key) and filter; `step()` builds
        it, `settle()` finishes it."""
        sort = tuple(sort)
        if (sort, filter_text) != (self.sort, self.filter):
            self.sort, self.filter = sort, filter_text
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

    @property
    def busy(self) -> bool:
        """Building an order, or letting go of one no longer shown: `step()` has more to do."""
        return self._build is not None or bool(self._leftovers)

    def step(self) -> bool:
        """Do one step (about `step_rows` rows) of the order being built, or else of letting go of an old one;
        True when the order is built."""
        if self._build is None:
            if self._leftovers and self._leftovers[0].drop_some(self.step_rows):
                del self._leftovers[0]
            return True
        with collector.paused():
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
        """Apply changes the result has had (rows that appeared one after another are added in one sort)."""
        if self._shown.by_feed_order:
            return
        if not self._stale and len(changes) > self.step_rows:
            # A fresh snapshot that differs a lot: building anew in steps beats moving each row while the loop waits.
            self._stale = True
            self._start()
            return
        if self._build is not None:
            self._queued.extend(changes)
        if not self._stale:
            self._shown.update_all(changes)

    def __len__(self) -> int:
        """How many rows pass the filter (in the order on show)."""
        return len(self._shown)

    def window(self, start: int, stop: int) -> list[str]:
        """The keys from `start` to `stop` (from 0) in display order."""
        keys = self._shown.keys(start, stop)
        return [key for key in keys if key in self.result] if self._stale else keys

    def page(self, number: int, size: int) -> list[str]:
        """The keys on page `number` (from 0), in display order."""
        return self.window(number * size, (number + 1) * size)

    def ordered_keys(self) -> list[str]:
        """Every key that passes the filter, in display order."""
        return self.window(0, len(self.result))

    def unfiltered_keys(self) -> list[str]:
        """Every key of the result, in the display's sort order, filtered out or not."""
        shown = self._shown
        if shown.by_feed_order:
            return list(self.result.ordered_keys())
        return list(map(_KEY, shown.everything))

    def pin(self, key: str) -> None:
        """Keep the row `key` where it is now, whatever its changes, until the next sort or filter (an edited row).
        Not while an order is being built: the order on show then does not hold the row as it is now."""
        if key in self.result and not self._stale and self._build is None:
            self._shown.pin(key, self.result.get(key))

    def unpin(self, key: str) -> None:
        """Put a pinned row where it belongs now."""
        self._shown.unpin(key, self.result.get(key))

    def _start(self) -> None:
        """Start building from a copy of the result as it is now; the changes made from here on are queued."""
        for key in list(self._shown.pinned):  # pinned rows go where they belong: the order is built anew
            self.unpin(key)
        order = _Order(self.result, self.sort, self.filter)
        self._queued = []
        if order.by_feed_order:
            self._build = self._showing(order, iter(()))
        elif order.same_sort(self._shown) and not self._stale:
            if not order.filter:  # every row, in the order held already
                order.everything = order.shown = self._shown.everything
                self._shown, self._build = order, None
                return
            # The same entries: the order on show keeps them current until this one shows.
            order.everything, order.borrowed = self._shown.everything, True
            self._copy(order.everything)
            self._build = self._showing(order, order.adopt(self._entries, self._copied, self.step_rows))
        else:
            self._copy(())
            self._build = self._showing(order, order.sort(self._copied, self.step_rows, self._spares))

    def _copy(self, entries: Iterable[Entry]) -> None:
        """Copy the result's keys and rows, and `entries`, as they are now."""
        self._clear_copies()
        self._copied.fields = self.result.copy_into(self._copied.keys, self._copied.rows)
        self._entries.extend(entries)

    def _clear_copies(self) -> None:
        for copy in (self._copied.keys, self._copied.rows, self._entries, *self._spares):
            copy.clear()
        self._copied.fields = None

    def _showing(self, order: _Order, building: Iterator[None]) -> Steps:
        """Build `order`, replay the changes made meanwhile and show it, step by step."""
        yield from building
        replays = max(1, self.step_rows // 10)
        while self._queued:  # rows keep changing meanwhile; the order is shown once none is left to replay
            replay, self._queued = self._queued[:replays], self._queued[replays:]
            order.update_all(replay)
            yield
        old, self._shown, self._stale = self._shown, order, False
        order.borrowed = False  # its own now
        self._clear_copies()
        if old.everything is not order.everything:  # shown already: let go of the old one afterwards
            self._leftovers.append(old.everything)
