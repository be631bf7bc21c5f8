"""Joins: eq_join (through an index), inner_join and outer_join.

Each gives `{"left": row, "right": match}` pairs (outer_join: `{"left": row}` for a row without a match), the shape
`zip` merges. As RethinkDB rewrites joins into `concat_map`, they stay lazy on streams and give arrays for arrays,
and the left side keeps its order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlError, ReqlNonExistenceError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.fields import Key, key_function
from rethink_widgets.server.evaluation.rows import Sequence, expand_rows
from rethink_widgets.server.evaluation.tables import as_table
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Stream, Table, require_index

# Left rows an eq_join on a primary key reads ahead, growing from the first (a `limit` after it reads little), and the
# right documents it keeps.
_FIRST_CHUNK, _MOST_CHUNK = 16, 1024
_MOST_KNOWN = 10_000


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
        value = _join_value(key, row)
        if value is None:
            return []  # a row without the field joins nothing
        return [{"left": row, "right": doc} for doc in lookup(value)]

    joined = expand_rows(ctx, seq, pairs)
    if isinstance(seq, list) or isinstance(joined, list) or index != table.primary_key:
        return joined
    return Stream(lambda: _by_primary_key(table, iter(seq), key), infinite=joined.infinite, origin=joined.origin)


def _join_value(key: Key, row: Any) -> Any:
    try:
        return key(row)
    except ReqlNonExistenceError:
        return None


def _by_primary_key(table: Table, rows: Iterator[Any], key: Key) -> Iterator[dict[str, Any]]:
    """The pairs of an eq_join on the right table's primary key: the left rows a chunk at a time, the documents their
    keys name read together, and kept for the chunks after (most joins meet the same keys again and again). What is
    kept may miss a write made while the join runs, as a join whose reads all came earlier would."""
    known: dict[bytes, dict[str, Any] | None] = {}
    encode = keys.remembering_encoder()
    size = _FIRST_CHUNK
    while chunk := list(itertools.islice(rows, size)):
        values: list[Any] = []
        failure: ReqlError | None = None
        for row in chunk:
            try:
                values.append(_join_value(key, row))
            except ReqlError as error:  # raised after the pairs of the rows before it, as row by row
                failure = error
                break
        encoded = [None if value is None else encode(value) for value in values]
        wanted = {pkey: value for pkey, value in zip(encoded, values, strict=True) if pkey is not None}
        missing = [pkey for pkey in wanted if pkey not in known]
        if missing:
            known.update(zip(missing, table.get_many([wanted[pkey] for pkey in missing]), strict=True))
        for row, pkey in zip(chunk, encoded, strict=False):
            doc = known[pkey] if pkey is not None else None
            if doc is not None:
                yield {"left": row, "right": doc}
        if failure is not None:
            raise failure
        if len(known) > _MOST_KNOWN:
            known, encode = {}, keys.remembering_encoder()
        size = min(size * 4, _MOST_CHUNK)


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
