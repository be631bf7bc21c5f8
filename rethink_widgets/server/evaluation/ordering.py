"""order_by: by fields or functions, ascending or descending, or lazily along an index of a table."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.errors import ReqlCompileError, ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.fields import Key, key_function
from rethink_widgets.server.evaluation.terms import VARIADIC, Node, Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Selection, Table, TableSlice


@operation("ASC", 1)
def asc(ctx: Context, term: Term) -> Any:
    raise ReqlCompileError("ASC may only be used as an argument to ORDER_BY or UNION.")


@operation("DESC", 1)
def desc(ctx: Context, term: Term) -> Any:
    raise ReqlCompileError("DESC may only be used as an argument to ORDER_BY or UNION.")


def _direction(node: Node) -> tuple[Node, bool]:
    """The key expression and whether it sorts descending."""
    if isinstance(node, Term) and node.op.name in ("ASC", "DESC"):
        return node.args[0], node.op.name == "DESC"
    return node, False


@operation("ORDER_BY", (1, VARIADIC), optargs=("index",))
def order_by(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    sort_keys = [(key_function(ctx, node), descending) for node, descending in map(_direction, term.args[1:])]
    if "index" in term.optargs:
        if isinstance(value, list) and not value:
            return value  # RethinkDB leaves an empty array alone, index or not
        index_node, descending = _direction(term.optargs["index"])
        ordered = _by_index(value, ctx.string(index_node), descending)
        return _ties_broken(ordered, sort_keys) if sort_keys else ordered
    if not sort_keys:
        raise ReqlQueryLogicError("Must specify something to order by.")
    seq = ctx.as_sequence(value)
    rows = _sorted(ctx.to_array(seq), sort_keys)
    if isinstance(seq, Selection):
        return ArraySelection(seq.table, rows)
    return rows


def _sorted(rows: list[Any], sort_keys: list[tuple[Key, bool]]) -> list[Any]:
    """A stable sort by the keys in turn, each ascending or descending."""
    decorated = [([_key_or_missing(key, row) for key, _ in sort_keys], row) for row in rows]
    directions = [descending for _, descending in sort_keys]

    def order(a: tuple[list[Any], Any], b: tuple[list[Any], Any]) -> int:
        return _compare(a[0], b[0], directions)

    decorated.sort(key=functools.cmp_to_key(order))
    return [row for _, row in decorated]


def _key_or_missing(key: Key, row: Any) -> Any:
    try:
        return key(row)
    except ReqlNonExistenceError:
        return _MISSING  # a row without the key sorts first ascending, last descending; other errors propagate


_MISSING = object()


def _compare(left: list[Any], right: list[Any], descending: list[bool]) -> int:
    interrupts.check()  # a sort of many rows is long
    for a, b, flip in zip(left, right, descending, strict=True):
        order = _order(a, b)
        if order:
            return -order if flip else order
    return 0


def _order(a: Any, b: Any) -> int:
    if a is _MISSING or b is _MISSING:
        return (b is _MISSING) - (a is _MISSING)
    return datums.compare(a, b)


def _by_index(value: Any, index: str, descending: bool) -> TableSlice:
    if isinstance(value, TableSlice):
        if value.descending is not None:
            raise ReqlQueryLogicError("Cannot perform multiple indexed ORDER_BYs on the same table.")
        if value.index != index:
            raise ReqlQueryLogicError(
                f"Cannot order by index `{index}` after calling BETWEEN on index `{value.index}`."
            )
        bounds = (value.lower, value.upper, value.lower_open, value.upper_open)
        return TableSlice(value.table, index, *bounds, descending, bounded=value.bounded)
    if not isinstance(value, Table):
        raise ReqlQueryLogicError(
            "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. Make sure order_by comes before "
            "any transformations (such as map) or filters."
        )
    return TableSlice(value, index, descending=descending)  # the index is checked when the slice is read


def _ties_broken(ordered: TableSlice, sort_keys: list[tuple[Key, bool]]) -> Selection:
    """Indexed order_by with keys as well: the index orders the rows, the keys only rows with equal index values."""

    def rows() -> Iterator[Any]:
        for _value, entries in itertools.groupby(ordered.entries(), key=lambda entry: keys.encode(entry[0])):
            yield from _sorted([doc for _, doc in entries], sort_keys)

    return Selection(ordered.table, rows)
