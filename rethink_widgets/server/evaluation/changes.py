"""The CHANGES term: finding what a changefeed follows, the steps that shape its rows, and its options.

Evaluating `changes()` reads nothing. It unwinds the stream it is called on (a table, `get`, `get_all`, `between`,
`order_by(index).limit(n)`, with deterministic row-wise steps such as filter, map or pluck, before the limit or, for
filters, after it) into a `ChangefeedSource` (see `changefeed_sources`).
"""

from __future__ import annotations

from rethink_widgets.server.errors import ReqlQueryLogicError, ReqlResourceLimitError
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
    GeoSelection,
    KeySelection,
    LimitStep,
    RowStep,
    SingleSelection,
    Stream,
    Table,
    TableSlice,
    require_built_index,
    require_index,
    type_of,
)

AFTER_LIMIT = (
    "Changefeeds are not supported on queries that have a transformation following a `limit` term.  "
    "Transformations include terms such as `filter`, `map`, `pluck`, etc.  Consider moving the transformation "
    "before the `limit` term."
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
    watch, table, steps = _follow(ctx, target)
    if options.include_offsets and not isinstance(watch, LimitWatch):
        raise ReqlQueryLogicError("Cannot include offsets for range subs.")
    permissions.require_read(ctx, table.info)  # changes reach the feed from commits, not through reads
    _require_watched_index(table, watch)
    return ChangefeedSource(ctx, table, watch, steps, target, options)


def _require_watched_index(table: Table, watch: WatchedRows) -> None:
    """A feed reads its index from the start: the `between` or `order_by` it follows checks it only when read."""
    if isinstance(watch, PointWatch):
        return
    index = (watch.range if isinstance(watch, LimitWatch) else watch).index
    if isinstance(watch, RangeWatch) and watch.meets is not None:
        require_built_index(table.info, index)  # (a geospatial index, which key reads may not use)
    elif index != table.primary_key:
        require_index(table.info, index)


def _follow(ctx: Context, target: Stream) -> tuple[WatchedRows, Table, list[RowStep]]:
    """What `changes()` on `target` follows and the steps that shape each row, refused in RethinkDB's order.

    The steps after a `limit` may only be filters: they join the steps before it, so they choose which rows make
    up the first n, as in RethinkDB (slice_datum_stream_t::get_changespecs).
    """
    steps, base = _unwind(target)
    limit: LimitStep | None = None
    if base.origin is not None:  # the unwinding stopped at a limit
        limited, slicing = base.origin
        if any(step.kind != "filter" for step in steps):
            raise ReqlQueryLogicError(AFTER_LIMIT)
        before, base = _unwind(limited)
        steps = [*before, *steps]
        limit = slicing if isinstance(slicing, LimitStep) else None
    if not isinstance(
        base, (Table, TableSlice, KeySelection, GeoSelection)
    ):  # not read from a table, or a limit of a limit
        raise ReqlQueryLogicError("Cannot call `changes` on an eager stream.")
    for step in steps:
        if step.kind == "concat_map":
            raise ReqlQueryLogicError("Cannot call `changes` after `concat_map`.")
        if not step.deterministic:
            raise ReqlQueryLogicError("Cannot call `changes` after a non-deterministic function.")
    if limit is None:
        return (*_range_watch(base), steps)
    if limit.count > ctx.array_limit:
        raise ReqlResourceLimitError(
            f"Array size limit `{ctx.array_limit}` exceeded.  "
            "(`.limit(X).changes()` is illegal if X is larger than the array size limit.)"
        )
    if not isinstance(base, TableSlice) or base.descending is None:  # (get_intersecting has no order either)
        raise ReqlQueryLogicError("Cannot get changes on the first elements of an unordered stream.")
    bounds = (base.lower, base.upper, base.lower_open, base.upper_open)
    return LimitWatch(RangeWatch(base.index, None, *bounds), limit.count, base.descending), base.table, steps


def _unwind(stream: Stream) -> tuple[list[RowStep], Stream]:
    """The row-wise steps (in order) between the stream they start from and `stream`, and that stream."""
    steps: list[RowStep] = []
    while stream.origin is not None:
        parent, step = stream.origin
        if not isinstance(step, RowStep):
            break
        steps.append(step)
        stream = parent
    steps.reverse()
    return steps, stream


def _range_watch(base: Table | TableSlice | KeySelection | GeoSelection) -> tuple[RangeWatch, Table]:
    if isinstance(base, Table):
        return RangeWatch(base.primary_key), base
    if isinstance(base, GeoSelection):
        return RangeWatch(base.index, meets=base.meets), base.table
    if isinstance(base, TableSlice):
        if base.descending is not None:
            raise ReqlQueryLogicError("Cannot call `changes` on an `order_by` without a `limit`.")
        bounds = (base.lower, base.upper, base.lower_open, base.upper_open)
        return RangeWatch(base.index, None, *bounds), base.table
    return RangeWatch(base.index, list(base.values)), base.table


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
