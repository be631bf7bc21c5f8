"""`order_by(index).limit(n)` feeds: the first n rows of an index range, kept current write by write, and the changes
RethinkDB's limit feeds send for them (src/rdb_protocol/changefeed.cc: limit_manager_t, limit_sub_t).

RethinkDB keeps the set twice. Beside the data, a manager gathers what a write added and removed and commits it at
once: the newcomers that beat the set's old last row enter, the set is cut back to n, and when it falls short the rows
after the old last row are read. It then sends one message per row that left, paired with a row that came in (the same
document if it came back, else the worst newcomer left), then one per newcomer still unpaired. The subscription
applies the messages one by one to its own copy of the set, which gives each change its offsets, and drops a change
that leaves a row as it was. Both halves are done here.

A feed on the primary key commits once per write, so a row inserted and deleted by one `insert` is never seen. A feed
on a secondary index commits after each document of a write, reading on (when the set falls short) as the data stood
after that document.

The feed's steps (the filters, maps, plucks ... before the limit, and filters after it) run here as rows arrive: a row
they drop or fail on is no candidate, and the set holds rows as the feed shows them.

Most writes leave a full set as it was (the new row falls behind its last one): that is settled before anything is
rebuilt. What every limit feed of a table works out alike for a write's documents (their index values, encoded) is
worked out once per commit (`Memo`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from rethink_widgets.server import keys
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.changefeed_sources import LimitWatch
from rethink_widgets.server.feed_entries import Bounds, Entry
from rethink_widgets.server.storage import CommittedChange, Storage, TableInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

Rank = tuple[bytes, bytes]  # (index key, primary key): the order of an index scan
Ident = tuple[bytes, bytes]  # (primary key, place in a multi index's array): an index entry, as RethinkDB names it
_ANY = object()


class Memo:
    """A commit's documents' entries in an index, worked out once for all the limit feeds of their table. It holds the
    documents it knows, so that their ids stay theirs while it lives."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._known: dict[tuple[int, str], tuple[Any, list[tuple[Any, bytes]]]] = {}

    def entries(self, table: TableInfo, index: str, doc: dict[str, Any]) -> list[tuple[Any, bytes]]:
        """The document's values in `index` (its primary key for the primary index), each with its encoding."""
        known = self._known.get((id(doc), index))
        if known is None:
            known = self._known[id(doc), index] = (doc, index_entries(self._storage, table, index, doc))
        return known[1]


def index_entries(storage: Storage, table: TableInfo, index: str, doc: dict[str, Any]) -> list[tuple[Any, bytes]]:
    values = [doc[index]] if index == table.primary_key else storage.index_values(table, index, doc)
    return [(value, keys.encode(value)) for value in values]


class Row(NamedTuple):
    rank: Rank
    ident: Ident
    value: Any  # the row's index value, to read on from
    shown: Any  # the document after the feed's steps


