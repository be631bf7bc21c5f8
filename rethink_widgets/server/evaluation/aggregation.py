"""Aggregations: group and ungroup, count/sum/avg/min/max/reduce of groups, sum, avg, reduce, fold, min and max.

`group` gives a GROUPED_STREAM: the rows of a sequence with their groups, read lazily. As in RethinkDB, the row-wise
terms after it (map, filter, pluck ...) apply to each row, and the reductions (count, sum, avg, min, max, reduce) keep
one accumulator per group, so grouping a large table holds one value per group, not its rows. Any other term gathers
each group's rows into an array and runs once per group (see `per_group`, which `terms.Term.eval` calls for the terms
whose first argument may be grouped).

With `index=`, `min`/`max` read one row through the index, and remember the one-row ordered slice they read, so that
`changes()` on them is a feed of that slice like `order_by(index=...).limit(1)`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError, ReqlResourceLimitError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, check_finite, type_error
from rethink_widgets.server.evaluation.control import call
from rethink_widgets.server.evaluation.fields import get_field
from rethink_widgets.server.evaluation.ordering import key_function
from rethink_widgets.server.evaluation.schema import require_index
from rethink_widgets.server.evaluation.selections import as_table
from rethink_widgets.server.evaluation.terms import VARIADIC, Datum, Node, Term, operation
from rethink_widgets.server.evaluation.values import (
    Func,
    Grouped,
    LimitStep,
    RowStep,
    SingleSelection,
    Stream,
    Table,
    TableSlice,
    category,
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
                    yield encoded, group, out

        return GroupedStream(self.ctx, pairs)

    def reduce(self, start: Callable[[], Accumulator]) -> Grouped:
        """One accumulator per group; a group that no row reached (all skipped) is left out, as in RethinkDB."""
        found: dict[bytes, tuple[Any, Accumulator]] = {}
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

    def items(self) -> list[tuple[Any, Any]]:
        """Each group with its rows as an array; the rows of all groups together count against `array_limit`."""
        limit = self.ctx.array_limit
        total = itertools.count(1)
        grouped = self.reduce(lambda: _Rows(total, limit))
        return grouped.items()


# ---------------------------------------------------------------- accumulators


class Accumulator:
    """A reduction fed one row at a time; `add` says whether the row took part (rows without a field do not)."""

    def add(self, row: Any) -> bool:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError


class _Rows(Accumulator):
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


class _Count(Accumulator):
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


class _Sum(Accumulator):
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
            raise ReqlNonExistenceError(_empty("average", "avg"))
        return datums.number(self.total / self.count)


class _Best(Accumulator):
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


class _Reduce(Accumulator):
    def __init__(self, ctx: Context, func: Func) -> None:
        self.acc: Any = _SKIPPED
        self.ctx, self.func = ctx, func

    def add(self, row: Any) -> bool:
        self.acc = row if self.acc is _SKIPPED else self.ctx.as_datum(call(self.ctx, self.func, [self.acc, row]))
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


def _empty(noun: str, name: str) -> str:
    return (
        f"Cannot take the {noun} of an empty stream.  (If you passed `{name}` a field name, "
        "it may be that no elements of the stream had that field.)"
    )


def _total(seq: Iterable[Any], acc: Accumulator) -> Any:
    check_finite(seq)
    for row in seq:
        acc.add(row)
    return acc.result()


# ---------------------------------------------------------------- terms applied per group

# Terms RethinkDB applies to each row of a grouped stream, keeping it grouped and lazy.
ROW_WISE = frozenset({
    "MAP", "FILTER", "CONCAT_MAP", "PLUCK", "WITHOUT", "MERGE", "HAS_FIELDS", "WITH_FIELDS", "GET_FIELD", "BRACKET",
    "ZIP",
})  # fmt: skip


def per_group(ctx: Context, term: Term) -> Any:
    """Run `term` once per group when its first argument (FUNCALL: second) is grouped, else as usual."""
    at = 1 if term.name == "FUNCALL" else 0
    value = ctx.eval(term.args[at])
    if isinstance(value, GroupedStream):
        start = _grouped_reduction(ctx, term)
        if start is not None:
            return value.reduce(start)
        step = _row_step(ctx, term) if term.name in ROW_WISE else None
        if step is not None:
            return value.then(step)
    if isinstance(value, Grouped):
        results = {}
        for group, rows in value.items():
            results[keys.encode(group)] = (group, ctx.as_datum(_run_on(ctx, term, at, rows)))
        return Grouped(results)
    return _run_on(ctx, term, at, value)


def _run_on(ctx: Context, term: Term, at: int, value: Any) -> Any:
    """`term` with its argument `at` already evaluated to `value`."""
    args = [*term.args[:at], Datum(value, at), *term.args[at + 1 :]]
    return term.op.fn(ctx, Term(term.op, args, term.optargs, None))


class _NotRowWise(Exception):  # control flow only: never reaches a client
    """The term read its sequence (count, nth ...) instead of deriving a step per row."""


def _refuse_rows() -> Iterator[Any]:
    raise _NotRowWise


def _row_step(ctx: Context, term: Term) -> RowStep | None:
    """The per-row step `term` makes of a sequence, found by running it on a stand-in that may not be read."""
    probe = Stream(_refuse_rows)
    try:
        result = _run_on(ctx, term, 0, probe)
    except _NotRowWise:
        return None
    if isinstance(result, Stream) and result.origin is not None and result.origin[0] is probe:
        step = result.origin[1]
        return step if isinstance(step, RowStep) else None
    return None


def _grouped_reduction(ctx: Context, term: Term) -> Callable[[], Accumulator] | None:
    """How `term` reduces each group, for the reductions RethinkDB runs on a grouped stream as it reads it."""
    if "index" in term.optargs:
        return None
    name = term.name
    if name == "COUNT":
        test = _count_test(ctx, term.args[1]) if len(term.args) > 1 else None
        return lambda: _Count(test)
    if name in ("SUM", "AVG"):
        key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
        return lambda: _Sum(key, name == "AVG")
    if name in ("MIN", "MAX"):
        key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
        noun = name.lower()
        return lambda: _Best(key, name == "MAX", _empty(noun, noun))
    if name == "REDUCE":
        func = ctx.func(term.args[1])
        return lambda: _Reduce(ctx, func)
    return None


def _count_test(ctx: Context, node: Node) -> Callable[[Any], bool]:
    from rethink_widgets.server.evaluation.sequences import as_predicate  # it imports changes, which imports this

    matcher = ctx.eval(node)
    if isinstance(matcher, Func):
        return as_predicate(ctx, matcher)
    expected = ctx.as_datum(matcher)
    return lambda row: datums.equal(row, expected)


# ---------------------------------------------------------------- group and ungroup


@operation("GROUP", (1, VARIADIC), optargs=("index", "multi"))
def group(ctx: Context, term: Term) -> GroupedStream:
    functions = [_group_function(ctx, node) for node in term.args[1:]]
    entries, by_index = _entries(ctx, term, functions)
    if not functions and not by_index:
        raise ReqlQueryLogicError("Cannot group by nothing.")
    multi = ctx.boolean(term.optargs["multi"]) if "multi" in term.optargs else False

    def pairs() -> Iterator[Pair]:
        for row, appended in entries():
            values = [_group_value(fn, row) for fn in functions]
            values.extend(appended)
            for key in _group_keys(values, multi):
                yield keys.encode(key), key, row

    return GroupedStream(ctx, pairs)


def _entries(
    ctx: Context, term: Term, functions: list[Callable[[Any], Any]]
) -> tuple[Callable[[], Iterator[tuple[Any, list[Any]]]], bool]:
    """The rows to group, each with the index value it is grouped by (if any); and whether an index groups them."""
    if "index" not in term.optargs:
        seq = ctx.sequence(term.args[0])

        def rows() -> Iterator[tuple[Any, list[Any]]]:
            check_finite(seq)
            return ((row, []) for row in seq)

        return rows, False
    index = ctx.string(term.optargs["index"])
    table = as_table(ctx, term.args[0])
    if index == table.primary_key:
        functions.append(lambda row: get_field(row, index))
        return lambda: ((row, []) for row in table), True
    require_index(table.info, index)
    ordered = TableSlice(table, index, descending=False)
    return lambda: ((doc, [value]) for value, doc in ordered.entries()), True


def _group_function(ctx: Context, node: Node) -> Callable[[Any], Any]:
    """A field name or a function; any other value groups every row under itself."""
    value = ctx.eval(node)
    if isinstance(value, Func):
        return lambda row: ctx.as_datum(value(ctx, row))
    value = ctx.as_datum(value)
    if isinstance(value, str):
        return lambda row: get_field(row, value)
    return lambda _row: value


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


# ---------------------------------------------------------------- sum, avg, reduce, fold


@operation("SUM", (1, 2), optargs=("index",))
def sum_term(ctx: Context, term: Term) -> int | float:
    return _total(ctx.sequence(term.args[0]), _Sum(_unindexed_key(ctx, term, "sum"), average=False))


@operation("AVG", (1, 2), optargs=("index",))
def avg(ctx: Context, term: Term) -> int | float:
    return _total(ctx.sequence(term.args[0]), _Sum(_unindexed_key(ctx, term, "avg"), average=True))


def _unindexed_key(ctx: Context, term: Term, name: str) -> Callable[[Any], Any] | None:
    key = key_function(ctx, term.args[1]) if len(term.args) > 1 else None
    if "index" in term.optargs:
        if key is not None:
            raise ReqlQueryLogicError(f"Cannot provide both a function and an index to {name}.")
        raise ReqlQueryLogicError(f"Cannot call {name} on an index.")
    return key


@operation("REDUCE", 2, optargs=("base",))
def reduce_term(ctx: Context, term: Term) -> Any:
    seq = ctx.sequence(term.args[0])
    return _total(seq, _Reduce(ctx, ctx.func(term.args[1])))


@operation("FOLD", 3, optargs=("emit", "final_emit"))
def fold(ctx: Context, term: Term) -> Any:
    seq = ctx.sequence(term.args[0])
    base = ctx.datum(term.args[1])
    func = ctx.func(term.args[2])
    emit = ctx.func(term.optargs["emit"]) if "emit" in term.optargs else None
    final = ctx.func(term.optargs["final_emit"]) if "final_emit" in term.optargs else None

    def step(acc: Any, row: Any) -> Any:
        return ctx.as_datum(call(ctx, func, [acc, row]))

    if emit is None:
        check_finite(seq)
        acc = functools.reduce(step, seq, base)
        return ctx.as_datum(call(ctx, final, [acc])) if final is not None else acc

    def rows() -> Iterator[Any]:
        acc = base
        for row in seq:
            new = step(acc, row)
            yield from _emitted(ctx, call(ctx, emit, [acc, row, new]))
            acc = new
        if final is not None:
            yield from _emitted(ctx, call(ctx, final, [acc]))

    if isinstance(seq, list):
        return ctx.to_array(rows())
    return Stream(rows, infinite=seq.infinite)


def _emitted(ctx: Context, value: Any) -> list[Any]:
    value = ctx.as_datum(value)
    if not isinstance(value, list):
        raise type_error("ARRAY", value)
    return value


# ---------------------------------------------------------------- min and max


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
    empty = _empty(name, name)
    if key is None and isinstance(target, Table):
        # RethinkDB reads a whole table's min and max along its primary key.
        key, empty = _primary_key(target), f"`{name}` found no entries in the specified index."
    row = _total(ctx.as_sequence(target), _Best(key, descending, empty))
    if isinstance(target, Table):
        return SingleSelection(target, row[target.primary_key], row)
    return row


def _primary_key(table: Table) -> Callable[[Any], Any]:
    return lambda row: row[table.primary_key]


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
