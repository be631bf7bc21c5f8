"""The current result of a changefeed, held in the kernel: rows keyed by primary key, or by value.

A feed opened with `include_initial` and `include_states` says `initializing`, sends the rows, says `ready`, then
sends changes (RethinkDB may send changes to rows it already sent before `ready`; each is applied in turn). The rows
of the first snapshot go straight into the result, so views show them as they arrive. Those of a later snapshot (one
taken after a reconnect) are gathered aside and swapped in at `ready`, so what was shown stays until the fresh data
replaces it, and only the rows that differ count as changed. Rows of an `order_by(...).limit(n)` feed are placed by
the offsets the feed sends.

Rows that are objects are held packed: a tuple of their values, then a tuple of their field names that the rows with
the same fields share (`packed`). A dict costs twice what the tuple does, and a million rows' dicts were most of what
a table held; the rows read out (`get`, `rows`, changes) are dicts again. Views that read many rows at once get them
packed (`copy_into`) and read a field at its position (`shape`), quicker than looking it up in each dict. The driver
gives lists for arrays, never tuples, so a tuple held is a packed row (a tuple given to the result is held wrapped).
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import operator
from collections.abc import Generator, Iterable, Iterator
from json.encoder import encode_basestring as _string_json
from typing import Any, NamedTuple


class RowChange(NamedTuple):
    """One row that changed: `old` is None when it appeared, `new` is None when it went away. (A named tuple: one is
    made for every row a snapshot brings, in half the time a frozen dataclass takes.)"""

    key: str
    old: Any
    new: Any


FIRST_REVISION = 1  # of a row as a snapshot brought it: held by a million rows, so not held per row
MAX_SHAPES = 1000  # field name tuples shared; rows of further field sets hold their own, so none is kept for ever
_AS_IS = object()  # in place of the field names of a tuple row held as it is
_FLAT = frozenset((str, int, float, bool, type(None)))  # types Python compares as ReQL does, 1 and True apart


def canonical(value: Any) -> str:
    """The text of a value that equal ReQL values share (1 and 1.0, objects in any key order)."""
    simple = _simple_key(value)
    if simple is not None:
        return simple
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain, ensure_ascii=False)


def _simple_key(value: Any) -> str | None:
    """`canonical` of a string or an integer, made without the general encoder (most keys are one); None for any
    other value."""
    kind = type(value)
    return _string_json(value) if kind is str else str(value) if kind is int else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot key a {type(value).__name__}")


_NO_ROW = object()  # what `get_many` finds for a key with no row (a row may be None: a `map` to null)


def unpacked(row: Any) -> Any:
    """A row as held, as it came: an object's dict made again from its packed values."""
    if type(row) is not tuple:
        return row
    fields = row[-1]
    return row[0] if fields is _AS_IS else dict(zip(fields, row, strict=False))


def shape(rows: list[Any]) -> tuple[str, ...] | None:
    """The field names of these rows as held (`copy_into`) when every one is a packed object with the same fields,
    in the same order: each field's value is then at its position in every row. None when they are not."""
    if not rows or set(map(type, rows)) != {tuple}:
        return None
    shapes: set[tuple[str, ...]] = set(map(_FIELDS, rows))
    if len(shapes) != 1 or (fields := shapes.pop()) is _AS_IS:
        return None
    return fields


_FIELDS = operator.itemgetter(-1)


def _same(old: Any, new: Any) -> bool:
    """Whether two rows as held are equal ReQL values: Python's equality, and the same types field by field (Python
    holds 1 and True equal) or, for nested values, the same canonical text."""
    if type(old) is tuple and type(new) is tuple and old[-1] == new[-1]:
        if old != new:  # packed objects with the same fields, in the same order (or tuples held as they are)
            return False
        kinds = list(map(type, old[:-1]))
        if kinds == list(map(type, new[:-1])) and _FLAT.issuperset(kinds):
            return True
    return _same_values(unpacked(old), unpacked(new))


def _same_values(old: Any, new: Any) -> bool:
    if old != new:
        return False
    if isinstance(old, dict) and isinstance(new, dict):
        kinds = list(map(type, old.values()))
        if kinds == list(map(type, new.values())) and _FLAT.issuperset(kinds):
            return True
    return canonical(old) == canonical(new)