class TopRows:
    """The first `count` rows of an `order_by(index).limit(count)` feed, best first, kept current write by write."""

    def __init__(
        self,
        storage: Storage,
        table: TableInfo,
        watch: LimitWatch,
        shaped: Callable[[Any], list[Any]],
        offsets: bool,
    ) -> None:
        self._storage = storage
        self._table = table
        self._watch = watch
        self._shaped = shaped  # a document after the feed's steps: [shown], or [] when they drop it
        self._offsets = offsets
        self._bounds = Bounds(watch.range)
        self._on_primary = watch.range.index == table.primary_key
        self._multi = not self._on_primary and table.indexes[watch.range.index].multi
        self.rows: list[Row] = self._read_after(None, watch.count, None)
        self._keys = {row.ident[0] for row in self.rows}

    def initial(self) -> list[Entry]:
        return [Entry(row.ident[0], None, row.shown, None, i) for i, row in enumerate(self.rows)]

    def apply(self, changes: Sequence[tuple[CommittedChange, Entry]], memo: Memo) -> list[Entry]:
        """The feed's changes for one write's changes of the table (with their entries), in order."""
        if self._on_primary or len(changes) == 1:  # (no later change of the write to keep apart)
            return self._commit(changes, None, memo)
        later = Later(changes, lambda doc: self._rows_of(doc, memo=memo), self._watch.descending)
        entries: list[Entry] = []
        for at, change in enumerate(changes):
            later.reach(at)
            entries.extend(self._commit([change], later, memo))
        return entries

    # ---------------------------------------------------------------- the manager: a commit

    def _commit(self, changes: Sequence[tuple[CommittedChange, Entry]], later: Later | None, memo: Memo) -> list[Entry]:
        if self._unmoved(changes, memo):
            return []
        added: dict[bytes, list[Row]] = {}
        deleted: set[bytes] = set()
        for change, entry in changes:
            pkey = entry.key
            if change.old is not None and added.pop(pkey, None) is None:
                deleted.add(pkey)
            if change.new is not None and (rows := self._rows_of(change.new, memo=memo)):
                added[pkey] = rows
        if not added and deleted.isdisjoint(self._keys):
            return []
        before = self.rows
        boundary = before[-1] if before else None
        rows = [row for row in before if row.ident[0] not in deleted]
        gone = {row.ident: row for row in before if row.ident[0] in deleted}
        came: dict[Ident, Row] = {}
        beyond = False  # a newcomer behind the old last row: the rows after it may be needed
        for row in (row for group in added.values() for row in group):
            if boundary is None or not self._after(row.rank, boundary.rank):
                rows.insert(self._position(rows, row.rank), row)
                came[row.ident] = row
            else:
                beyond = True
        self._cut(rows, came, gone)
        if len(rows) < self._watch.count and (gone or beyond):
            for row in self._read_after(boundary, self._watch.count - len(rows), later):
                rows.append(row)
                came[row.ident] = row
        self.rows = rows
        self._keys = {row.ident[0] for row in rows}
        return self._messages(list(before), gone, came) if gone or came else []

    def _unmoved(self, changes: Sequence[tuple[CommittedChange, Entry]], memo: Memo) -> bool:
        """Whether the changes leave the set as it was, at a glance (before running the feed's steps on anything):
        the set is full, none of its documents changed, and every new entry in range comes after its last row."""
        if not self.rows or len(self.rows) < self._watch.count:
            return False
        boundary, index = self.rows[-1].rank, self._watch.range.index
        for change, entry in changes:
            if entry.key in self._keys:
                return False
            if change.new is None:
                continue
            for _, ikey in memo.entries(self._table, index, change.new):
                if self._bounds.contains(ikey) and not self._after((ikey, entry.key), boundary):
                    return False
        return True

    def _cut(self, rows: list[Row], came: dict[Ident, Row], gone: dict[Ident, Row]) -> None:
        """Cut the set back to its size: a newcomer cut is no newcomer, a row that was there is gone."""
        while len(rows) > self._watch.count:
            row = rows.pop()
            if came.pop(row.ident, None) is None:
                gone[row.ident] = row

    def _messages(self, shown: list[Row], gone: dict[Ident, Row], came: dict[Ident, Row]) -> list[Entry]:
        """The manager's messages for a commit, each applied to `shown` (the subscription's copy of the set)."""
        entries: list[Entry] = []
        unpaired = []
        for ident in sorted(gone):
            partner = came.pop(ident, None)
            if partner is None:
                unpaired.append(gone[ident])
            else:
                entries.extend(self._note(shown, gone[ident], partner))
        newcomers = sorted(came.values(), key=lambda row: row.rank, reverse=self._watch.descending)  # pop(): the worst
        for old in unpaired:
            entries.extend(self._note(shown, old, newcomers.pop() if newcomers else None))
        while newcomers:
            entries.extend(self._note(shown, None, newcomers.pop()))
        return entries

    # ---------------------------------------------------------------- the subscription: one message

    def _note(self, shown: list[Row], old: Row | None, new: Row | None) -> list[Entry]:
        old_offset = new_offset = None
        if old is not None:
            old_offset = self._position(shown, old.rank)
            del shown[old_offset]
        if new is not None:
            new_offset = self._position(shown, new.rank)
            shown.insert(new_offset, new)
        if not self._offsets:  # RethinkDB only counts offsets when asked for them
            old_offset = new_offset = None
        if old is not None and new is not None and old_offset == new_offset and datums.equal(old.shown, new.shown):
            return []
        row = new if new is not None else old
        key = row.ident[0]  # type: ignore[union-attr]  # a message has an old row, a new one, or both
        return [Entry(key, _shown(old), _shown(new), old_offset, new_offset)]

    # ---------------------------------------------------------------- rows

    def _rows_of(self, doc: dict[str, Any], value: Any = _ANY, memo: Memo | None = None) -> list[Row]:
        """A document's entries in the feed's range (several for a multi index, or only the one of index `value`), or
        none when the feed's steps drop it. `memo` knows the documents of the commit being applied."""
        pk, index = self._table.primary_key, self._watch.range.index
        if memo is not None:
            entries = memo.entries(self._table, index, doc)
            pkey = entries[0][1] if self._on_primary else memo.entries(self._table, pk, doc)[0][1]
        else:
            if self._multi or value is _ANY:
                entries = index_entries(self._storage, self._table, index, doc)
            else:
                entries = [(value, keys.encode(value))]
            pkey = entries[0][1] if self._on_primary else keys.encode(doc[pk])
        wanted = None if value is _ANY else keys.encode(value)
        rows = []
        shaped: list[Any] | None = None
        seen: set[bytes] = set()  # the index holds a value repeated in a document's array once
        for position, (entry, ikey) in enumerate(entries):
            if ikey in seen or (wanted is not None and ikey != wanted) or not self._bounds.contains(ikey):
                continue
            seen.add(ikey)
            if shaped is None:
                shaped = self._shaped(doc)
            if not shaped:
                return []
            # RethinkDB tells a multi index's entries of one document apart by their place in its array.
            tag = position.to_bytes(8, "big") if self._multi else b""
            rows.append(Row((ikey, pkey), (pkey, tag), entry, shaped[0]))
        return rows

    def _read_after(self, last: Row | None, count: int, later: Later | None) -> list[Row]:
        """The next `count` rows in the feed's order after `last`, as the data stands (mid-write: see `Later`)."""
        if count <= 0:
            return []
        watch = self._watch.range
        lower, upper, lower_open, upper_open = watch.lower, watch.upper, watch.lower_open, watch.upper_open
        if last is not None:
            if self._watch.descending:
                upper, upper_open = last.value, False
            else:
                lower, lower_open = last.value, False
        pending = later.documents() if later is not None else {}
        found: list[Row] = []
        for value, doc in self._scan(keys.Span(lower, upper, lower_open, upper_open, self._watch.descending)):
            if keys.encode(doc[self._table.primary_key]) in pending:
                continue  # a later change of this write touches it: `later` holds it as it stands now
            rows = self._rows_of(doc, value)
            found.extend(row for row in rows if last is None or self._after(row.rank, last.rank))
            if len(found) >= count:
                break
        if later is not None:
            found.extend(later.rows_after(last, count))
            found.sort(key=lambda row: row.rank, reverse=self._watch.descending)
        return found[:count]

    def _scan(self, span: keys.Span) -> Iterator[tuple[Any, dict[str, Any]]]:
        if self._on_primary:
            pk = self._table.primary_key
            return ((doc[pk], doc) for doc in self._storage.scan(self._table, span))
        return self._storage.index_scan(self._table, self._watch.range.index, span)

    def _after(self, rank: Rank, other: Rank) -> bool:
        """Whether `rank` comes after `other` in the feed's order."""
        return rank < other if self._watch.descending else rank > other

    def _position(self, rows: list[Row], rank: Rank) -> int:
        """Where a row of `rank` stands (or would stand) in `rows`, which are in the feed's order."""
        low, high = 0, len(rows)
        while low < high:
            middle = (low + high) // 2
            if self._after(rank, rows[middle].rank):
                low = middle + 1
            else:
                high = middle
        return low


