"""Objects and fields: bracket, get_field, pluck, without, merge, has_fields, with_fields, keys, values, r.object.
On sequences these work row by row, lazily for streams. And r.literal, which only merge and update accept (see
`literals`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, integral
from rethink_widgets.server.evaluation.fields import check_object, field_of
from rethink_widgets.server.evaluation.literals import (
    array_allowing_literals,
    call_allowing_literals,
    eval_allowing_literals,
    whole_patch,
)
from rethink_widgets.server.evaluation.pseudotypes import STRAY
from rethink_widgets.server.evaluation.rows import Sequence, expand_rows, filter_rows, map_rows, nth_of
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Func, SingleSelection, Stream

Selector = dict[str, Any]  # field -> True (the whole field) or a nested selector
ObjectFn = Callable[[dict[str, Any]], Any]
RowsFn = Callable[[Context, Sequence, Callable[[Any], Any]], Any]


def _on_object_or_rows(ctx: Context, value: Any, term_name: str, on_object: ObjectFn, over_rows: RowsFn) -> Any:
    """Apply a per-object operation to an object, or (through `over_rows`) to each row of a sequence.

    Each row is treated as the operation on that row alone would treat it, except that a row which is itself an
    array is refused rather than descended into.
    """
    if isinstance(value, SingleSelection):
        value = value.doc
    if not isinstance(value, Stream):
        value = ctx.as_datum(value)
    if not isinstance(value, (list, Stream)):
        return on_object(check_object(value, term_name))

    def on_row(row: Any) -> Any:
        if isinstance(row, list):
            raise ReqlQueryLogicError(f"Cannot perform {term_name} on a sequence of sequences.")
        return on_object(check_object(row, term_name))

    return over_rows(ctx, value, on_row)


def _mapped(ctx: Context, seq: Sequence, fn: Callable[[Any], Any]) -> Sequence:
    return map_rows(ctx, seq.rows if isinstance(seq, ArraySelection) else seq, fn)


def _kept(ctx: Context, seq: Sequence, test: Callable[[Any], Any]) -> Sequence:
    def keep(row: Any) -> bool:
        try:
            return bool(test(row))
        except ReqlNonExistenceError:
            return False  # as in filter, a row the test cannot read is left out

    return filter_rows(ctx, seq, keep)


def _present(ctx: Context, seq: Sequence, fn: Callable[[Any], Any]) -> Sequence:
    def found(row: Any) -> list[Any]:
        try:
            return [fn(row)]
        except ReqlNonExistenceError:
            return []  # rows without the field (or null rows) are left out

    return expand_rows(ctx, seq, found)


@operation("GET_FIELD", 2)
def get_field_term(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    field = ctx.string(term.args[1])
    return _on_object_or_rows(ctx, value, "get_field", lambda obj: field_of(obj, field), _present)


@operation("BRACKET", 2)
def bracket(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    key = ctx.datum(term.args[1])
    if datums.is_number(key):  # RethinkDB's nth: the value must be a sequence
        return nth_of(ctx, ctx.as_sequence(value), integral(key))
    if not isinstance(key, str):
        raise ReqlQueryLogicError(
            f"Expected NUMBER or STRING as second argument to `bracket` but found {datums.type_name(key)}."
        )
    return _on_object_or_rows(ctx, value, "bracket", lambda obj: field_of(obj, key), _present)


# ---------------------------------------------------------------- selectors: pluck, without, has_fields


def selector(ctx: Context, values: list[Any]) -> Selector:
    """Merge pluck-style arguments ('a', ['a', 'b'], {'a': {'b': True}}) into one selector tree."""
    out: Selector = {}
    for value in values:
        _add_path(out, value)
    return out


def _add_path(out: Selector, value: Any) -> None:
    if isinstance(value, str):
        out[value] = True
    elif isinstance(value, list):
        for item in value:
            _add_path(out, item)
    elif isinstance(value, dict) and value.get(datums.PTYPE) != "BINARY":
        # RethinkDB reads every object as paths in key order, a time's too: its first member that is not a path
        # (`false` included) is the invalid one.
        for key in sorted(value):
            sub = value[key]
            if sub is True:
                out[key] = True
            else:
                nested = out.get(key)
                nested = nested if isinstance(nested, dict) else {}
                _add_path(nested, sub)
                out[key] = nested
    elif isinstance(value, keys.Bound):
        raise ReqlQueryLogicError(f"Cannot convert `r.{value.name}` to JSON.")
    else:
        raise ReqlQueryLogicError(f"Invalid path argument `{datums.printed(value)}`.")


def pluck(row: Any, paths: Selector) -> Any:
    if isinstance(row, list):
        return [pluck(item, paths) for item in row]
    if not datums.is_object(row):
        return row
    out = {}
    for key, sub in paths.items():
        if key not in row:
            continue
        if sub is True:
            out[key] = row[key]
        elif datums.is_object(row[key]) or isinstance(row[key], list):
            out[key] = pluck(row[key], sub)  # a nested selector keeps nothing of a value it cannot descend into
    return out


def without(row: Any, paths: Selector) -> Any:
    if isinstance(row, list):
        return [without(item, paths) for item in row]
    if not datums.is_object(row):
        return row
    out = dict(row)
    for key, sub in paths.items():
        if key in out:
            if sub is True:
                del out[key]
            else:
                out[key] = without(out[key], sub)
    return out


def has_fields(row: Any, paths: Selector) -> bool:
    if not datums.is_object(row):
        return False
    for key, sub in paths.items():
        if row.get(key) is None:
            return False
        if sub is not True and not (
            has_fields(row[key], sub) if not isinstance(row[key], list) else all(has_fields(i, sub) for i in row[key])
        ):
            return False
    return True


def _selector_args(ctx: Context, term: Term) -> Selector:
    return selector(ctx, [ctx.datum(node) for node in term.args[1:]])


@operation("PLUCK", (1, VARIADIC))
def pluck_term(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    return _on_object_or_rows(ctx, ctx.eval(term.args[0]), "pluck", lambda obj: pluck(obj, paths), _mapped)


@operation("WITHOUT", (1, VARIADIC))
def without_term(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    return _on_object_or_rows(ctx, ctx.eval(term.args[0]), "without", lambda obj: without(obj, paths), _mapped)


@operation("HAS_FIELDS", (1, VARIADIC))
def has_fields_term(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    return _on_object_or_rows(ctx, ctx.eval(term.args[0]), "has_fields", lambda obj: has_fields(obj, paths), _kept)


@operation("WITH_FIELDS", (1, VARIADIC))
def with_fields(ctx: Context, term: Term) -> Any:
    # RethinkDB's rewrite: has_fields, then pluck.
    paths = _selector_args(ctx, term)
    kept = _on_object_or_rows(ctx, ctx.eval(term.args[0]), "has_fields", lambda obj: has_fields(obj, paths), _kept)
    return _on_object_or_rows(ctx, kept, "pluck", lambda obj: pluck(obj, paths), _mapped)


# ---------------------------------------------------------------- merge


@operation("MERGE", (1, VARIADIC), args_reader=array_allowing_literals)
def merge(ctx: Context, term: Term) -> Any:
    patches = [eval_allowing_literals(ctx, node) for node in term.args[1:]]

    def merged(obj: dict[str, Any]) -> Any:
        result: Any = obj
        for patch in patches:
            value = call_allowing_literals(ctx, patch, obj) if isinstance(patch, Func) else patch
            result = datums.merge(result, _mergeable(ctx.as_datum(value)))
        return result

    return _on_object_or_rows(ctx, ctx.eval(term.args[0]), "merge", merged, _mapped)


@operation("LITERAL", (0, 1))
def literal(ctx: Context, term: Term) -> Any:
    raise ReqlQueryLogicError(STRAY)  # where r.literal may stand, `literals` evaluates it instead


def _mergeable(value: Any) -> Any:
    # A literal (as r.json reads one) is let through, for `whole_patch` to refuse as a stray one.
    if isinstance(value, dict) and datums.PTYPE in value and value[datums.PTYPE] != "LITERAL":
        raise ReqlQueryLogicError(f"Cannot merge objects of type `{datums.type_name(value)}`.")
    return whole_patch(value)


def _keyed(value: Any, term_name: str) -> dict[str, Any]:
    """A plain object for keys and values: anything else, a null or a pseudo-type too, is refused by type name."""
    if not datums.is_object(value):
        raise ReqlQueryLogicError(f"Cannot call `{term_name}` on objects of type `{datums.type_name(value)}`.")
    return value


@operation("KEYS", 1)
def keys_term(ctx: Context, term: Term) -> list[str]:
    return sorted(_keyed(ctx.datum(term.args[0]), "keys"))


@operation("VALUES", 1)
def values_term(ctx: Context, term: Term) -> list[Any]:
    value = _keyed(ctx.datum(term.args[0]), "values")
    return [value[key] for key in sorted(value)]


@operation("OBJECT", (0, VARIADIC))
def object_term(ctx: Context, term: Term) -> dict[str, Any]:
    if len(term.args) % 2:
        raise ReqlQueryLogicError(f"OBJECT expects an even number of arguments (but found {len(term.args)}).")
    out: dict[str, Any] = {}
    for key_node, value_node in zip(term.args[::2], term.args[1::2], strict=True):
        key, value = ctx.string(key_node), ctx.datum(value_node)
        if key in out:
            raise ReqlQueryLogicError(
                f"Duplicate key {datums.printed(key)} in object.  (got {datums.truncated(out[key])} and "
                f"{datums.truncated(value)} as values)"
            )
        out[key] = value
    return out
