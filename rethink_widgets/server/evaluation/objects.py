"""Objects and fields: bracket, get_field, pluck, without, merge, has_fields, with_fields, keys, values, literal,
r.object. On sequences these work row by row, lazily for streams.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.sequences import filter_rows, map_rows, nth_of
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Func, SingleSelection, Stream

Selector = dict[str, Any]  # field -> True (the whole field) or a nested selector


def get_field(value: Any, field: str, term_name: str = "bracket") -> Any:
    if not datums.is_object(value):
        # A field of null is missing rather than wrong, so `default` (and filter) can catch it.
        cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
        raise cls(f"Cannot perform {term_name} on a non-object non-sequence `{datums.dumps(datums.to_wire(value))}`.")
    if field not in value:
        raise ReqlNonExistenceError(f"No attribute `{field}` in object:\n{datums.printed(value)}")
    return value[field]


def _on_rows(ctx: Context, value: Any, term_name: str, row_fn: Any) -> Any:
    """Apply a per-object operation to an object, or to each object of a sequence."""
    if isinstance(value, SingleSelection):
        value = value.doc
    if isinstance(value, (Stream, ArraySelection)):
        return map_rows(ctx, value if isinstance(value, Stream) else value.rows, row_fn)
    value = ctx.as_datum(value)
    if isinstance(value, list):
        return [row_fn(row) for row in value]
    if not datums.is_object(value):
        raise ReqlQueryLogicError(
            f"Cannot perform {term_name} on a non-object non-sequence `{datums.dumps(datums.to_wire(value))}`."
        )
    return row_fn(value)


def _pluck_field(field: str) -> Any:
    def pick(row: Any) -> Any:
        return get_field(row, field)

    return pick


@operation("GET_FIELD", 2)
def get_field_term(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    field = ctx.string(term.args[1])
    return _field_of(ctx, value, field, "get_field")


def _field_of(ctx: Context, value: Any, field: str, term_name: str) -> Any:
    if isinstance(value, (Stream, ArraySelection, list)) or (
        not isinstance(value, (Stream, SingleSelection)) and isinstance(ctx.as_datum(value), list)
    ):
        seq = value if isinstance(value, Stream) else ctx.as_datum(value)
        # Rows without the field are skipped, as RethinkDB does when plucking a field from a sequence.
        rows = filter_rows(ctx, seq, lambda row: datums.is_object(row) and field in row)
        return map_rows(ctx, rows, lambda row: row[field])
    return get_field(ctx.as_datum(value), field, term_name)


@operation("BRACKET", 2)
def bracket(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    key = ctx.datum(term.args[1])
    if datums.is_number(key):
        seq = value if isinstance(value, Stream) else ctx.as_datum(value)
        if isinstance(value, ArraySelection):
            seq = value
        if not isinstance(seq, (list, Stream)):
            raise ReqlQueryLogicError(
                f"Cannot perform bracket on a non-object non-sequence `{datums.dumps(datums.to_wire(seq))}`."
            )
        if isinstance(key, float) and not key.is_integer():
            raise ReqlQueryLogicError(f"Number not an integer: {datums.printed(key)}")
        return nth_of(ctx, seq, int(key))
    if not isinstance(key, str):
        raise ReqlQueryLogicError(
            f"Expected NUMBER or STRING as second argument to `bracket` but found {datums.type_name(key)}."
        )
    return _field_of(ctx, value, key, "bracket")


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
    elif datums.is_object(value):
        for key, sub in value.items():
            if sub is True:
                out[key] = True
            elif sub is False:
                continue
            else:
                nested = out.get(key)
                nested = nested if isinstance(nested, dict) else {}
                _add_path(nested, sub)
                out[key] = nested
    else:
        raise ReqlQueryLogicError(f"Invalid path argument `{datums.dumps(datums.to_wire(value))}`.")


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
    return _on_rows(ctx, ctx.eval(term.args[0]), "pluck", lambda row: pluck(row, paths))


@operation("WITHOUT", (1, VARIADIC))
def without_term(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    return _on_rows(ctx, ctx.eval(term.args[0]), "without", lambda row: without(row, paths))


@operation("HAS_FIELDS", (1, VARIADIC))
def has_fields_term(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    value = ctx.eval(term.args[0])
    if isinstance(value, SingleSelection):
        value = value.doc
    if isinstance(value, Stream):
        return filter_rows(ctx, value, lambda row: has_fields(row, paths))
    if isinstance(value, ArraySelection):
        return filter_rows(ctx, value, lambda row: has_fields(row, paths))
    value = ctx.as_datum(value)
    if isinstance(value, list):
        return [row for row in value if has_fields(row, paths)]
    if not datums.is_object(value):
        raise ReqlQueryLogicError(
            f"Cannot perform has_fields on a non-object non-sequence `{datums.dumps(datums.to_wire(value))}`."
        )
    return has_fields(value, paths)


@operation("WITH_FIELDS", (1, VARIADIC))
def with_fields(ctx: Context, term: Term) -> Any:
    paths = _selector_args(ctx, term)
    seq = ctx.sequence(term.args[0])
    kept = filter_rows(ctx, seq, lambda row: has_fields(row, paths))
    return map_rows(ctx, kept if not isinstance(kept, ArraySelection) else kept.rows, lambda row: pluck(row, paths))


# ---------------------------------------------------------------- merge and friends


@operation("MERGE", (1, VARIADIC))
def merge(ctx: Context, term: Term) -> Any:
    patches = [ctx.eval(node) for node in term.args[1:]]

    def merged(row: Any) -> Any:
        result = row
        for patch in patches:
            value = ctx.as_datum(patch(ctx, row)) if isinstance(patch, Func) else ctx.as_datum(patch)
            result = datums.merge(result, value)
        return result

    return _on_rows(ctx, ctx.eval(term.args[0]), "merge", merged)


@operation("LITERAL", (0, 1))
def literal(ctx: Context, term: Term) -> datums.Literal:
    if not term.args:
        return datums.Literal(remove=True)
    return datums.Literal(ctx.datum(term.args[0]))


@operation("KEYS", 1)
def keys_term(ctx: Context, term: Term) -> list[str]:
    value = ctx.datum(term.args[0])
    if not isinstance(value, dict):
        raise type_error("OBJECT", value)
    return sorted(value)


@operation("VALUES", 1)
def values_term(ctx: Context, term: Term) -> list[Any]:
    value = ctx.datum(term.args[0])
    if not isinstance(value, dict):
        raise type_error("OBJECT", value)
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
                f'Duplicate key "{key}" in object.  (got {datums.dumps(datums.to_wire(out[key]))} and '
                f"{datums.dumps(datums.to_wire(value))} as values)"
            )
        out[key] = value
    return out
