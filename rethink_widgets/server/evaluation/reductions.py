"""Reductions: sum, avg, reduce, fold, min and max, and the accumulators that reduce a sequence (or each group of a
grouped stream, see `grouping`) one row at a time.

With `index=`, `min`/`max` read one row through the index, and remember the one-row ordered slice they read, so that
`changes()` on them is a feed of that slice like `order_by(index=...).limit(1)`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from rethink_widgets.server import interrupts
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, check_finite, type_error
from rethink_widgets.server.evaluation.fields import key_function
from rethink_widgets.server.evaluation.schema import require_index
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import Func, LimitStep, SingleSelection, Stream, Table, TableSlice, call

# ---------------------------------------------------------------- accumulators


R = TypeVar("R")


class Accumulator(Generic[R]):
    """A reduction fed one row at a time; `add` says whether the row took part (rows without a field do not)."""

    def add(self, row: Any) -> bool:
        raise NotImplementedError

    def result(self) -> R:
        raise NotImplementedError


class Count(Accumulator[int]):
    """count, of every row or of the rows that pass `test`."""

    def __init__(self, test: Callable[[Any], bool] | None) -> None:
        self.count = 0
        self.test = test

    def add(self, row: Any) -> bool:
        if self.test is not None and not self.test(row):
            return False
        self.count += 1
        return True

    def result(self) -> int:
        return self.count


class Sum(Accumulator[int | float]):
    """Sum and average, in doubles as RethinkDB adds."""

    def __init__(self, key: Callable[[Any], Any] | None, average: bool) -> None:
        self.total, self.count = 0.0, 0
        self.key, self.average = key, average

    def add(self, row: Any) -> bool:
        value = _value_of(self.key, row)
        if value is _SKIPPED or value is None:  # RethinkDB's error for a null is a non-existence error: skipped
            return False
        if not datums.is_number(value):
            raise type_error("NUMBER", value)
        self.total += value
        self.count += 1
        return True

    def result(self) -> int | float:
        if not self.average:
            return datums.number(self.total)
        if not self.count:
            raise ReqlNonExistenceError(empty_message("average", "avg"))
        return datums.number(self.total / self.count)


class Best(Accumulator[Any]):
    """min or max: the row with the smallest (largest) key, the first of equals."""

    def __init__(self, key: Callable[[Any], Any] | None, descending: bool, empty: str) -> None:
        self.best: tuple[Any, Any] | None = None
        self.key, self.descending, self.empty = key, descending, empty

    def add(self, row: Any) -> bool:
        value = _value_of(self.key, row)
        if value is _SKIPPED:
            return False
        if self.best is None:
            self.best = (value, row)
            return True
        order = datums.compare(value, self.best[0])
        if (order > 0) if self.descending else (order < 0):
            self.best = (value, row)
        return True

    def result(self) -> Any:
        if self.best is None:
            raise ReqlNonExistenceError(self.empty)
        return self.best[1]


class Reduce(Accumulator[Any]):
    """reduce: the rows combined pairwise by a two-argument function."""

    def __init__(self, ctx: Context, func: Func) -> None:
        self.acc: Any = _SKIPPED
        self.ctx, self.func = ctx, func

    def add(self, row: Any) -> bool:
        self.acc = row if self.acc is _SKIPPED else self.ctx.as_datum(call(self.ctx, self.func, [self.acc, row]))
        return True

    def result(self) -> Any:
        if self.acc is _SKIPPED:
            raise ReqlNonExistenceError("Cannot reduce over an empty stream.")
        return self.acc


_SKIPPED = object()


def _value_of(key: Callable[[Any], Any] | None, row: Any) -> Any:
    if key is None:
        return row
    try:
        return key(row)
    except ReqlNonExistenceError:
        return _SKIPPED  # rows without the field take no part (any other error does stop the query)


def empty_message(noun: str, name: str) -> str:
    """RethinkDB's error for the average, min or max of no rows."""
    return (
        f"Cannot take the {noun} of an empty stream.  (If you passed `{name}` a field name, "
        "it may be that no elements of the stream had that field.)"
    )


def _total(seq: Iterable[Any], acc: Accumulator[R]) -> R:
    check_finite(seq)
    for row in seq:
        interrupts.check()
        acc.add(row)
    return acc.result()


# ---------------------------------------------------------------- sum, avg, reduce, fold


@operation("SUM", (1, 2), optargs=("index",))
def sum_term(ctx: Context, term: Term) -> int | float:
    return _total(ctx.sequence(term.args[0]), Sum(_unindexed_key(ctx, term, "sum"), average=False))


@operation("AVG", (1, 2), optargs=("index",))
def avg(ctx: Context, term: Term) -> int | float:
    return _total(ctx.sequence(term.args[0]), Sum(_unindexed_key(ctx, term, "avg"), average=True))


