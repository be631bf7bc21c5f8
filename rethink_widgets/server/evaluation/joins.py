"""Joins: eq_join (through an index), inner_join and outer_join.

Each gives `{"left": row, "right": match}` pairs (outer_join: `{"left": row}` for a row without a match), the shape
`zip` merges. As RethinkDB rewrites joins into `concat_map`, they stay lazy on streams and give arrays for arrays,
and the left side keeps its order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.fields import key_function
from rethink_widgets.server.evaluation.rows import Sequence, expand_rows
from rethink_widgets.server.evaluation.tables import as_table
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Table, require_index


@operation("EQ_JOIN", 3, optargs=("index", "ordered"))
def eq_join(ctx: Context, term: Term) -> Sequence:
    seq = _left(ctx, term)
    key = key_function(ctx, term.args[1])
    table = as_table(ctx, term.args[2])
    index = ctx.string(term.optargs["index"]) if "index" in term.optargs else table.primary_key
    if index != table.primary_key:
        require_index(table.info, index)
    if "ordered" in term.optargs:
        ctx.boolean(term.optargs["ordered"])  # checked only: the left side's order is always kept
    lookup = _lookup(table, index)

    def pairs(row: Any) -> list[dict[str, Any]]:
        try:
            value = key(row)
        except ReqlNonExistenceError:
            return []  # a row without the field joins nothing
        if value is None:
            return []
        return [{"left": row, "right": doc} for doc in lookup(value)]

    return expand_rows(ctx, seq, pairs)


def _left(ctx: Context, term: Term) -> Sequence:
    seq = ctx.sequence(term.args[0])
    return seq.rows if isinstance(seq, ArraySelection) else seq  # an ordered table joins into an array


def _lookup(table: Table, index: str) -> Callable[[Any], Iterable[dict[str, Any]]]:
    """The documents whose `index` value is the given one (for a multi index: one of its values)."""
    if index == table.primary_key:

        def by_key(value: Any) -> list[dict[str, Any]]:
            doc = table.get(value)
            return [doc] if doc is not None else []

        return by_key
    return lambda value: table.storage.index_get_all(table.info, index, value)


@operation("INNER_JOIN", 3)
def inner_join(ctx: Context, term: Term) -> Sequence:
    left, matches = _join_parts(ctx, term)

    def pairs(row: Any) -> list[dict[str, Any]]:
        return [{"left": row, "right": other} for other in matches(row)]

    return expand_rows(ctx, left, pairs, kind="concat_map")


@operation("OUTER_JOIN", 3)
def outer_join(ctx: Context, term: Term) -> Sequence:
    left, matches = _join_parts(ctx, term)

    def pairs(row: Any) -> list[dict[str, Any]]:
        found = ctx.check_array([{"left": row, "right": other} for other in matches(row)])
        return found or [{"left": row}]

    return expand_rows(ctx, left, pairs, kind="concat_map")


def _join_parts(ctx: Context, term: Term) -> tuple[Sequence, Callable[[Any], Iterable[Any]]]:
    """The left side, and the rows of the right side that the predicate pairs with a row of the left."""
    left = _left(ctx, term)
    right = ctx.sequence(term.args[1])
    func = ctx.func(term.args[2])

    def matches(row: Any) -> Iterable[Any]:
        # The right side is read again for every left row, as RethinkDB's nested concat_map does.
        return (other for other in right if datums.truthy(ctx.as_datum(func(ctx, row, other))))

    return left, matches
