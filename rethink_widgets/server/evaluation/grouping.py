"""Grouping: group and ungroup, and how the terms after a group run on each group.

`group` gives a GROUPED_STREAM: the rows of a sequence with their groups, read lazily. As in RethinkDB, the row-wise
terms after it (map, filter, pluck ...) apply to each row, and the reductions (count, sum, avg, min, max, reduce) keep
one accumulator per group, so grouping a large table holds one value per group, not its rows. Any other term gathers
each group's rows into an array and runs once per group (see `GroupedStream.run_per_group`, which `terms.Term.eval`
calls for the terms whose first argument may be grouped).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError, ReqlResourceLimitError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.accumulators import Accumulator, Best, Count, Reduce, Sum, empty_message
from rethink_widgets.server.evaluation.context import Context, check_finite
from rethink_widgets.server.evaluation.fields import get_field, key_function
from rethink_widgets.server.evaluation.rows import as_predicate
from rethink_widgets.server.evaluation.tables import as_table
from rethink_widgets.server.evaluation.terms import VARIADIC, Node, Term, operation
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    Func,
    Grouped,
    RowStep,
    Selection,
    Stream,
    TableSlice,
    category,
    require_index,
)

Pair = tuple[bytes, Any, Any]  # (encoded group, group, row)


class GroupedStream(Grouped):
    """GROUPED_STREAM: (group, row) pairs read lazily from a sequence, a row once per group it belongs to."""

    type_name = "GROUPED_STREAM"

    def __init__(self, ctx: Context, pairs: Callable[[], Iterator[Pair]]) -> None:
        super().__init__()
        self.ctx = ctx
        self.pairs = pairs

    def then(self, step: RowStep) -> GroupedStream:
        """The rows after a row-wise step, each still in its groups."""

        def pairs() -> Iterator[Pair]:
            for encoded, group, row in self.pairs():
                for out in step.apply(row):
                    interrupts.check()
                    yield encoded, group, out

        return GroupedStream(self.ctx, pairs)

    def reduce(self, start: Callable[[], Accumulator[Any]]) -> Grouped:
        """One accumulator per group; a group that no row reached (all skipped) is left out, as in RethinkDB."""
        found: dict[bytes, tuple[Any, Accumulator[Any]]] = {}
        for encoded, group, row in self.pairs():
            entry = found.get(encoded)
            if entry is not None:
                entry[1].add(row)
                continue
            acc = start()
            if acc.add(row):
                found[encoded] = (group, acc)
                if len(found) > self.ctx.array_limit:
                    raise ReqlResourceLimitError(f"Too many groups (> {self.ctx.array_limit}).")
        return Grouped({encoded: (group, acc.result()) for encoded, (group, acc) in found.items()})

    def counts(self) -> Grouped:
        """`count()` of each group: `reduce` with a `Count`, less its calls per row (the most usual reduction)."""
        found: dict[bytes, list[Any]] = {}
        for encoded, group, _row in self.pairs():
            entry = found.get(encoded)
            if entry is not None:
                entry[1] += 1
                continue
            found[encoded] = [group, 1]
            if len(found) > self.ctx.array_limit:
                raise ReqlResourceLimitError(f"Too many groups (> {self.ctx.array_limit}).")
        return Grouped({encoded: (group, count) for encoded, (group, count) in found.items()})

    def items(self) -> list[tuple[Any, Any]]:
        """Each group with its rows as an array; the rows of all groups together count against `array_limit`."""
        limit = self.ctx.array_limit
        total = itertools.count(1)
        grouped = self.reduce(lambda: _Rows(total, limit))
        return grouped.items()

    def run_per_group(self, ctx: Context, term: Term, at: int) -> Grouped:
        """A reduction keeps one accumulator per group and a row-wise term applies to each row, both as the rows are
        read; any other term runs on each group's rows gathered into an array."""
        if term.name == "COUNT" and len(term.args) == 1 and not term.optargs:
            return self.counts()
        start = _grouped_reduction(ctx, term)
        if start is not None:
            return self.reduce(start)
        step = _row_step(ctx, term) if term.name in ROW_WISE else None
        if step is not None:
            return self.then(step)
        return super().run_per_group(ctx, term, at)


class _Rows(Accumulator[list[Any]]):
    """A group's rows as an array, all groups' rows together held to `array_limit`."""

    def __init__(self, total: Iterator[int], limit: int) -> None:
        self.rows: list[Any] = []
        self.total, self.limit = total, limit

    def add(self, row: Any) -> bool:
        self.rows.append(row)
        if next(self.total) > self.limit:
            raise ReqlResourceLimitError(
                f"Grouped data over size limit `{self.limit}`.  "
                "Try putting a reduction (like `.reduce` or `.count`) on the end."
            )
        return True

    def result(self) -> list[Any]:
        return self.rows


# ---------------------------------------------------------------- terms applied per group

# Terms RethinkDB applies to each row of a grouped stream, keeping it grouped and lazy.
ROW_WISE = frozenset({
    "MAP", "FILTER", "CONCAT_MAP", "PLUCK", "WITHOUT", "MERGE", "HAS_FIELDS", "WITH_FIELDS", "GET_FIELD", "BRACKET",
    "ZIP",
})  # fmt: skip


class _NotRowWise(Exception):  # control flow only: never reaches a client
    """The term read its sequence (count, nth ...) instead of deriving a step per row."""


def _refuse_rows() -> Iterator[Any]:
    raise _NotRowWise


def _row_step(ctx: Context, term: Term) -> RowStep | None:
    """The per-row step `term` makes of a sequence, found by running it on a stand-in that may not be read."""
    probe = Stream(_refuse_rows)
    try:
        result = term.run_on(ctx, 0, probe)
    except _NotRowWise:
        return None
    if isinstance(result, Stream) and result.origin is not None and result.origin[0] is probe:
        step = result.origin[1]
        return step if isinstance(step, RowStep) else None
    return None


