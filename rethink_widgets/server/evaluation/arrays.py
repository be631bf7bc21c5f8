"""Arrays: adding, removing and changing elements by position, set operations, offsets_of, sample and zip.

Positions follow RethinkDB: a negative index counts from the end, where insert_at and splice_at count the gaps
between elements (so -1 appends) and change_at and delete_at count the elements. Every array that grows is held to
the query's `array_limit` (an array written to a table, to RethinkDB's fixed limit for stored arrays: see
`write_results`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, check_finite, type_error
from rethink_widgets.server.evaluation.rows import Sequence
from rethink_widgets.server.evaluation.terms import Node, Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Func, Selection, Stream

# ---------------------------------------------------------------- append, prepend


@operation("APPEND", 2)
def append(ctx: Context, term: Term) -> list[Any]:
    rows = ctx.array(term.args[0])
    return ctx.check_array([*rows, ctx.datum(term.args[1])])


@operation("PREPEND", 2)
def prepend(ctx: Context, term: Term) -> list[Any]:
    rows = ctx.array(term.args[0])
    return ctx.check_array([ctx.datum(term.args[1]), *rows])


# ---------------------------------------------------------------- by position


def _copy(ctx: Context, node: Node) -> list[Any]:
    # RethinkDB copies the array into a size-checked builder, so even an array read from disk must fit the limit.
    return ctx.check_array(list(ctx.array(node)))


def _canonical(ctx: Context, node: Node, size: int) -> int:
    """An index read as RethinkDB's `canonicalize` does: a negative one counts back from `size`."""
    index = ctx.integer(node)
    if index >= 0:
        return index
    if -index > size:
        raise ReqlNonExistenceError(f"Index out of bounds: {index}")
    return size + index


def _check_index(index: int, size: int, *, gap: bool = False) -> None:
    """Refuse an index past the array (past its end when `gap`, for an insertion)."""
    if index > size or (index == size and not gap):
        raise ReqlNonExistenceError(f"Index `{index}` out of bounds for array of size: `{size}`.")


def _insertion(ctx: Context, term: Term) -> tuple[list[Any], int, Any]:
    """The array, the gap to insert at (checked) and what to insert, of INSERT_AT and SPLICE_AT."""
    rows = _copy(ctx, term.args[0])
    index = _canonical(ctx, term.args[1], len(rows) + 1)
    value = ctx.datum(term.args[2])
    _check_index(index, len(rows), gap=True)
    return rows, index, value


@operation("INSERT_AT", 3)
def insert_at(ctx: Context, term: Term) -> list[Any]:
    rows, index, value = _insertion(ctx, term)
    rows.insert(index, value)
    return ctx.check_array(rows)


@operation("SPLICE_AT", 3)
def splice_at(ctx: Context, term: Term) -> list[Any]:
    rows, index, values = _insertion(ctx, term)
    if not isinstance(values, list):
        raise type_error("ARRAY", values)
    rows[index:index] = values
    return ctx.check_array(rows)


@operation("DELETE_AT", (2, 3))
def delete_at(ctx: Context, term: Term) -> list[Any]:
    rows = _copy(ctx, term.args[0])
    start = _canonical(ctx, term.args[1], len(rows))
    if len(term.args) == 2:
        _check_index(start, len(rows))
        del rows[start]
        return rows
    end = _canonical(ctx, term.args[2], len(rows))
    _check_index(start, len(rows), gap=True)
    _check_index(end, len(rows), gap=True)
    if start > end:
        raise ReqlQueryLogicError(f"Start index `{start}` is greater than end index `{end}`.")
    del rows[start:end]
    return rows


@operation("CHANGE_AT", 3)
def change_at(ctx: Context, term: Term) -> list[Any]:
    rows = _copy(ctx, term.args[0])
    index = _canonical(ctx, term.args[1], len(rows))
    value = ctx.datum(term.args[2])
    _check_index(index, len(rows))
    rows[index] = value
    return rows


# ---------------------------------------------------------------- sets: first occurrences, in order


def _unique(rows: list[Any], seen: set[bytes]) -> list[Any]:
    """The rows not in `seen`, each once; `seen` gains them."""
    out = []
    for row in rows:
        key = keys.encode(row)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


@operation("SET_INSERT", 2)
def set_insert(ctx: Context, term: Term) -> list[Any]:
    rows, value = ctx.array(term.args[0]), ctx.datum(term.args[1])
    seen: set[bytes] = set()
    return ctx.check_array(_unique(rows, seen) + _unique([value], seen))


