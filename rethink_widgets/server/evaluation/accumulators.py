"""Accumulators: a reduction (count, sum, avg, min, max, reduce) fed one row at a time, so that a sequence, or each
group of a grouped stream (see `grouping`), is reduced as it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rethink_widgets.server.errors import ReqlNonExistenceError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.values import Func

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
        self.acc = row if self.acc is _SKIPPED else self.ctx.as_datum(self.func(self.ctx, self.acc, row))
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
