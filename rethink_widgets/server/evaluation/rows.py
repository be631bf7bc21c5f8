"""Sequences row by row: map, filter and expand (lazy on streams, eager on arrays), row tests, and the nth row.

A stream a row-wise step makes keeps that step as its `origin`, so that `changes()` can apply it to each change and a
grouped stream to each row of each group; a selection filtered stays a selection of its table, so writes can follow.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.terms import Datum, Term
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    Func,
    RowStep,
    Selection,
    SingleSelection,
    Step,
    StepKind,
    Stream,
)

Sequence = Stream | list[Any]


def map_rows(ctx: Context, seq: Sequence, fn: Callable[[Any], Any], *, deterministic: bool = True) -> Sequence:
    """Apply `fn` to every row, lazily for streams."""
    if isinstance(seq, list):
        return [fn(row) for row in seq]
    step = RowStep(lambda row: [fn(row)], deterministic)
    return Stream(lambda: (fn(row) for row in seq), infinite=seq.infinite, origin=(seq, step))


def filter_rows(ctx: Context, seq: Sequence, keep: Callable[[Any], bool], *, deterministic: bool = True) -> Sequence:
    """Keep the rows `keep` accepts; a selection stays a selection."""
    if isinstance(seq, ArraySelection):
        return ArraySelection(seq.table, [row for row in seq.rows if keep(row)])
    if isinstance(seq, list):
        return [row for row in seq if keep(row)]
    step = RowStep(lambda row: [row] if keep(row) else [], deterministic, "filter")
    return derived(seq, lambda: (row for row in seq if keep(row)), step)


def derived(seq: Stream, source: Callable[[], Iterator[Any]], step: Step | None = None) -> Stream:
    """A stream built from `seq` that keeps its kind: rows of a selection are still documents of its table."""
    origin = (seq, step) if step is not None else None
    if isinstance(seq, Selection):
        return Selection(seq.table, source, origin)
    return Stream(source, infinite=seq.infinite, origin=origin)


def as_predicate(ctx: Context, value: Any) -> Callable[[Any], bool]:
    """A function, an object pattern, or a constant, as a test of one row.

    A function whose body is an object is a pattern too: `filter({'a': r.row['b']})` arrives as one. Other functions
    are tests even when they return objects (such as `match` results), as in RethinkDB.
    """
    if isinstance(value, Func):
        body = value.body
        pattern = isinstance(body, Datum) or (isinstance(body, Term) and body.name == "MAKE_OBJ")

        def test(row: Any) -> bool:
            result = ctx.as_datum(value(ctx, row))
            return _matches(row, result) if pattern and datums.is_object(result) else datums.truthy(result)

        return test
    value = ctx.as_datum(value)
    if datums.is_object(value) or isinstance(value, datums.Literal):
        return lambda row: _matches(row, value)
    return lambda _row: datums.truthy(value)


def _matches(row: Any, pattern: dict[str, Any] | datums.Literal) -> bool:
    if isinstance(pattern, datums.Literal):
        return datums.equal(row, pattern.value)  # a literal asks for exactly this value, not a sub-object
    if not datums.is_object(row):
        raise ReqlQueryLogicError(f"Cannot perform get_field on a non-object non-sequence `{datums.truncated(row)}`.")
    for key, expected in pattern.items():
        if key not in row:
            raise ReqlNonExistenceError(f"No attribute `{key}` in object:\n{datums.printed(row)}")
        actual = row[key]
        if isinstance(expected, datums.Literal) or (datums.is_object(expected) and datums.is_object(actual)):
            if not _matches(actual, expected):
                return False
        elif not datums.equal(actual, expected):
            return False
    return True


def expand_rows(
    ctx: Context,
    seq: Sequence,
    fn: Callable[[Any], Iterable[Any]],
    *,
    deterministic: bool = True,
    kind: StepKind = "map",
) -> Sequence:
    """Replace every row by the rows `fn` gives for it (none, one or more), lazily for streams; `kind` is
    "concat_map" when a row may give more than one."""
    if isinstance(seq, list):
        return ctx.to_array(itertools.chain.from_iterable(fn(row) for row in seq))
    step = RowStep(lambda row: list(fn(row)), deterministic, kind)
    rows = lambda: itertools.chain.from_iterable(fn(row) for row in seq)  # noqa: E731
    return Stream(rows, infinite=seq.infinite, origin=(seq, step))


def nth_of(ctx: Context, seq: Sequence, index: int) -> Any:
    """The row at `index` (nth and bracket): RethinkDB reads the index as a 32-bit integer."""
    if not -_INT32 <= index < _INT32:
        raise ReqlQueryLogicError(f"Integer too large: {index}")
    if isinstance(seq, Stream) and not isinstance(seq, ArraySelection) and index < -1:
        raise ReqlQueryLogicError(f"Cannot use an index < -1 ({index}) on a stream.")
    if isinstance(seq, Stream) and index >= 0:
        row: Any = next(itertools.islice(seq, index, None), _MISSING)
        if row is _MISSING:
            raise ReqlNonExistenceError(f"Index out of bounds: {index}")
    else:
        rows = seq if isinstance(seq, list) else ctx.to_array(seq)
        if not -len(rows) <= index < len(rows):
            raise ReqlNonExistenceError(f"Index out of bounds: {index}")
        row = rows[index]
    if isinstance(seq, (Selection, ArraySelection)):
        return SingleSelection(seq.table, row[seq.table.primary_key], row)
    return row


_MISSING = object()
_INT32 = 2**31
