"""ReQL datums as Python values: type names, equality and order, number rules, wire form and printing.

A datum is None, bool, int, float, str, list or dict; TIME and BINARY stay dicts tagged with `$reql_type$`.
Python's own `==` is wrong for datums (True == 1), so equality and order go through `keys.encode`.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeGuard

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import json_writer

PTYPE = "$reql_type$"
# Integers beyond this lose precision as doubles, which is all RethinkDB has.
EXACT_INT = 2**53
_NUMBERS = frozenset({int, float})
# Datums of these types differ when their types do (an object of another type differs too, unless pseudo-types).
_PLAIN_KINDS = frozenset({str, int, float, bool, type(None), list})
# Datums whose wire form is themselves.
_AS_THEY_ARE = frozenset({str, int, bool, type(None)})


def type_name(value: Any) -> str:
    """RethinkDB's name for a datum's type, as in `type_of` and error messages."""
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "BOOL"
    if isinstance(value, (int, float)):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, list):
        return "ARRAY"
    if isinstance(value, dict):
        ptype = value.get(PTYPE)
        return f"PTYPE<{ptype}>" if isinstance(ptype, str) else "OBJECT"
    if isinstance(value, keys.Bound):
        return value.name.upper()  # MINVAL, MAXVAL
    raise TypeError(f"not a datum: {type(value).__name__}")


def truthy(value: Any) -> bool:
    """Whether a datum counts as true where ReQL tests one (branch, filter, and, or): all but null and false."""
    return value is not None and value is not False


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_object(value: Any) -> TypeGuard[dict[str, Any]]:
    """A plain object, not a pseudo-type."""
    return isinstance(value, dict) and PTYPE not in value


def equal(left: Any, right: Any) -> bool:
    if type(left) is type(right) and type(left) in (str, int):
        return bool(left == right)
    return _equal(left, right)


def _equal(left: Any, right: Any) -> bool:
    """Whether two values are equal in ReQL, as their `keys.encode` are: compared directly where the encoding
    is plain (numbers as doubles, plain objects by their keys and values), else by encoding."""
    kind = type(left)
    if kind is not type(right):
        if kind in _NUMBERS and type(right) in _NUMBERS:
            return float(left) == float(right)
        if kind in _PLAIN_KINDS and type(right) in _PLAIN_KINDS:  # (not both objects, so no pseudo-types)
            return False
    elif kind is str or kind is bool or left is None:
        return bool(left == right)
    elif kind is int or kind is float:
        return float(left) == float(right)
    elif kind is list:
        return len(left) == len(right) and all(map(_equal, left, right))
    elif kind is dict and PTYPE not in left and PTYPE not in right:
        return left.keys() == right.keys() and all(_equal(value, right[key]) for key, value in left.items())
    return keys.encode(left) == keys.encode(right)


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 as ReQL orders the two values."""
    a, b = keys.encode(left), keys.encode(right)
    return (a > b) - (a < b)


def sort_key(value: Any) -> bytes:
    return keys.encode(value)


def number(value: float) -> int | float:
    """Normalize an arithmetic result: finite, integral values as int, large ints as doubles."""
    if isinstance(value, int):
        return value if -EXACT_INT <= value <= EXACT_INT else float(value)
    if not math.isfinite(value):
        raise ReqlQueryLogicError(f"Non-finite number: {_float_text(value)}")
    if value.is_integer() and abs(value) <= EXACT_INT and not (value == 0 and math.copysign(1, value) < 0):
        return int(value)
    return value


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def to_wire(value: Any) -> Any:
    """The datum as written to clients: integral doubles within 2^53 become JSON integers (except -0.0)."""
    kind = type(value)
    if kind in _AS_THEY_ARE:  # (most are)
        return value
    if kind is dict:
        return {key: item if type(item) in _AS_THEY_ARE else to_wire(item) for key, item in value.items()}
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= EXACT_INT and not (value == 0 and math.copysign(1, value) < 0):
            return int(value)
        return value
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


def printed(value: Any) -> str:
    """A datum as RethinkDB prints it inside error messages: one member per line, indented with tabs."""
    return json_writer.printed(value)


def truncated(value: Any) -> str:
    """`printed` cut to 300 bytes, as RethinkDB shows a datum in most error messages."""
    return json_writer.truncated(value)


def dumps(value: Any) -> str:
    """Compact JSON with object keys in order, as RethinkDB writes datums in messages."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=True, default=_not_json
    )


def _not_json(value: Any) -> Any:
    if isinstance(value, keys.Bound):
        raise ReqlQueryLogicError(f"Cannot convert `r.{value.name}` to JSON.")
    raise TypeError(f"not a datum: {type(value).__name__}")


class Literal:
    """`r.literal(value)`: inside merge and update, replace a field wholesale instead of merging into it."""

    __slots__ = ("remove", "value")

    def __init__(self, value: Any = None, *, remove: bool = False) -> None:
        self.value = value
        self.remove = remove  # r.literal() with no argument removes the field


def merge(base: Any, patch: Any) -> Any:
    """RethinkDB's merge: objects merge recursively, anything else (or a literal) replaces."""
    if isinstance(patch, Literal):
        return patch.value
    if not (is_object(patch) and is_object(base)):
        return strip_literals(patch)
    out = dict(base)
    for key, item in patch.items():
        value = as_literal(item)
        if isinstance(value, Literal) and value.remove:
            out.pop(key, None)
        else:
            out[key] = merge(out[key], value) if key in out else strip_literals(value)
    return out


def strip_literals(value: Any) -> Any:
    value = as_literal(value)
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, dict):
        return {k: strip_literals(v) for k, v in value.items() if not _removes(v)}
    return value


def _removes(value: Any) -> bool:
    literal = as_literal(value)
    return isinstance(literal, Literal) and literal.remove


def as_literal(value: Any) -> Any:
    """The value, or the Literal it stands for: r.json reads a literal as the object RethinkDB keeps it as,
    {"$reql_type$": "LITERAL", "value": ...}."""
    if isinstance(value, dict) and value.get(PTYPE) == "LITERAL":
        return Literal(value["value"]) if "value" in value else Literal(remove=True)
    return value
