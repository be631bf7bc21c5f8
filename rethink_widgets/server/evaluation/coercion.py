"""coerce_to: converting values between types as RethinkDB allows."""

from __future__ import annotations

import base64
import math
import re
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, json_writer
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import Stream, category, type_of

_DATUM_TYPES = frozenset({"NULL", "BOOL", "NUMBER", "STRING", "ARRAY", "OBJECT", "BINARY", "MINVAL", "MAXVAL"})
# What each kind of value also counts as in RethinkDB's type system: coercing to one of these changes nothing.
_COUNTS_AS = {
    "DB": {"DB"},
    "TABLE": {"TABLE", "TABLE_SLICE", "SELECTION<STREAM>", "STREAM"},
    "TABLE_SLICE": {"TABLE_SLICE", "SELECTION<STREAM>", "STREAM"},
    "SELECTION<STREAM>": {"SELECTION<STREAM>", "STREAM"},
    "SELECTION<ARRAY>": {"SELECTION<STREAM>", "STREAM"},
    "STREAM": {"STREAM"},
    "SELECTION<OBJECT>": {"SELECTION<OBJECT>", "DATUM"},
    "DATUM": {"DATUM", "STREAM"},
    "FUNCTION": {"FUNCTION"},
    "GROUPED_DATA": {"GROUPED_DATA"},
}

# What C's strtod accepts (RethinkDB parses with sscanf "%lf"): decimal or hexadecimal numbers, inf and nan, after
# optional white space. Nothing may follow, not even white space.
_NUMBER = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:"
    r"(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?)"
    r"|(?P<dec>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<inf>(?i:inf(?:inity)?))"
    r"|(?P<nan>(?i:nan)(?:\([0-9A-Za-z_]*\))?))"
)
_IMPOSSIBLE = object()


@operation("COERCE_TO", 2)
def coerce_to(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    target = ctx.string(term.args[1]).upper()
    if target not in _DATUM_TYPES and target not in _COUNTS_AS:
        raise ReqlQueryLogicError(f"Unknown Type: {target}")
    kind = "DATUM" if category(value) == "DATUM" else type_of(value)
    readable = "DATUM" in _COUNTS_AS[kind]  # datums, and single documents
    source = _datum_type(ctx.as_datum(value)) if readable else kind
    if target == source or target in _COUNTS_AS[kind]:
        return value
    if target == "BOOL":
        return source != "NULL"
    converted = _from_datum(ctx.as_datum(value), source, target) if readable else _IMPOSSIBLE
    if converted is _IMPOSSIBLE and (source == "ARRAY" or isinstance(value, Stream)):
        converted = _from_sequence(ctx, value, target)
    if converted is _IMPOSSIBLE:
        cls = ReqlNonExistenceError if source == "NULL" else ReqlQueryLogicError
        raise cls(f"Cannot coerce {source} to {target}.")
    return converted


def _datum_type(value: Any) -> str:
    # Binary data is a type of its own; times and other pseudo-types are objects.
    name = datums.type_name(value)
    if name == "PTYPE<BINARY>":
        return "BINARY"
    return "OBJECT" if name.startswith("PTYPE<") else name


def _from_datum(value: Any, source: str, target: str) -> Any:
    if source == "BINARY" and target == "STRING":
        return base64.b64decode(value["data"]).decode("utf-8", errors="replace")
    if source == "STRING" and target == "BINARY":
        return {datums.PTYPE: "BINARY", "data": base64.b64encode(value.encode("utf-8")).decode("ascii")}
    if target == "STRING":
        return json_writer.write(value)  # as to_json_string writes it
    if source == "OBJECT" and target == "ARRAY":
        return [[key, value[key]] for key in sorted(value)]
    if source == "STRING" and target == "NUMBER":
        return _parse_number(value)
    return _IMPOSSIBLE


def _parse_number(text: str) -> int | float:
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ReqlQueryLogicError(f"Could not coerce `{text}` to NUMBER.")
    negative = text.lstrip(" \t\n\v\f\r").startswith("-")
    if match["hex"]:
        number = float.fromhex(match["hex"])
    elif match["dec"]:
        number = float(match["dec"])
    else:
        number = math.inf if match["inf"] else math.nan
    return datums.number(-number if negative else number)  # refuses inf and nan as RethinkDB does


def _from_sequence(ctx: Context, value: Any, target: str) -> Any:
    if target not in ("ARRAY", "DATUM", "OBJECT"):
        return _IMPOSSIBLE
    rows = ctx.to_array(value if isinstance(value, Stream) else ctx.as_datum(value))
    return _object_from_pairs(rows) if target == "OBJECT" else rows


def _object_from_pairs(pairs: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, list):
            raise type_error("ARRAY", pair)
        if len(pair) != 2:
            raise ReqlQueryLogicError(f"Expected array of size 2, but got size {len(pair)}.")
        key, item = pair
        if not isinstance(key, str):
            raise type_error("STRING", key)
        if key in out:
            raise ReqlQueryLogicError(
                f"Duplicate key {datums.printed(key)} in coerced object.  "
                f"(got {datums.truncated(out[key])} and {datums.truncated(item)} as values)"
            )
        out[key] = item
    return out