class Later:
    """A write's changes after the one being committed, for the rows read in between: the documents those changes
    touch, as they stand before them, in index order."""

    def __init__(
        self,
        changes: Sequence[tuple[CommittedChange, Entry]],
        rows_of: Callable[[dict[str, Any]], list[Row]],
        descending: bool,
    ) -> None:
        self._changes = [change for change, _ in changes]
        self._rows_of = rows_of
        self._descending = descending
        self._pkeys = [entry.key for _, entry in changes]
        self._at = -1
        self._next: list[int | None] = []  # for each change, the next change of the same document
        self._documents: dict[bytes, list[Row]] = {}  # the documents later changes touch: their rows as they stand now
        self._ranks: list[Rank] = []  # the ranks of the rows of `_documents`, in index order
        self._rows: list[Row] = []
        self._built = False

    def reach(self, at: int) -> None:
        """The change at `at` is the one being committed now."""
        self._at = at
        if not self._built:
            return
        pkey = self._pkeys[at]
        for row in self._documents.pop(pkey):
            index = bisect.bisect_left(self._ranks, row.rank)
            del self._ranks[index], self._rows[index]
        following = self._next[at]
        if following is not None:
            self._enter(pkey, following)

    def documents(self) -> dict[bytes, list[Row]]:
        """The documents later changes touch (by primary key), with their rows as they stand now."""
        if not self._built:
            self._build()
        return self._documents

    def rows_after(self, last: Row | None, count: int) -> list[Row]:
        """The first `count` rows of later changes' documents after `last`, in the feed's order."""
        if self._descending:
            end = bisect.bisect_left(self._ranks, last.rank) if last is not None else len(self._ranks)
            return self._rows[max(0, end - count) : end][::-1]
        start = bisect.bisect_right(self._ranks, last.rank) if last is not None else 0
        return self._rows[start : start + count]

    def _build(self) -> None:
        seen: dict[bytes, int] = {}
        self._next = [None] * len(self._changes)
        for at in range(len(self._changes) - 1, -1, -1):
            self._next[at] = seen.get(self._pkeys[at])
            seen[self._pkeys[at]] = at
        for at in range(self._at + 1, len(self._changes)):
            if self._pkeys[at] not in self._documents:
                self._enter(self._pkeys[at], at)
        self._built = True

    def _enter(self, pkey: bytes, at: int) -> None:
        """Hold document `pkey` as it stands before change `at`."""
        old = self._changes[at].old
        rows = self._rows_of(old) if old is not None else []
        self._documents[pkey] = rows
        for row in rows:
            index = bisect.bisect_left(self._ranks, row.rank)
            self._ranks.insert(index, row.rank)
            self._rows.insert(index, row)


def merged(entries: list[Entry]) -> list[Entry]:
    """A limit feed's queued changes squashed as RethinkDB does (limit_sub_t::apply_queued_changes): a change whose
    old value is the new value of an earlier one extends that one, which keeps its offsets; changes that come to
    nothing go."""
    out: list[Entry] = []
    by_new: dict[bytes | None, list[int]] = {}
    for entry in entries:
        earlier = by_new.get(_value_key(entry.old))
        if earlier:
            at = earlier.pop(0)
            first = out[at]
            out[at] = Entry(first.key, first.old, entry.new, first.old_offset, first.new_offset)
        else:
            at = len(out)
            out.append(entry)
        by_new.setdefault(_value_key(entry.new), []).append(at)
    return [entry for entry in out if not _comes_to_nothing(entry)]


def _value_key(value: Any) -> bytes | None:
    return None if value is None else keys.encode(value)


def _comes_to_nothing(entry: Entry) -> bool:
    if entry.old is None or entry.new is None:
        return entry.old is None and entry.new is None
    return entry.old_offset == entry.new_offset and datums.equal(entry.old, entry.new)


def _shown(row: Row | None) -> Any:
    return row.shown if row is not None else None
