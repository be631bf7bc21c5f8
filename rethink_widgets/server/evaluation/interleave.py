"""The ordered merge that `union(..., interleave=ORDER)` performs: sequences already sorted by the same keys merged
into one sorted sequence, each checked to be in that order as it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.fields import key_function
from rethink_widgets.server.evaluation.rows import Sequence
from rethink_widgets.server.evaluation.terms import Datum, Node, Term
from rethink_widgets.server.evaluation.values import Stream

Order = list[tuple[Callable[[Any], Any], bool]]  # (key of a row, descending) in turn


def ordered_union(ctx: Context, seqs: list[Sequence], interleave: Node) -> Sequence | None:
    """Merge sequences already sorted by `interleave` (a field, a function, r.asc/r.desc of one, or an array of
    those) into one sorted sequence; None when `interleave` is a boolean, which asks for no merge.
    """
    order = _merge_order(ctx, interleave)
    if order is None:
        return None
    if all(isinstance(s, list) for s in seqs):
        return ctx.to_array(_merged(seqs, order))
    return Stream(lambda: _merged(seqs, order), infinite=any(isinstance(s, Stream) and s.infinite for s in seqs))


def _merge_order(ctx: Context, node: Node) -> Order | None:
    if _is_term(node, "MAKE_ARRAY"):
        items = node.args
    elif _is_term(node, "ASC", "DESC"):
        items = [node]
    else:
        value = ctx.eval(node)
        if value is True or value is False:
            return None
        items = [Datum(value, deterministic=node.deterministic)]
    order: Order = []
    for item in items:
        descending = _is_term(item, "DESC")
        key_node = item.args[0] if _is_term(item, "ASC", "DESC") else item
        order.append((key_function(ctx, key_node), descending))
    return order


def _is_term(node: Node, *names: str) -> TypeGuard[Term]:
    return isinstance(node, Term) and node.name in names


def _merged(seqs: list[Sequence], order: Order) -> Iterator[Any]:
    """A k-way merge that checks, as it goes, that each input really is in `order`."""
    heads: list[tuple[list[Any], Any, Iterator[Any]]] = []
    for seq in seqs:
        _advance(heads, iter(seq), order)
    last: list[Any] | None = None
    while heads:
        best = 0
        for i in range(1, len(heads)):
            if _compare(heads[i][0], heads[best][0], order) < 0:
                best = i
        sort_keys, row, rows = heads.pop(best)
        if last is not None and _compare(sort_keys, last, order) < 0:
            raise ReqlQueryLogicError("The streams given as arguments are not ordered by given ordering.")
        last = sort_keys
        yield row
        _advance(heads, rows, order, best)


def _advance(
    heads: list[tuple[list[Any], Any, Iterator[Any]]], rows: Iterator[Any], order: Order, at: int | None = None
) -> None:
    """Put the next row of `rows` (if any) among the heads, at position `at` so ties keep the inputs' order."""
    row = next(rows, _END)
    if row is not _END:
        head = ([key(row) for key, _ in order], row, rows)
        heads.insert(len(heads) if at is None else at, head)


_END = object()


def _compare(left: list[Any], right: list[Any], order: Order) -> int:
    for a, b, (_, descending) in zip(left, right, order, strict=True):
        result = datums.compare(a, b)
        if result:
            return -result if descending else result
    return 0
