"""Sequence operations: filter, map, concat_map, limit, skip, slice, nth, count, contains, is_empty, union, distinct,
r.range. Streams in give lazy streams out (a selection stays a selection where RethinkDB keeps it, so writes can
follow); arrays in give arrays out.
"""

from __future__ import annotations

import base64
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.errors import EmptyError, ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.changefeed_sources import union_of_changefeeds
from rethink_widgets.server.evaluation.context import Context, check_finite
from rethink_widgets.server.evaluation.interleave import ordered_union
from rethink_widgets.server.evaluation.literals import eval_allowing_literals
from rethink_widgets.server.evaluation.rows import (
    Sequence,
    as_predicate,
    derived,
    expand_rows,
    filter_rows,
    map_rows,
    nth_of,
)
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, is_deterministic, operation
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    Func,
    LimitStep,
    Stream,
    Table,
    TableSlice,
    require_index,
)


@operation("FILTER", 2, optargs=("default",))
def filter_term(ctx: Context, term: Term) -> Sequence:
    seq = ctx.sequence(term.args[0])
    test = as_predicate(ctx, eval_allowing_literals(ctx, term.args[1]))
    default = term.optargs.get("default")

    def keep(row: Any) -> bool:
        try:
            return test(row)
        except ReqlNonExistenceError as missing:
            # A missing field skips the row unless `default` says otherwise; r.error() re-raises.
            if default is None:
                return False
            try:
                return datums.truthy(ctx.datum(default))
            except EmptyError:
                raise missing from None

    return filter_rows(ctx, seq, keep, deterministic=is_deterministic(term.args[1]))


@operation("MAP", (2, VARIADIC))
def map_term(ctx: Context, term: Term) -> Sequence:
    func = ctx.func(term.args[-1])
    seqs = [ctx.sequence(node) for node in term.args[:-1]]
    if func.arity not in (0, len(seqs)):  # a function of no arguments ignores the rows
        noun = "sequence was" if len(seqs) == 1 else "sequences were"
        plural = "" if func.arity == 1 else "s"
        raise ReqlQueryLogicError(
            f"The function passed to `map` expects {func.arity} argument{plural}, but {len(seqs)} {noun} found."
        )
    if len(seqs) == 1:
        fn = lambda row: ctx.as_datum(func(ctx, row))  # noqa: E731
        return map_rows(ctx, seqs[0], fn, deterministic=is_deterministic(term.args[-1]))
    if all(isinstance(s, list) for s in seqs):
        return ctx.check_array([ctx.as_datum(func(ctx, *rows)) for rows in zip(*seqs, strict=False)])
    infinite = all(isinstance(s, Stream) and s.infinite for s in seqs)
    return Stream(lambda: (ctx.as_datum(func(ctx, *rows)) for rows in zip(*seqs, strict=False)), infinite=infinite)


@operation("CONCAT_MAP", 2)
def concat_map(ctx: Context, term: Term) -> Sequence:
    seq, func = ctx.sequence(term.args[0]), ctx.func(term.args[1])

    def expand(row: Any) -> Iterable[Any]:
        return ctx.as_sequence(func(ctx, row))

    return expand_rows(ctx, seq, expand, deterministic=is_deterministic(term.args[1]), kind="concat_map")


# ---------------------------------------------------------------- positions


@operation("LIMIT", 2)
def limit(ctx: Context, term: Term) -> Sequence:
    seq = ctx.sequence(term.args[0])
    count = ctx.integer(term.args[1])
    if count < 0:
        raise ReqlQueryLogicError(f"LIMIT takes a non-negative argument (got {count})")
    if isinstance(seq, ArraySelection):
        return ArraySelection(seq.table, seq.rows[:count])
    if isinstance(seq, list):
        return seq[:count]
    stream = derived(seq, lambda: itertools.islice(seq, count), LimitStep(count))
    stream.infinite = False
    return stream


@operation("SKIP", 2)
def skip(ctx: Context, term: Term) -> Any:
    # RethinkDB's skip is a slice to the end, so a negative count counts back from the end of an array.
    return _slice(ctx, ctx.eval(term.args[0]), ctx.integer(term.args[1]), None, left_open=False, right_closed=False)