def _unindexed_key(ctx: Context, term: Term, name: str) -> Callable[[Any], Any] | None:
    key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
    if "index" in term.optargs:
        if key is not None:
            raise ReqlQueryLogicError(f"Cannot provide both a function and an index to {name}.")
        raise ReqlQueryLogicError(f"Cannot call {name} on an index.")
    return key


@operation("REDUCE", 2, optargs=("base",))
def reduce_term(ctx: Context, term: Term) -> Any:
    seq = ctx.sequence(term.args[0])
    return _total(seq, Reduce(ctx, ctx.func(term.args[1])))


@operation("FOLD", 3, optargs=("emit", "final_emit"))
def fold(ctx: Context, term: Term) -> Any:
    seq = ctx.sequence(term.args[0])
    base = ctx.datum(term.args[1])
    func = ctx.func(term.args[2])
    emit = ctx.func(term.optargs["emit"]) if "emit" in term.optargs else None
    final = ctx.func(term.optargs["final_emit"]) if "final_emit" in term.optargs else None

    def step(acc: Any, row: Any) -> Any:
        return ctx.as_datum(call(ctx, func, [acc, row]))

    if emit is None:
        check_finite(seq)
        acc = functools.reduce(step, seq, base)
        return ctx.as_datum(call(ctx, final, [acc])) if final is not None else acc

    def rows() -> Iterator[Any]:
        acc = base
        for row in seq:
            new = step(acc, row)
            yield from _emitted(ctx, call(ctx, emit, [acc, row, new]))
            acc = new
        if final is not None:
            yield from _emitted(ctx, call(ctx, final, [acc]))

    if isinstance(seq, list):
        return ctx.to_array(rows())
    return Stream(rows, infinite=seq.infinite)


def _emitted(ctx: Context, value: Any) -> list[Any]:
    value = ctx.as_datum(value)
    if not isinstance(value, list):
        raise type_error("ARRAY", value)
    return value


# ---------------------------------------------------------------- min and max


class RankedSelection(SingleSelection):
    """The document `min`/`max` found through an index, with the slice it was read from."""

    def __init__(self, table: Table, doc: dict[str, Any], ranked: Stream) -> None:
        super().__init__(table, doc[table.primary_key], doc)
        self.ranked = ranked


@operation("MIN", (1, 2), optargs=("index",))
def minimum(ctx: Context, term: Term) -> Any:
    return _extreme(ctx, term, "min", descending=False)


@operation("MAX", (1, 2), optargs=("index",))
def maximum(ctx: Context, term: Term) -> Any:
    return _extreme(ctx, term, "max", descending=True)


def _extreme(ctx: Context, term: Term, name: str, descending: bool) -> Any:
    target = ctx.eval(term.args[0])
    key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
    if "index" in term.optargs:
        if key is not None:
            raise ReqlQueryLogicError(f"Cannot provide both a function and an index to {name}.")
        return _by_index(ctx, target, ctx.string(term.optargs["index"]), name, descending)
    empty = empty_message(name, name)
    if key is None and isinstance(target, Table):
        # RethinkDB reads a whole table's min and max along its primary key.
        key, empty = _primary_key(target), f"`{name}` found no entries in the specified index."
    row = _total(ctx.as_sequence(target), Best(key, descending, empty))
    if isinstance(target, Table):
        return SingleSelection(target, row[target.primary_key], row)
    return row


def _primary_key(table: Table) -> Callable[[Any], Any]:
    return lambda row: row[table.primary_key]


def _by_index(ctx: Context, target: Any, index: str, name: str, descending: bool) -> RankedSelection:
    ranked = ranked_slice(target, index, name, descending)
    row = next(iter(ranked), None)
    if row is None:
        raise ReqlNonExistenceError(f"`{name}` found no entries in the specified index.")
    table: Table = target.table  # ranked_slice took it: a table (its own `table`) or a slice of one
    return RankedSelection(table, row, ranked)


def ranked_term(ctx: Context, node: Any) -> Stream | None:
    """For `min`/`max` with an index: the one-row slice it reads (unread, so a feed can follow an empty table)."""
    if not isinstance(node, Term) or node.op.name not in ("MIN", "MAX") or "index" not in node.optargs:
        return None
    name = node.op.name.lower()
    return ranked_slice(ctx.eval(node.args[0]), ctx.string(node.optargs["index"]), name, name == "max")


def ranked_slice(target: Any, index: str, name: str, descending: bool) -> Stream:
    if isinstance(target, TableSlice) and target.descending is None and target.index == index:
        bounds = (target.lower, target.upper, target.lower_open, target.upper_open)
        ordered = TableSlice(target.table, index, *bounds, descending=descending)
    elif isinstance(target, Table):
        if index != target.primary_key:
            require_index(target.info, index)
        ordered = TableSlice(target, index, descending=descending)
    else:
        raise ReqlQueryLogicError(f"Expected type TABLE or TABLE_SLICE with `{name}` and an index.")
    return Stream(functools.partial(itertools.islice, ordered, 1), origin=(ordered, LimitStep(1)))
