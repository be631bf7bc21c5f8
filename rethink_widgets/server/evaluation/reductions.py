"""Reductions: sum, avg, reduce, fold, min and max, each feeding a sequence to its accumulator (see `accumulators`).

With `index=`, `min`/`max` read one row through the index (see `ranked_slices`), and remember the one-row ordered slice
they read, so that `changes()` on them is a feed of that slice like `order_by(index=...).limit(1)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from rethink_widgets.server import interrupts
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation.accumulators import Accumulator, Best, Reduce, Sum, empty_message
from rethink_widgets.server.evaluation.context import Context, check_finite, type_error
from rethink_widgets.server.evaluation.fields import key_function
from rethink_widgets.server.evaluation.ranked_slices import ranked_slice
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import SingleSelection, Stream, Table

T = TypeVar("T")


def _total(seq: Iterable[Any], acc: Accumulator[T]) -> T:
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
    if func.arity not in (0, 2):
        raise ReqlQueryLogicError("The accumulator function passed to `fold` should expect 2 arguments")
    emit = ctx.func(term.optargs["emit"]) if "emit" in term.optargs else None
    final = ctx.func(term.optargs["final_emit"]) if "final_emit" in term.optargs else None

    def step(acc: Any, row: Any) -> Any:
        return ctx.as_datum(func(ctx, acc, row))

    if emit is None:
        check_finite(seq)
        acc = functools.reduce(step, seq, base)
        return ctx.as_datum(final(ctx, acc)) if final is not None else acc

    def rows() -> Iterator[Any]:
        acc = base
        for row in seq:
            new = step(acc, row)
            yield from _emitted(ctx, emit(ctx, acc, row, new))
            acc = new
        if final is not None:
            yield from _emitted(ctx, final(ctx, acc))

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