def _normal(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ResultSet:
    def __init__(self, primary_key: str | None = None, *, positioned: bool = False) -> None:
        self.primary_key = primary_key
        self.positioned = positioned
        self._rows: dict[str, Any] = {}
        self._positions: list[str] = []
        self._revisions: dict[str, int] = {}  # rows changed since they arrived; others are at FIRST_REVISION
        self._revision = FIRST_REVISION
        self._staging: ResultSet | None = None
        self._shapes: dict[tuple[str, ...], tuple[str, ...]] = {}  # shared field name tuples
        # The field names of every row held so far while they all had the same (reads of many rows need then not
        # look at each): once a row differs, None for good.
        self._fields: tuple[str, ...] | None = None
        self._one_shape = True
        self.initializing = False  # a snapshot is coming in
        self._filled = False  # a snapshot came in whole

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def get(self, key: str) -> Any:
        return unpacked(self._rows.get(key))

    def revision(self, key: str) -> int:
        """A number that changes whenever the row with this key does (0 when there is no such row)."""
        return self._revisions.get(key, FIRST_REVISION if key in self._rows else 0)

    def ordered_keys(self) -> Iterator[str]:
        """Keys in the feed's own order: by offset for a limit feed, else as the rows arrived."""
        return iter(self._positions if self.positioned else self._rows)

    def rows(self) -> list[Any]:
        return [unpacked(self._rows[key]) for key in self.ordered_keys()]

    def get_many(self, keys: Iterable[str], missing: Any = None) -> list[Any]:
        """The rows of `keys` (`missing` for a key with no row), in one quick pass."""
        held = map(self._rows.get, keys, itertools.repeat(_NO_ROW))
        return [missing if row is _NO_ROW else unpacked(row) for row in held]

    def copy_into(self, keys: list[str], rows: list[Any]) -> tuple[str, ...] | None:
        """Append every key to `keys` and every row as held (objects packed: see `unpacked` and `shape`) to `rows`,
        in the same order: two quick copies. Returns the rows' `shape` when the result knows it at once."""
        keys.extend(self._rows)
        rows.extend(self._rows.values())
        return self._fields if self._one_shape and self._rows else None

    def by_key(self) -> dict[str, Any]:
        """A copy of the rows by key."""
        return {key: unpacked(row) for key, row in self._rows.items()}

    def packed(self, row: Any) -> Any:
        """A row as it is held: an object as its values, then its field names (shared by rows with the same)."""
        if type(row) is dict:
            fields = tuple(row)
            if (shared := self._shapes.get(fields)) is not None:
                fields = shared
            elif len(self._shapes) < MAX_SHAPES:
                self._shapes[fields] = fields
            if fields is not self._fields:
                self._one_shape = self._one_shape and self._fields is None
                self._fields = fields
            return (*row.values(), fields)
        self._one_shape = False
        return (row, _AS_IS) if type(row) is tuple else row

    @property
    def arrived(self) -> int:
        """How many rows the snapshot coming in has brought so far."""
        return len(self._staging) if self._staging is not None else len(self)

    def key_of(self, row: Any) -> str:
        """A row's key: its primary key when it has one, else its value (repeated values get their own keys)."""
        if self.primary_key is not None and isinstance(row, dict) and self.primary_key in row:
            return canonical(_normal(row[self.primary_key]))
        text = "=" + canonical(row)
        count = 0
        while f"{text}#{count}" in self._rows:
            count += 1
        return f"{text}#{count}"

    def _existing_key(self, row: Any) -> str | None:
        if self.primary_key is not None and isinstance(row, dict) and self.primary_key in row:
            return canonical(_normal(row[self.primary_key]))
        text = "=" + canonical(row)
        count = 0
        while f"{text}#{count + 1}" in self._rows:
            count += 1
        key = f"{text}#{count}"
        return key if key in self._rows else None

    # ---------------------------------------------------------------- feed messages

    def begin_snapshot(self) -> None:
        """A new snapshot starts: the first fills the result as it comes, a later one is gathered aside until
        `end_snapshot` (so is one after a first that broke off, which may have left some rows)."""
        self.initializing = True
        if self._filled or self._rows:
            self._staging = ResultSet(self.primary_key, positioned=self.positioned)
            self._staging._shapes = self._shapes

    def end_snapshot(self) -> list[RowChange]:
        """The snapshot is whole: swap in the gathered one; the rows that differ from what was held are the changes
        (none for a first snapshot, whose rows were changes as they came)."""
        ending = self.ending(len(self._rows) + 1)
        while True:
            try:
                next(ending)
            except StopIteration as done:
                changes: list[RowChange] = done.value
                return changes

    def ending(self, run: int) -> Generator[None, None, list[RowChange]]:
        """`end_snapshot` in steps of about `run` rows (a million rows take seconds to compare): what is held stays
        as it was until the last step swaps the snapshot in. No message may be applied meanwhile."""
        staging = self._staging
        if staging is None:
            self.initializing, self._filled = False, True
            return []
        held, fresh = self._rows, staging._rows
        changes: list[RowChange] = []
        gone = iter(held.items())  # neither changes meanwhile
        while part := list(itertools.islice(gone, run)):
            changes.extend(RowChange(key, unpacked(row), None) for key, row in part if key not in fresh)
            yield
        arrived = iter(fresh.items())
        while part := list(itertools.islice(arrived, run)):
            for key, row in part:
                old = held.get(key)
                if old is None or not _same(old, row):
                    changes.append(RowChange(key, unpacked(old), unpacked(row)))
            yield
        self._staging, self.initializing, self._filled = None, False, True
        self._rows, self._positions = fresh, staging._positions
        self._fields, self._one_shape = staging._fields, staging._one_shape
        self._bump(changes)
        return changes

    def apply(self, message: dict[str, Any]) -> list[RowChange]:
        """Apply one change document (`{new_val}` or `{old_val, new_val}`, maybe with offsets); the rows changed
        (none while a snapshot is gathered aside)."""
        if self._staging is not None:
            self._staging.apply(message)
            return []
        old, new = message.get("old_val"), message.get("new_val")
        if self.positioned:
            changes = self._move(old, new, message.get("old_offset"), message.get("new_offset"))
        else:
            changes = self._replace(old, new)
        if self.initializing and "old_val" not in message:  # a row as the snapshot brings it: FIRST_REVISION
            self._bump([change for change in changes if change.old is not None])
        else:
            self._bump(changes)
        return changes

    def apply_all(self, messages: list[dict[str, Any]], changes: list[RowChange]) -> None:
        """`apply` each message in turn, adding the rows changed to `changes` as it goes (so that a caller hears of
        them even when a later message fails). The rows a first snapshot brings, a new key each, take a quicker way:
        a snapshot brings a row a message, millions of them."""
        if self._staging is not None or self.positioned or not self.initializing or self.primary_key is None:
            for message in messages:
                changes += self.apply(message)
            return
        pk, rows, packed = self.primary_key, self._rows, self.packed
        for message in messages:
            new = message.get("new_val")
            key = _simple_key(new[pk]) if len(message) == 1 and type(new) is dict and pk in new else None
            if key is None or key in rows:
                changes += self.apply(message)
            else:
                rows[key] = packed(new)
                changes.append(RowChange(key, None, new))

    def _replace(self, old: Any, new: Any) -> list[RowChange]:
        old_key = self._existing_key(old) if old is not None else None
        if old_key is not None and new is not None and self.key_of(new) == old_key:
            previous, self._rows[old_key] = self._rows[old_key], self.packed(new)
            return [RowChange(old_key, unpacked(previous), new)]
        changes = []
        if old_key is not None:
            changes.append(RowChange(old_key, unpacked(self._rows.pop(old_key)), None))
        if new is not None:
            key = self.key_of(new)
            changes.append(RowChange(key, unpacked(self._rows.get(key)), new))
            self._rows[key] = self.packed(new)
        return changes

    def _move(self, old: Any, new: Any, old_offset: int | None, new_offset: int | None) -> list[RowChange]:
        changes = []
        if old_offset is not None and 0 <= old_offset < len(self._positions):
            key = self._positions.pop(old_offset)
            changes.append(RowChange(key, unpacked(self._rows.pop(key)), None))
        elif old is not None and (found := self._existing_key(old)) is not None:
            self._positions.remove(found)
            changes.append(RowChange(found, unpacked(self._rows.pop(found)), None))
        if new is not None:
            key = self.key_of(new)
            self._rows[key] = self.packed(new)
            at = len(self._positions) if new_offset is None else min(new_offset, len(self._positions))
            self._positions.insert(at, key)
            if changes and changes[0].key == key:
                changes = [RowChange(key, changes[0].old, new)]
            else:
                changes.append(RowChange(key, None, new))
        return changes

    def _bump(self, changes: list[RowChange]) -> None:
        for change in changes:
            self._revision += 1
            if change.new is None:
                self._revisions.pop(change.key, None)
            else:
                self._revisions[change.key] = self._revision
