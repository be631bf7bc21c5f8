"""The values a ReQL term can evaluate to besides datums: functions, databases, streams and selections.

Streams are lazy: iterating one pulls rows from its source on demand, so `limit(10)` on a large table reads ten
rows. A stream can be iterated more than once; each iteration starts over from its source. Selections are streams
whose rows are documents of one table, so writes (`update`, `delete` ...) can follow them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, row_texts
from rethink_widgets.server.storage import TableInfo, TextPage, Transaction
from rethink_widgets.server.storage.records import KeyRange

if TYPE_CHECKING:
    from rethink_widgets.server.evaluation.context import Context
    from rethink_widgets.server.evaluation.terms import Node, Term


class Func:
    """A ReQL function: parameters (driver variable ids), a body, and the scope it closed over."""

    __slots__ = ("body", "params", "scope")

    def __init__(self, params: list[int], body: Node, scope: dict[int, Any]) -> None:
        self.params = params
        self.body = body
        self.scope = scope

    @property
    def arity(self) -> int:
        return len(self.params)

    def __call__(self, ctx: Context, *args: Any) -> Any:
        interrupts.check()  # every map, filter, reduce, join predicate and sort key calls through here
        return self.body.eval(self.bind(ctx, args))

    def bind(self, ctx: Context, args: tuple[Any, ...]) -> Context:
        """The context the body runs in: the closure's scope with the parameters bound to `args`. As in RethinkDB,
        a function of no parameters takes any arguments and ignores them; any other takes exactly its own count."""
        if not self.params:
            return ctx.with_scope(self.scope)
        if len(self.params) != len(args):
            plural = "" if len(args) == 1 else "s"
            fplural = "" if self.arity == 1 else "s"
            raise ReqlQueryLogicError(
                f"Expected function with {len(args)} argument{plural} but found function with "
                f"{self.arity} argument{fplural}."
            )
        scope = dict(self.scope)
        scope.update(zip(self.params, args, strict=True))
        return ctx.with_scope(scope)


class DatabaseRef:
    """A database as `r.db(name)` names it: only a name, checked when a term uses it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


# What a row-wise step does, as RethinkDB tells its transforms apart: only a filter may follow the `limit` of a
# changefeed, and no `concat_map` may come before `changes()` (get_field and the like, at most one row out, are maps).
StepKind = Literal["map", "filter", "concat_map"]


@dataclass(frozen=True)
class RowStep:
    """A row-wise step (filter, map, pluck ...): one row in, zero or more rows out."""

    apply: Callable[[Any], list[Any]]
    deterministic: bool = True
    kind: StepKind = "map"


@dataclass(frozen=True)
class LimitStep:
    count: int


Step = RowStep | LimitStep


class Stream:
    """A lazy sequence of datums.

    `origin` records how a stream was derived from another by a row-wise step or a limit, so that `changes()` can
    apply the same steps to each change (before it) or to each change document (after it).
    """

    type_name = "STREAM"
    is_changefeed = False

    def __init__(
        self,
        source: Callable[[], Iterator[Any]],
        *,
        infinite: bool = False,
        origin: tuple[Stream, Step] | None = None,
    ) -> None:
        self.source = source
        self.infinite = infinite
        self.origin = origin

    def __iter__(self) -> Iterator[Any]:
        return self.source()

    def reply_pages(self) -> Iterator[list[str]] | None:
        """The rows as reply texts made from the text storage keeps (see row_texts.py), a page of rows at a time as
        storage reads them, when they are a table's documents as stored; None for any other stream."""
        return None

    def built_on_changefeed(self) -> bool:
        stream: Stream = self
        while not stream.is_changefeed and stream.origin is not None:
            stream = stream.origin[0]
        return stream.is_changefeed


class Selection(Stream):
    """A stream of documents of one table."""

    type_name = "SELECTION<STREAM>"

    def __init__(
        self, table: Table, source: Callable[[], Iterator[Any]], origin: tuple[Stream, Step] | None = None
    ) -> None:
        super().__init__(source, origin=origin)
        self.table = table


class KeySelection(Selection):
    """The documents of `get_all`: those whose `index` value is one of `values`."""

    def __init__(self, table: Table, index: str, values: list[Any], source: Callable[[], Iterator[Any]]) -> None:
        super().__init__(table, source)
        self.index = index
        self.values = values


class GeoSelection(Selection):
    """The documents of `get_intersecting`: those with a geometry in geospatial `index` that `meets` tests true."""

    def __init__(
        self, table: Table, index: str, meets: Callable[[Any], bool], source: Callable[[], Iterator[Any]]
    ) -> None:
        super().__init__(table, source)
        self.index = index
        self.meets = meets  # of an index value: whether it is a geometry meeting the query's


class ArraySelection(Selection):
    """Documents of one table already gathered into an array (e.g. after an unindexed order_by)."""

    type_name = "SELECTION<ARRAY>"

    def __init__(self, table: Table, rows: list[Any]) -> None:
        super().__init__(table, lambda: iter(rows))
        self.rows = rows