def _grouped_reduction(ctx: Context, term: Term) -> Callable[[], Accumulator[Any]] | None:
    """How `term` reduces each group, for the reductions RethinkDB runs on a grouped stream as it reads it."""
    if "index" in term.optargs:
        return None
    name = term.name
    if name == "COUNT":
        test = _count_test(ctx, term.args[1]) if len(term.args) > 1 else None
        return lambda: Count(test)
    if name in ("SUM", "AVG"):
        key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
        return lambda: Sum(key, name == "AVG")
    if name in ("MIN", "MAX"):
        key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
        noun = name.lower()
        return lambda: Best(key, name == "MAX", empty_message(noun, noun))
    if name == "REDUCE":
        func = ctx.func(term.args[1])
        return lambda: Reduce(ctx, func)
    return None


def _count_test(ctx: Context, node: Node) -> Callable[[Any], bool]:
    matcher = ctx.eval(node)
    if isinstance(matcher, Func):
        return as_predicate(ctx, matcher)
    expected = ctx.as_datum(matcher)
    return lambda row: datums.equal(row, expected)


# ---------------------------------------------------------------- group and ungroup


@operation("GROUP", (1, VARIADIC), optargs=("index", "multi"))
def group(ctx: Context, term: Term) -> GroupedStream:
    functions = [_group_function(ctx, node) for node in term.args[1:]]
    entries, rows = _entries(ctx, term, functions)
    by_index = rows is None
    if not functions and not by_index:
        raise ReqlQueryLogicError("Cannot group by nothing.")
    multi = ctx.boolean(term.optargs["multi"]) if "multi" in term.optargs else False
    # Rows have few distinct groups: each one's encoding is made once.
    encode = keys.remembering_encoder()

    def pairs() -> Iterator[Pair]:
        for row, appended in entries():
            values = [_group_value(fn, row) for fn in functions]
            values.extend(appended)
            for key in _group_keys(values, multi):
                interrupts.check()  # (one row may make many pairs)
                yield encode(key), key, row

    def by_one_function(rows: Callable[[], Iterable[Any]]) -> Iterator[Pair]:
        # The usual `group(field)` or `group(function)`: one group per row, read with nothing else per row.
        (fn,) = functions
        field = fn.name if isinstance(fn, _Field) else None
        for row in rows():
            if field is not None and type(row) is dict and datums.PTYPE not in row:
                key = row.get(field)  # (as `_Field`, without a call per row)
            else:
                try:
                    key = fn(row)
                except ReqlNonExistenceError:
                    key = None  # (as `_group_value`)
            yield encode(key), key, row

    if rows is not None and len(functions) == 1 and not multi:
        return GroupedStream(ctx, functools.partial(by_one_function, rows))
    return GroupedStream(ctx, pairs)


def _entries(
    ctx: Context, term: Term, functions: list[Callable[[Any], Any]]
) -> tuple[Callable[[], Iterator[tuple[Any, list[Any]]]], Callable[[], Iterable[Any]] | None]:
    """The rows to group, each with the index value it is grouped by (if any); and the plain rows when no index
    groups them (None when one does)."""
    if "index" not in term.optargs:
        seq = ctx.sequence(term.args[0])

        def rows() -> Iterable[Any]:
            check_finite(seq)
            if isinstance(seq, Selection) and not isinstance(seq, ArraySelection):
                return seq  # read from storage, with a check point per row already
            return _checked(seq)

        return (lambda: ((row, []) for row in rows())), rows
    index = ctx.string(term.optargs["index"])
    table = as_table(ctx, term.args[0])
    if index == table.primary_key:
        functions.append(lambda row: get_field(row, index))
        return lambda: ((row, []) for row in table), None
    require_index(table.info, index)
    ordered = TableSlice(table, index, descending=False)
    return lambda: ((doc, [value]) for value, doc in ordered.entries()), None


def _checked(rows: Iterable[Any]) -> Iterator[Any]:
    for row in rows:
        interrupts.check()
        yield row


def _group_function(ctx: Context, node: Node) -> Callable[[Any], Any]:
    """A field name or a function; any other value groups every row under itself."""
    value = ctx.eval(node)
    if isinstance(value, Func):
        return lambda row: ctx.as_datum(value(ctx, row))
    value = ctx.as_datum(value)
    if isinstance(value, str):
        return _Field(value)
    return lambda _row: value


class _Field:
    """A field's value, the group of a row; a row without the field is grouped under null."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, row: Any) -> Any:
        if type(row) is dict and datums.PTYPE not in row:
            return row.get(self.name)
        return get_field(row, self.name)


def _group_value(fn: Callable[[Any], Any], row: Any) -> Any:
    try:
        return fn(row)
    except ReqlNonExistenceError:
        return None  # a row without the field is grouped under null


def _group_keys(values: list[Any], multi: bool) -> Iterable[Any]:
    """The groups of one row: with `multi`, every combination of the elements of array values (null for [])."""
    if not multi:
        return [values[0] if len(values) == 1 else values]
    choices = [(v or [None]) if isinstance(v, list) else [v] for v in values]
    return (combo[0] if len(combo) == 1 else list(combo) for combo in itertools.product(*choices))


@operation("UNGROUP", 1)
def ungroup(ctx: Context, term: Term) -> list[Any]:
    value = ctx.eval(term.args[0])
    if not isinstance(value, Grouped):
        raise ReqlQueryLogicError(f"Expected type GROUPED_DATA but found {category(value)}:")
    return ctx.check_array([{"group": group, "reduction": reduction} for group, reduction in value.items()])
