"""The engine: running one query.

`Engine.start` compiles one query's term, evaluates it against storage and returns an `Atom` (one datum), a `Sequence`
(a lazy iterator of datums that the protocol layer serves in batches) or a `SubscriptionRequest` (a changefeed, which
the server's changefeeds serve). Term implementations live in modules named after their family and register
themselves with `terms.operation` when this module imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server import keys, wire
from rethink_widgets.server.errors import ReqlCompileError, ReqlError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, geo_cells, terms
from rethink_widgets.server.evaluation.changefeed_sources import ChangefeedSource, ChangefeedUnion, feed_of
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.geometry import is_geometry
from rethink_widgets.server.evaluation.shapes import Shapes
from rethink_widgets.server.evaluation.system.database import SystemFeeds
from rethink_widgets.server.evaluation.time_values import utc_now
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    Func,
    Grouped,
    SingleSelection,
    Step,
    Stream,
    category,
)
from rethink_widgets.server.storage import Storage

# Importing the families registers their terms.
from rethink_widgets.server.evaluation import (  # noqa: F401  isort: skip
    arithmetic,
    arrays,
    changes,
    coercion,
    control,
    geospatial,
    grouping,
    javascript,
    joins,
    objects,
    ordering,
    reductions,
    schema,
    selections,
    sequences,
    strings,
    times,
    writes,
)
from rethink_widgets.server.evaluation.system import admin, grant, write_hooks  # noqa: F401  isort: skip

GLOBAL_OPTARGS = frozenset({
    "db", "noreply", "profile", "read_mode", "durability", "array_limit", "changefeed_queue_size",
    "time_format", "group_format", "binary_format", "min_batch_rows", "max_batch_rows", "max_batch_bytes",
    "max_batch_seconds", "first_batch_scaledown_factor",
})  # fmt: skip
_SCALARS = frozenset({str, int, float, bool, type(None)})
TERM = terms.TERM


@dataclass
class Atom:
    """A query's whole result: one wire-ready datum."""

    value: Any


@dataclass
class Sequence:
    """A query's result as a lazy stream of rows' reply texts, a page (a list of them) at a time: a table's stored
    documents as read, other rows one to a page, each encoded as it is read."""

    pages: Iterator[list[str]]
    started: float = 0.0  # when evaluation began (time.perf_counter), for the profile


@dataclass
class SubscriptionRequest:
    """A query's result as a changefeed: what to subscribe to, and the steps (map, filter, limit ...) applied to its
    change documents."""

    changes: ChangefeedSource | ChangefeedUnion
    steps: list[Step]
    started: float = 0.0  # when evaluation began (time.perf_counter), for the profile