class TableSlice(Selection):
    """A range of a table along its primary key or a secondary index, in that index's order."""

    type_name = "TABLE_SLICE"

    def __init__(  # noqa: PLR0917
        self,
        table: Table,
        index: str,
        lower: Any = keys.MINVAL,
        upper: Any = keys.MAXVAL,
        lower_open: bool = False,
        upper_open: bool = True,
        descending: bool | None = None,
        bounded: bool = False,
    ) -> None:
        super().__init__(table, self._rows)
        self.index = index
        self.lower, self.upper = lower, upper
        self.lower_open, self.upper_open = lower_open, upper_open
        # None: bounded but not ordered by the user (still returned in index order).
        self.descending = descending
        # Made by `between` (even with r.minval and r.maxval): a second one is refused, as RethinkDB does.
        self.bounded = bounded

    def _rows(self) -> Iterator[Any]:
        return (doc for _value, doc in self.entries())

    def reply_pages(self) -> Iterator[list[str]] | None:
        bounds = (self.lower, self.upper, self.lower_open, self.upper_open, bool(self.descending))
        return self.table.entry_pages(self.index, *bounds)

    def entries(self) -> Iterator[tuple[Any, Any]]:
        """(index value, document) pairs in index order; a multi index gives a document once per value."""
        bounds = (self.lower, self.upper, self.lower_open, self.upper_open, bool(self.descending))
        return self.table.entries(self.index, *bounds)


class TableStorage(Protocol):
    """What a table's rows are read and written through: the Storage, or one that checks a user's permissions
    first (permissions.GuardedStorage). A scan reads a span of keys, all of them by default."""

    def get(self, table: TableInfo, key: Any, /) -> dict[str, Any] | None: ...

    def get_many(self, table: TableInfo, key_list: list[Any], /) -> list[dict[str, Any] | None]: ...

    def count(self, table: TableInfo, /) -> int: ...

    def scan(self, table: TableInfo, span: keys.Span = ..., /) -> Iterator[dict[str, Any]]: ...

    def scan_text_pages(self, table: TableInfo, span: keys.Span = ..., /) -> Iterator[TextPage]: ...

    def index_scan(
        self, table: TableInfo, index: str, span: keys.Span = ..., /
    ) -> Iterator[tuple[Any, dict[str, Any]]]: ...

    def index_scan_text_pages(self, table: TableInfo, index: str, span: keys.Span = ..., /) -> Iterator[TextPage]: ...

    def index_get_all(self, table: TableInfo, index: str, value: Any, /) -> Iterator[dict[str, Any]]: ...

    def index_key_ranges(
        self, table: TableInfo, index: str, ranges: list[KeyRange], /
    ) -> Iterator[tuple[bytes, bytes, Any]]: ...

    def index_documents(
        self, table: TableInfo, index: str, entries: list[tuple[bytes, bytes]], /
    ) -> list[dict[str, Any] | None]: ...

    def transaction(self, durability: str = "hard", /) -> contextlib.AbstractContextManager[Transaction]: ...

    def sync(self, table: TableInfo, /) -> None: ...


class Table(Selection):
    type_name = "TABLE"

    def __init__(self, storage: TableStorage, info: TableInfo) -> None:
        super().__init__(self, lambda: storage.scan(info))
        self.storage = storage
        self.info = info

    @property
    def primary_key(self) -> str:
        return self.info.primary_key

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.storage.get(self.info, key)

    def get_many(self, key_list: list[Any]) -> list[dict[str, Any] | None]:
        """`get` of each key, read together."""
        return self.storage.get_many(self.info, key_list)

    def count(self) -> int:
        return self.storage.count(self.info)

    def entries(  # noqa: PLR0917
        self, index: str, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool
    ) -> Iterator[tuple[Any, Any]]:
        """(index value, document) pairs of a range of `index`, in its order (see TableSlice)."""
        info, span = self.info, keys.Span(lower, upper, lower_open, upper_open, reverse)
        if index == info.primary_key:
            return ((doc[info.primary_key], doc) for doc in self.storage.scan(info, span))
        # Checked here, when the slice is read, as RethinkDB does: `between` and `order_by` on a missing index
        # only describe a slice, which `info()` shows without reading it.
        require_index(info, index)
        return self.storage.index_scan(info, index, span)

    def reply_pages(self) -> Iterator[list[str]] | None:
        return row_texts.reply_pages(self.storage.scan_text_pages(self.info))

    def entry_pages(  # noqa: PLR0917
        self, index: str, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool
    ) -> Iterator[list[str]] | None:
        """The documents of `entries` as pages of reply texts (see `Stream.reply_pages`)."""
        info, span = self.info, keys.Span(lower, upper, lower_open, upper_open, reverse)
        if index == info.primary_key:
            return row_texts.reply_pages(self.storage.scan_text_pages(info, span))
        require_index(info, index)
        return row_texts.reply_pages(self.storage.index_scan_text_pages(info, index, span))

    def writes(self, durability: str) -> contextlib.AbstractContextManager[TableWrites]:
        """One atomic write to this table."""
        return _TableWriting(self.storage, self.info, durability)


