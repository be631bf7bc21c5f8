"""Aggregations: min and max (by value, field, function or index).

With `index=`, `min`/`max` read one row through the index, and remember the one-row ordered slice they read, so that
`changes()` on them is a feed of that slice like `order_by(index=...).limit(1)`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, check_finite
from rethink_widgets.server.evaluation.ordering import key_function
from rethink_widgets.server.evaluation.schema import require_index
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import LimitStep, SingleSelection, Stream, Table, TableSlice


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
    empty = (
        f"Cannot take the {name} of an empty stream.  (If you passed `{name}` a field name, "
        "it may be that no elements of the stream had that field.)"
    )
    if key is None and isinstance(target, Table):
        # RethinkDB reads a whole table's min and max along its primary key.
        key, empty = _primary_key(target), f"`{name}` found no entries in the specified index."
    found = _best(ctx.as_sequence(target), key, descending)
    if found is None:
        raise ReqlNonExistenceError(empty)
    _value, row = found
    if isinstance(target, Table):
        return SingleSelection(target, row[target.primary_key], row)
    return row


def _primary_key(table: Table) -> Callable[[Any], Any]:
    return lambda row: row[table.primary_key]


def _best(seq: Any, key: Callable[[Any], Any] | None, descending: bool) -> tuple[Any, Any] | None:
    """(key, row) of the row with the smallest (or largest) key, the first of equals; None for no rows."""
    check_finite(seq)
    best: tuple[Any, Any] | None = None
    for row in seq:
        try:
            value = key(row) if key is not None else row
        except ReqlNonExistenceError:
            continue  # rows without the field do not take part (any other error does stop the query)
        order = datums.compare(value, best[0]) if best is not None else 0
        if best is None or (order > 0 if descending else order < 0):
            best = (value, row)
    return best


def _by_index(ctx: Context, target: Any, index: str, name: str, descending: bool) -> RankedSelection:
    ranked = ranked_slice(target, index, name, descending)
    row = next(iter(ranked), None)
    if row is None:
        raise ReqlNonExistenceError(f"`{name}` found no entries in the specified index.")
    return RankedSelection(ranked.origin[0].table, row, ranked)  # type: ignore[index,union-attr]


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
