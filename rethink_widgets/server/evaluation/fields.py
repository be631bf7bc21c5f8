"""Reading a field of an object, with the errors RethinkDB gives for missing fields, pseudo-types and non-objects,
and the keys of rows that terms take as a field name or a function.

Shared by the object terms (get_field, pluck, merge ...) and by the terms that read a key of each row (order_by,
group, min, max, sum, eq_join, union's interleave).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.terms import Node
from rethink_widgets.server.evaluation.values import Func

Key = Callable[[Any], Any]


def non_object_error(term_name: str, value: Any) -> ReqlQueryLogicError:
    # A null stands for something missing, so `default` (and filter, get_field on sequences) can catch it.
    cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
    return cls(f"Cannot perform {term_name} on a non-object non-sequence `{datums.truncated(value)}`.")


def check_object(value: Any, term_name: str) -> dict[str, Any]:
    """`value` as a plain object that `term_name` may work on: times and other pseudo-types are refused."""
    if not isinstance(value, dict):
        raise non_object_error(term_name, value)
    if datums.PTYPE in value:
        raise ReqlQueryLogicError(f"Cannot call `{term_name}` on objects of type `{datums.type_name(value)}`.")
    return value


def field_of(obj: dict[str, Any], field: str) -> Any:
    """A field of a plain object; a missing one is a non-existence error."""
    if field not in obj:
        raise ReqlNonExistenceError(f"No attribute `{field}` in object:\n{datums.printed(obj)}")
    return obj[field]


def get_field(value: Any, field: str, term_name: str = "get_field") -> Any:
    return field_of(check_object(value, term_name), field)


def key_function(ctx: Context, node: Node) -> Key:
    """A field name or a function, as `row -> value`; reading a missing field is a non-existence error."""
    value = ctx.eval(node)
    if isinstance(value, Func):
        return lambda row: ctx.as_datum(value(ctx, row))
    field = ctx.as_datum(value)
    if not isinstance(field, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(field)}.")
    return lambda row: get_field(row, field)
