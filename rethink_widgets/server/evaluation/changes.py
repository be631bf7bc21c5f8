"""The CHANGES term: what a changefeed follows, the steps that shape its rows, and its options.

Evaluating `changes()` reads nothing. It unwinds the stream it is called on (a table, `get`, `get_all`, `between`,
`order_by(index).limit(n)`, with deterministic row-wise steps such as filter, map or pluck) into a `ChangefeedSource`:
a `WatchedRows` saying which documents of which table to follow, the steps to apply to each document, and the options.
Steps called after `changes()` are recorded on the streams built over it; the server's changefeeds run them on each
change document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, permissions
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.reductions import ranked_term
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import (
    KeySelection,
    LimitStep,
    RowStep,
    SingleSelection,
    Step,
    Stream,
    Table,
    TableSlice,
    type_of,
)

INFINITE_TERMINAL = "Cannot call a terminal (`reduce`, `count`, etc.) on an infinite stream (such as a changefeed)."
DEFAULT_QUEUE_SIZE = 100_000


@dataclass(frozen=True)
class FeedOptions:
    squash: bool | float = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    include_initial: bool = False
    include_states: bool = False
    include_offsets: bool = False
    include_types: bool = False


@dataclass(frozen=True)
class PointWatch:
    """One document by primary key (`get(key).changes()`)."""

    key: Any


@dataclass(frozen=True)
class RangeWatch:
    """Documents whose `index` value lies in bounds (`between`), is one of `values` (`get_all`), or any document."""

    index: str
    values: list[Any] | None = None
    lower: Any = keys.MINVAL
    upper: Any = keys.MAXVAL
    lower_open: bool = False
    upper_open: bool = True


@dataclass(frozen=True)
class LimitWatch:
    """The first `count` documents of a range in index order (`order_by(index=...).limit(n).changes()`)."""

    range: RangeWatch
    count: int
    descending: bool


WatchedRows = PointWatch | RangeWatch | LimitWatch


@dataclass(eq=False)
class ChangefeedSource(Stream):
    """A changefeed: `watch` on `table`, each document shaped by `steps`, the initial result read by `initial`."""

    ctx: Context
    table: Table
    watch: WatchedRows
    steps: list[RowStep]
    initial: Stream | None
    options: FeedOptions
    is_changefeed = True

    def __post_init__(self) -> None:
        super().__init__(_refuse_iteration, infinite=True)

    @property
    def kind_note(self) -> int:
        """The response note that names this kind of feed."""
        return 2 if isinstance(self.watch, PointWatch) else 3 if isinstance(self.watch, LimitWatch) else 1

    def shape(self, doc: Any) -> Any:
        """A document as this feed shows it after its steps; None when the steps drop it or fail on it."""
        if doc is None:
            return None
        rows = [doc]
        try:
            for step in self.steps:
                rows = [out for row in rows for out in step.apply(row)]
        except ReqlError:  # as in RethinkDB, a document the steps fail on is one the feed does not see
            return None
        return rows[0] if rows else None


@dataclass(eq=False)
class ChangefeedUnion(Stream):
    """`union` of changefeeds: one stream with the changes of every member, each after its own steps."""

    members: list[tuple[ChangefeedSource, list[Step]]]
    is_changefeed = True

    def __post_init__(self) -> None:
        super().__init__(_refuse_iteration, infinite=True)


def _refuse_iteration() -> Iterator[Any]:
    raise ReqlQueryLogicError(INFINITE_TERMINAL)


def feed_of(value: Any) -> tuple[ChangefeedSource | ChangefeedUnion, list[Step]] | None:
    """The changefeed a stream was built on, with the steps applied after it (in order); None for other values."""
    steps: list[Step] = []
    while isinstance(value, Stream):
        if isinstance(value, (ChangefeedSource, ChangefeedUnion)):
            steps.reverse()
            return value, steps
        if value.origin is None:
            return None
        value, step = value.origin
        steps.append(step)
    return None


def union_of_changefeeds(seqs: list[Any]) -> ChangefeedUnion:
    members: list[tuple[ChangefeedSource, list[Step]]] = []
    for seq in seqs:
        found = feed_of(seq)
        if found is None:
            raise ReqlQueryLogicError("Cannot `union` a changefeed with a sequence that is not a changefeed.")
        feed, steps = found
        if isinstance(feed, ChangefeedUnion):
            if steps:
                raise ReqlQueryLogicError("Cannot `union` a transformed union of changefeeds; transform the members.")
            members.extend(feed.members)
        else:
            members.append((feed, steps))
    return ChangefeedUnion(members)


# ---------------------------------------------------------------- the term


@operation(
    "CHANGES",
    1,
    optargs=("squash", "changefeed_queue_size", "include_initial", "include_states", "include_offsets",
             "include_types"),
)  # fmt: skip
def changes(ctx: Context, term: Term) -> ChangefeedSource:
    target = ranked_term(ctx, term.args[0]) or ctx.eval(term.args[0])
    options = _options(ctx, term)
    if isinstance(target, SingleSelection):
        if options.include_offsets:
            raise ReqlQueryLogicError("Cannot include offsets for point changefeeds.")
        initial = Stream(lambda: iter([target.table.get(target.key)]))
        permissions.require_read(ctx, target.table.info)
        return ChangefeedSource(ctx, target.table, PointWatch(target.key), [], initial, options)
    if not isinstance(target, Stream) or feed_of(target) is not None:
        raise ReqlQueryLogicError(f"Cannot call `changes` on this type: {type_of(target)}.")
    steps, base = _unwind(target)
    watch: WatchedRows
    if isinstance(base, Stream) and isinstance(base.origin, tuple) and isinstance(base.origin[1], LimitStep):
        watch, table = _limit_watch(base.origin[0], base.origin[1])
    else:
        watch, table = _range_watch(base)
        if options.include_offsets:
            raise ReqlQueryLogicError("Cannot include offsets for range subs.")
    permissions.require_read(ctx, table.info)  # changes reach the feed from commits, not through reads
    return ChangefeedSource(ctx, table, watch, steps, target, options)


def _unwind(stream: Stream) -> tuple[list[RowStep], Stream]:
    """The row-wise steps (in order) between a table-backed stream and `stream`, and that base stream."""
    steps: list[RowStep] = []
    while stream.origin is not None:
        parent, step = stream.origin
        if not isinstance(step, RowStep):
            break
        if not step.deterministic:
            raise ReqlQueryLogicError("Cannot call `changes` after a non-deterministic function.")
        steps.append(step)
        stream = parent
    steps.reverse()
    return steps, stream


def _range_watch(base: Stream) -> tuple[RangeWatch, Table]:
    if isinstance(base, Table):
        return RangeWatch(base.primary_key), base
    if isinstance(base, TableSlice):
        if base.descending is not None:
            raise ReqlQueryLogicError("Cannot call `changes` on an `order_by` without a `limit`.")
        bounds = (base.lower, base.upper, base.lower_open, base.upper_open)
        return RangeWatch(base.index, None, *bounds), base.table
    if isinstance(base, KeySelection):
        return RangeWatch(base.index, list(base.values)), base.table
    raise ReqlQueryLogicError("Cannot call `changes` on an eager stream.")  # not read from a table


def _limit_watch(parent: Stream, step: LimitStep) -> tuple[LimitWatch, Table]:
    if not isinstance(parent, TableSlice) or parent.descending is None:
        raise ReqlQueryLogicError("Cannot call `changes` on a `limit` that does not follow `order_by(index=...)`.")
    bounds = (parent.lower, parent.upper, parent.lower_open, parent.upper_open)
    return LimitWatch(RangeWatch(parent.index, None, *bounds), step.count, bool(parent.descending)), parent.table


def _options(ctx: Context, term: Term) -> FeedOptions:
    squash = ctx.optarg(term, "squash", False)
    if not isinstance(squash, bool) and not datums.is_number(squash):
        raise ReqlQueryLogicError(f"Expected BOOL or NUMBER but found {datums.type_name(squash)}.")
    if not isinstance(squash, bool) and squash < 0:
        raise ReqlQueryLogicError("Expected BOOL or a positive NUMBER but found a negative NUMBER.")
    size = ctx.optarg(term, "changefeed_queue_size", DEFAULT_QUEUE_SIZE)
    if not datums.is_number(size) or size < 1 or size != int(size):
        raise ReqlQueryLogicError(f"Illegal changefeed queue size `{datums.printed(size)}`.")

    def flag(name: str) -> bool:
        value = ctx.optarg(term, name, False)
        if not isinstance(value, bool):
            raise ReqlQueryLogicError(f"Expected type BOOL but found {datums.type_name(value)}.")
        return value

    return FeedOptions(
        squash if isinstance(squash, bool) else float(squash),
        int(size),
        flag("include_initial"),
        flag("include_states"),
        flag("include_offsets"),
        flag("include_types"),
    )
