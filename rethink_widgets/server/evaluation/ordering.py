"""order_by: by fields or functions, ascending or descending, or lazily along an index of a table."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlCompileError, ReqlError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, check_finite
from rethink_widgets.server.evaluation.schema import require_index
from rethink_widgets.server.evaluation.terms import VARIADIC, Node, Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Func, Selection, Table, TableSlice

Key = Callable[[Any], Any]


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


def key_function(ctx: Context, node: Node, missing: type[ReqlQueryLogicError] = ReqlQueryLogicError) -> Key:
    """A field name or a function, as `row -> value`; `missing` is raised for a row without the field."""
    value = ctx.eval(node)
    if isinstance(value, Func):
        return lambda row: ctx.as_datum(value(ctx, row))
    field = ctx.as_datum(value)
    if not isinstance(field, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(field)}.")

    def get(row: Any) -> Any:
        if not isinstance(row, dict) or field not in row:
            raise missing(f"No attribute `{field}` in object:\n{datums.printed(row)}")
        return row[field]

    return get


@operation("ORDER_BY", (1, VARIADIC), optargs=("index",))
def order_by(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    keys = [_direction(node) for node in term.args[1:]]
    if "index" in term.optargs:
        index_node, descending = _direction(term.optargs["index"])
        index = ctx.string(index_node)
        ordered = _by_index(value, index, descending)
        if not keys:
            return ordered
        value = ordered
    elif not keys:
        raise ReqlQueryLogicError("Must specify something to order by.")
    seq = ctx.as_sequence(value)
    check_finite(seq)
    rows = ctx.to_array(seq)
    sort_keys = [(key_function(ctx, node), descending) for node, descending in keys]
    decorated = []
    for row in rows:
        try:
            decorated.append(([key(row) for key, _ in sort_keys], row))
        except ReqlError:
            continue  # rows the keys cannot be read from are left out, as RethinkDB does
    directions = [descending for _, descending in sort_keys]
    decorated.sort(key=functools.cmp_to_key(lambda a, b: _compare(a[0], b[0], directions)))
    result = [row for _, row in decorated]
    if isinstance(seq, (Selection, ArraySelection)):
        return ArraySelection(seq.table, result)
    return result


def _compare(left: list[Any], right: list[Any], descending: list[bool]) -> int:
    for a, b, flip in zip(left, right, descending, strict=True):
        order = datums.compare(a, b)
        if order:
            return -order if flip else order
    return 0


def _by_index(value: Any, index: str, descending: bool) -> TableSlice:
    if isinstance(value, TableSlice):
        if value.index != index:
            raise ReqlQueryLogicError(
                f"Cannot order by index `{index}` after calling BETWEEN on index `{value.index}`."
            )
        return TableSlice(value.table, index, value.lower, value.upper, value.lower_open, value.upper_open, descending)
    if not isinstance(value, Table):
        raise ReqlQueryLogicError(
            "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. Make sure order_by comes before "
            "any transformations (such as map) or reductions (such as count)."
        )
    if index != value.primary_key:
        require_index(value.info, index)
    return TableSlice(value, index, descending=descending)
