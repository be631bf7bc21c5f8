"""The CHANGES term: finding what a changefeed follows, the steps that shape its rows, and its options.

Evaluating `changes()` reads nothing. It unwinds the stream it is called on (a table, `get`, `get_all`, `between`,
`order_by(index).limit(n)`, with deterministic row-wise steps such as filter, map or pluck) into a `ChangefeedSource`
(see `changefeed_sources`).
"""

from __future__ import annotations

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.changefeed_sources import (
    DEFAULT_QUEUE_SIZE,
    ChangefeedSource,
    FeedOptions,
    LimitWatch,
    PointWatch,
    RangeWatch,
    WatchedRows,
    feed_of,
)
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.ranked_slices import ranked_term
from rethink_widgets.server.evaluation.system import permissions
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import (
    KeySelection,
    LimitStep,
    RowStep,
    SingleSelection,
    Stream,
    Table,
    TableSlice,
    require_index,
    type_of,
)


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
    _require_watched_index(table, watch)
    return ChangefeedSource(ctx, table, watch, steps, target, options)


def _require_watched_index(table: Table, watch: RangeWatch | LimitWatch) -> None:
    """A feed reads its index from the start: the `between` or `order_by` it follows checks it only when read."""
    index = (watch.range if isinstance(watch, LimitWatch) else watch).index
    if index != table.primary_key:
        require_index(table.info, index)


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