class Engine:
    """Runs queries against one storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.system_feeds = SystemFeeds(storage)
        self.shapes = Shapes()

    def start(
        self,
        term: Any,
        global_optargs: dict[str, Any],
        user: str = "admin",
        *,
        small: bool = False,
        answer: Callable[[str], None] | None = None,
    ) -> Atom | Sequence | SubscriptionRequest:
        """Run a query for `user`. A small one (see inline.py) takes the tree compiled for an earlier query of its
        shape, if there was one (see shapes.py). `answer`: what may answer a soft write of one document with its
        result's text before its commit (see Context.answer)."""
        try:
            if not small:
                return self._run(terms.compile_query(term), global_optargs, user, answer)
            node, lease = self.shapes.compile(term)
            if lease is None:
                return self._run(node, global_optargs, user, answer)
            try:
                result = self._run(node, global_optargs, user, answer)
            except BaseException:
                lease.give_back()  # (evaluating leaves a tree as it was)
                raise
            if isinstance(result, Atom):
                lease.give_back()
            return result
        except RecursionError:
            raise ReqlCompileError("The query is nested too deeply.") from None

    def _run(
        self, node: terms.Node, global_optargs: dict[str, Any], user: str, answer: Callable[[str], None] | None
    ) -> Atom | Sequence | SubscriptionRequest:
        ctx = self._context(global_optargs)
        ctx.user = user
        if answer is not None:
            ctx.answer = (node, answer)
        return _result(ctx, node.eval(ctx))

    def _context(self, raw_optargs: dict[str, Any]) -> Context:
        for name in raw_optargs:
            if name not in GLOBAL_OPTARGS and name not in terms.all_optarg_names():  # (the second is slow to ask)
                raise ReqlCompileError(f"Unrecognized global optional argument `{name}`.")
        ctx = Context(self.storage, {}, utc_now())
        for name, raw in raw_optargs.items():
            if type(raw) in _SCALARS:  # (most are: a datum as it is, nothing to compile)
                ctx.optargs[name] = terms.as_double(raw)
                continue
            try:
                value = terms.compile_query(raw).eval(ctx)
                ctx.optargs[name] = value if name == "db" else ctx.as_datum(value)
            except ReqlError as error:
                error.backtrace.insert(0, name)
                raise
        if "array_limit" in ctx.optargs:
            ctx.array_limit = _array_limit(ctx.optargs["array_limit"])
        return ctx

    @staticmethod
    def index_compiler(function: Any, multi: bool, geo: bool) -> Callable[[dict[str, Any]], list[tuple[bytes, Any]]]:
        """Turn a stored index function into `doc -> [(index key, index value)]` (none when the doc is not indexed): a
        value's key is its encoding, a geospatial index's that of the cell holding it (see geo_cells), and a
        geospatial index keeps geometries alone (get_intersecting and get_nearest pass over the rest)."""
        node = terms.compile_function(function)
        ctx = Context(None, {}, {})  # type: ignore[arg-type]  # index functions are pure: no storage, no clock
        field = _field_read(function)

        def values(doc: dict[str, Any]) -> list[tuple[bytes, Any]]:
            if field is not None and datums.PTYPE not in doc:  # (most indexes: what the function reads, read here)
                if field not in doc:
                    return []  # (the function's error: no such field)
                value = doc[field]
            else:
                try:
                    func = node.eval(ctx)
                    value = ctx.as_datum(func(ctx, doc) if isinstance(func, Func) else func)
                except ReqlError:
                    return []
            candidates = value if multi and isinstance(value, list) else [value]
            found: dict[bytes, Any] = {}
            for item in candidates:
                if item is not None and not datums.is_object(item) and not _has_bound(item):
                    found.setdefault(keys.encode(item), item)
            if geo:
                return [(geo_cells.entry_key(item, key), item) for key, item in found.items() if is_geometry(item)]
            return list(found.items())

        return values


def _field_read(function: Any) -> str | None:
    """The field a stored index function `row -> row[field]` reads (`index_create(name)` makes one), else None."""
    match function:
        case [TERM.FUNC, [[TERM.MAKE_ARRAY, [int(var)]], [kind, [[TERM.VAR, [int(read)]], str(field)]]]]:
            if kind in (TERM.GET_FIELD, TERM.BRACKET) and read == var:
                return field
    return None


def _has_bound(value: Any) -> bool:
    """r.minval or r.maxval, also inside an array: RethinkDB leaves such a document out of the index."""
    if isinstance(value, list):
        return any(_has_bound(item) for item in value)
    return isinstance(value, keys.Bound)


def _array_limit(value: Any) -> int:
    if not datums.is_number(value) or value < 1:
        raise ReqlQueryLogicError(f"Illegal array size limit `{datums.printed(value)}`.  (Must be >= 1.)")
    return int(value)


def _result(ctx: Context, value: Any) -> Atom | Sequence | SubscriptionRequest:
    feed = feed_of(value)
    if feed is not None:
        return SubscriptionRequest(*feed)
    if isinstance(value, ArraySelection):
        return Atom(datums.to_wire(value.rows))
    if isinstance(value, Stream):
        pages = value.reply_pages()
        if pages is not None:
            return Sequence(pages)
        return Sequence([wire.dumps(datums.to_wire(row))] for row in value)
    if isinstance(value, SingleSelection):
        return Atom(datums.to_wire(value.doc))
    if isinstance(value, Grouped):
        data = [[group, reduction] for group, reduction in value.items()]
        return Atom(datums.to_wire({"$reql_type$": "GROUPED_DATA", "data": data}))
    kind = category(value)
    if isinstance(value, keys.Bound):
        raise ReqlQueryLogicError(f"Cannot convert `{value!r}` to JSON.")
    if kind != "DATUM":
        raise ReqlQueryLogicError(f"Query result must be of type DATUM, GROUPED_DATA, or STREAM (got {kind}).")
    return Atom(datums.to_wire(value))