class _TableWriting:
    """One use of `Table.writes` (a class, not a generator: every write enters one)."""

    __slots__ = ("_durability", "_info", "_storage", "_transaction")

    def __init__(self, storage: TableStorage, info: TableInfo, durability: str) -> None:
        self._storage = storage
        self._info = info
        self._durability = durability

    def __enter__(self) -> TableWrites:
        self._transaction = self._storage.transaction(self._durability)
        return TableWrites(self._transaction.__enter__(), self._info)

    def __exit__(self, *exc: Any) -> bool | None:
        return self._transaction.__exit__(*exc)


def require_index(info: TableInfo, name: str) -> None:
    """An index a query may read by its keys: one that exists, whose build has finished, and not a geospatial one."""
    require_built_index(info, name)
    if info.indexes[name].geo:
        raise ReqlQueryLogicError(
            f"Index `{name}` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."
        )


def require_built_index(info: TableInfo, name: str) -> None:
    """An index that exists and whose build has finished."""
    require_existing_index(info, name)
    if not info.indexes[name].ready:
        raise ReqlOpFailedError(
            f"Index `{name}` on table `{info.qualified_name}` was accessed before its construction was finished."
        )


def require_existing_index(info: TableInfo, name: str) -> None:
    """An index that exists, built or not."""
    if name not in info.indexes:
        raise ReqlOpFailedError(f"Index `{name}` was not found on table `{info.qualified_name}`.")


class TableWrites:
    """A storage transaction seen from one table: read, store and delete documents by key."""

    def __init__(self, txn: Transaction, info: TableInfo) -> None:
        self._txn = txn
        self._info = info

    def get(self, key: Any) -> dict[str, Any] | None:
        return self._txn.get(self._info, key)

    def read_ahead(self, keys: list[Any]) -> None:
        """Read the rows of many keys at once, before they are got one by one."""
        self._txn.read_ahead(self._info, keys)

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        return self._txn.put(self._info, doc)

    def add(self, doc: dict[str, Any]) -> bool:
        """Store a document unless one has its key (or it is no JSON); whether it was stored."""
        return self._txn.add(self._info, doc)

    def delete(self, key: Any) -> dict[str, Any] | None:
        return self._txn.delete(self._info, key)

    def answer_before_commit(self, answer: Callable[[], None]) -> None:
        """Have a soft write answered before it commits, once nothing but the disk can refuse it (see
        Storage.insert_new for what readers see meanwhile)."""
        self._txn.acknowledge = answer


class SingleSelection:
    """One document of a table (or its absence), as returned by `get`."""

    type_name = "SELECTION<OBJECT>"

    def __init__(self, table: Table, key: Any, doc: dict[str, Any] | None) -> None:
        self.table = table
        self.key = key
        self.doc = doc


class Grouped:
    """GROUPED_DATA: values per group, kept in ReQL order of the group keys."""

    type_name = "GROUPED_DATA"

    def __init__(self, groups: dict[bytes, tuple[Any, Any]] | None = None) -> None:
        self.groups: dict[bytes, tuple[Any, Any]] = groups if groups is not None else {}

    def items(self) -> list[tuple[Any, Any]]:
        return [self.groups[k] for k in sorted(self.groups)]

    def run_per_group(self, ctx: Context, term: Term, at: int) -> Grouped:
        """`term` run once per group, with the group's value as its argument `at` (the grouped one)."""
        results = {}
        for group, value in self.items():
            results[keys.encode(group)] = (group, ctx.as_datum(term.run_on(ctx, at, value)))
        return Grouped(results)


def type_of(value: Any) -> str:
    """What `type_of` answers for any value."""
    if isinstance(value, (Stream, SingleSelection, Grouped)):
        return value.type_name
    if isinstance(value, Func):
        return "FUNCTION"
    if isinstance(value, DatabaseRef):
        return "DB"
    return datums.type_name(value)


def category(value: Any) -> str:
    """The coarse type RethinkDB names in "Expected type X but found Y" errors about non-datums."""
    if isinstance(value, Table):
        return "TABLE"
    if isinstance(value, TableSlice):
        return "TABLE_SLICE"
    if isinstance(value, Selection):
        return "SELECTION"
    if isinstance(value, Stream):
        return "SEQUENCE"
    if isinstance(value, SingleSelection):
        return "SINGLE_SELECTION"
    if isinstance(value, Func):
        return "FUNCTION"
    if isinstance(value, DatabaseRef):
        return "DATABASE"
    if isinstance(value, Grouped):
        return "GROUPED_DATA"
    return "DATUM"