@operation("SET_UNION", 2)
def set_union(ctx: Context, term: Term) -> list[Any]:
    left, right = ctx.array(term.args[0]), ctx.array(term.args[1])
    seen: set[bytes] = set()
    return ctx.check_array(_unique(left, seen) + _unique(right, seen))


@operation("SET_INTERSECTION", 2)
def set_intersection(ctx: Context, term: Term) -> list[Any]:
    left, right = ctx.array(term.args[0]), ctx.array(term.args[1])
    # RethinkDB walks the second array, so the result keeps its order.
    wanted = {keys.encode(row) for row in left}
    seen = {keys.encode(row) for row in right} - wanted
    return ctx.check_array(_unique(right, seen))


@operation("SET_DIFFERENCE", 2)
def set_difference(ctx: Context, term: Term) -> list[Any]:
    left, right = ctx.array(term.args[0]), ctx.array(term.args[1])
    return ctx.check_array(_unique(left, {keys.encode(row) for row in right}))


@operation("DIFFERENCE", 2)
def difference(ctx: Context, term: Term) -> Sequence:
    # RethinkDB's rewrite: filter(lambda row: not other.contains(row)), which keeps duplicates and selections.
    seq = ctx.sequence(term.args[0])
    other = ctx.sequence(term.args[1])
    check_finite(other)
    excluded = {keys.encode(row) for row in other}

    def kept(rows: Any) -> Iterator[Any]:
        return (row for row in rows if keys.encode(row) not in excluded)

    if isinstance(seq, ArraySelection):
        return ArraySelection(seq.table, list(kept(seq.rows)))
    if isinstance(seq, list):
        return list(kept(seq))
    if isinstance(seq, Selection):
        return Selection(seq.table, lambda: kept(seq))
    return Stream(lambda: kept(seq), infinite=seq.infinite)


# ---------------------------------------------------------------- offsets_of, sample, zip


@operation("OFFSETS_OF", 2)
def offsets_of(ctx: Context, term: Term) -> Sequence:
    # RethinkDB reads the value (or predicate) before the sequence.
    wanted = ctx.eval(term.args[1])
    test = _predicate(ctx, wanted) if isinstance(wanted, Func) else _equal_to(ctx.as_datum(wanted))
    seq = ctx.sequence(term.args[0])

    def offsets() -> Iterator[int]:
        return (offset for offset, row in enumerate(seq) if test(row))

    if isinstance(seq, list):
        return list(offsets())
    return Stream(offsets, infinite=seq.infinite)


def _predicate(ctx: Context, func: Func) -> Callable[[Any], bool]:
    return lambda row: datums.truthy(ctx.as_datum(func(ctx, row)))


def _equal_to(value: Any) -> Callable[[Any], bool]:
    return lambda row: datums.equal(row, value)


@operation("SAMPLE", 2)
def sample(ctx: Context, term: Term) -> Sequence:
    count = ctx.integer(term.args[1])
    if count < 0:
        raise ReqlQueryLogicError(f"Number of items to sample must be non-negative, got `{count}`.")
    seq = ctx.sequence(term.args[0])
    check_finite(seq)
    chosen = ctx.check_array(_reservoir(seq, count))
    random.shuffle(chosen)
    if isinstance(seq, Selection):
        return ArraySelection(seq.table, chosen)
    return chosen


def _reservoir(rows: Sequence, count: int) -> list[Any]:
    """A uniform sample of `count` rows (all of them when there are fewer), reading the rows once."""
    chosen: list[Any] = []
    for seen, row in enumerate(rows, start=1):
        if len(chosen) < count:
            chosen.append(row)
        else:
            slot = random.randrange(seen)
            if slot < count:
                chosen[slot] = row
    return chosen


@operation("ZIP", 1)
def zip_term(ctx: Context, term: Term) -> Sequence:
    seq = ctx.sequence(term.args[0])
    if isinstance(seq, ArraySelection):
        seq = seq.rows
    if isinstance(seq, list):
        return [_zipped(row) for row in seq]
    return Stream(lambda: (_zipped(row) for row in seq), infinite=seq.infinite)


def _zipped(row: Any) -> Any:
    if not isinstance(row, dict):
        raise type_error("OBJECT", row)
    if "left" not in row:
        raise ReqlQueryLogicError("ZIP can only be called on the result of a join.")
    return datums.merge(row["left"], row["right"]) if "right" in row else row["left"]