@operation("SLICE", (2, 3), optargs=("left_bound", "right_bound"))
def slice_term(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    start = ctx.integer(term.args[1])
    end = ctx.integer(term.args[2]) if len(term.args) == 3 else None
    left_open = ctx.optarg(term, "left_bound", "closed") == "open"
    right_closed = ctx.optarg(term, "right_bound", "open") == "closed"
    return _slice(ctx, value, start, end, left_open=left_open, right_closed=right_closed)


def _slice(ctx: Context, value: Any, start: int, end: int | None, *, left_open: bool, right_closed: bool) -> Any:
    if isinstance(value, ArraySelection):
        bounds = _slice_bounds(len(value.rows), start, end, left_open, right_closed)
        return ArraySelection(value.table, value.rows[bounds])
    if isinstance(value, Stream):
        return _slice_stream(value, start, end, left_open, right_closed)
    value = ctx.as_datum(value)
    if isinstance(value, (list, str)):
        return value[_slice_bounds(len(value), start, end, left_open, right_closed)]
    if isinstance(value, dict) and value.get(datums.PTYPE) == "BINARY":
        raw = base64.b64decode(value["data"])
        part = raw[_slice_bounds(len(raw), start, end, left_open, right_closed)]
        return {datums.PTYPE: "BINARY", "data": base64.b64encode(part).decode("ascii")}
    raise ReqlQueryLogicError(f"Expected ARRAY, BINARY, or STRING, but found {datums.type_name(value)}.")


def _slice_bounds(size: int, start: int, end: int | None, left_open: bool, right_closed: bool) -> slice:
    if start < 0:
        start += size
    if left_open:
        start += 1
    if end is None:
        end = size
    else:
        if end < 0:
            end += size
        if right_closed:
            end += 1
    return slice(max(start, 0), max(end, 0))


def _slice_stream(seq: Stream, start: int, end: int | None, left_open: bool, right_closed: bool) -> Stream:
    if start < 0:
        raise ReqlQueryLogicError("Cannot use a negative left index on a stream.")
    if end is not None and end < -1:
        raise ReqlQueryLogicError("Cannot use a right index < -1 on a stream.")
    if end == -1 and not right_closed:
        raise ReqlQueryLogicError("Cannot slice to an open right index of -1 on a stream.")
    first = start + (1 if left_open else 0)
    last = None if end is None or end == -1 else end + (1 if right_closed else 0)
    # As in RethinkDB, a slice from the first row is a limit (to the end: an unbounded one), so changes() can follow.
    step = LimitStep(sys.maxsize if last is None else last) if first == 0 else None
    stream = derived(seq, lambda: itertools.islice(seq, first, last), step)
    stream.infinite = seq.infinite and last is None
    return stream


@operation("NTH", 2)
def nth(ctx: Context, term: Term) -> Any:
    return nth_of(ctx, ctx.sequence(term.args[0]), ctx.integer(term.args[1]))


# ---------------------------------------------------------------- whole-sequence questions


@operation("COUNT", (1, 2))
def count(ctx: Context, term: Term) -> int:
    value = ctx.eval(term.args[0])
    if len(term.args) == 1:
        if isinstance(value, Table):
            return value.count()
        if not isinstance(value, Stream):
            value = ctx.as_datum(value)
            if isinstance(value, str) or datums.is_object(value):
                return len(value)
            if isinstance(value, dict) and value.get(datums.PTYPE) == "BINARY":
                return len(base64.b64decode(value["data"]))
    seq = ctx.as_sequence(value)
    check_finite(seq)
    if len(term.args) == 1:
        return len(seq) if isinstance(seq, list) else sum(1 for _ in seq)
    matcher = ctx.eval(term.args[1])
    test = as_predicate(ctx, matcher) if isinstance(matcher, Func) else _equals(ctx.as_datum(matcher))
    return sum(1 for row in seq if test(row))


def _equals(expected: Any) -> Callable[[Any], bool]:
    return lambda row: datums.equal(row, expected)


@operation("CONTAINS", (1, VARIADIC))
def contains(ctx: Context, term: Term) -> bool:
    seq = ctx.sequence(term.args[0])
    values: list[Callable[[Any], bool]] = []
    funcs: list[Callable[[Any], bool]] = []
    for node in term.args[1:]:
        value = ctx.eval(node)
        if isinstance(value, Func):
            funcs.append(as_predicate(ctx, value))
        else:
            values.append(_equals(ctx.as_datum(value)))
    # Bag semantics, as RethinkDB has them: one row meets at most one value and at most one function.
    for row in seq:
        for pending in (values, funcs):
            met = next((i for i, test in enumerate(pending) if test(row)), None)
            if met is not None:
                del pending[met]
        if not values and not funcs:
            return True
    return False


@operation("IS_EMPTY", 1)
def is_empty(ctx: Context, term: Term) -> bool:
    seq = ctx.sequence(term.args[0])
    return next(iter(seq), _NONE) is _NONE


_NONE = object()


@operation("RANGE", (0, 2))
def range_term(ctx: Context, term: Term) -> Stream:
    bounds = [ctx.integer(node) for node in term.args]
    if not bounds:
        return Stream(lambda: _checked(itertools.count()), infinite=True)
    start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
    return Stream(lambda: _checked(iter(range(start, stop))))


def _checked(numbers: Iterator[int]) -> Iterator[int]:
    for number in numbers:
        interrupts.check()
        yield number


@operation("UNION", (0, VARIADIC), optargs=("interleave",))
def union(ctx: Context, term: Term) -> Sequence:
    seqs = [ctx.sequence(node) for node in term.args]
    if "interleave" in term.optargs:
        merged = ordered_union(ctx, seqs, term.optargs["interleave"])
        if merged is not None:
            return merged
    if all(isinstance(s, list) for s in seqs):
        return ctx.check_array([row for s in seqs for row in s])
    if any(isinstance(s, Stream) and s.built_on_changefeed() for s in seqs):
        return union_of_changefeeds(seqs)
    infinite = any(isinstance(s, Stream) and s.infinite for s in seqs)
    return Stream(lambda: itertools.chain.from_iterable(seqs), infinite=infinite)


@operation("DISTINCT", 1, optargs=("index",))
def distinct(ctx: Context, term: Term) -> Sequence:
    value = ctx.eval(term.args[0])
    index = ctx.string(term.optargs["index"]) if "index" in term.optargs else None
    if isinstance(value, (Table, TableSlice)):
        ordered = _distinct_in_index_order(value, index)
        if ordered is not None:
            return ordered
    if index is not None:
        raise ReqlQueryLogicError("Can only perform an indexed distinct on a TABLE.")
    seq = ctx.as_sequence(value)
    check_finite(seq)
    unique: dict[bytes, Any] = {}
    for row in seq:
        unique.setdefault(keys.encode(row), row)
        if len(unique) > ctx.array_limit:
            raise ctx.array_limit_error()
    return [unique[k] for k in sorted(unique)]


def _distinct_in_index_order(target: Table | TableSlice, index: str | None) -> Stream | None:
    """distinct read lazily along an index, as RethinkDB does for a table (or a slice of the same index).

    None when RethinkDB would gather and sort the rows instead (a slice of another index, without `index=`).
    """
    table = target.table
    primary = table.primary_key
    if index == primary:
        return Stream(lambda: (doc[primary] for doc in target))
    along = index or primary
    if isinstance(target, TableSlice) and target.index != along:
        return None
    if index is None:
        return Stream(lambda: iter(target))  # whole documents: their primary keys already make them distinct
    if isinstance(target, TableSlice):
        ordered = target
    else:
        require_index(table.info, index)
        ordered = TableSlice(table, index, descending=False)

    def values() -> Iterator[Any]:
        last = None
        for value, _doc in ordered.entries():
            encoded = keys.encode(value)
            if encoded != last:
                last = encoded
                yield value

    return Stream(values)
