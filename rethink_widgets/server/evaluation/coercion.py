"""coerce_to: converting values between types as RethinkDB allows."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.control import truthy
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import ArraySelection, Stream

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _type(value: Any) -> str:
    name = datums.type_name(value)
    return name[6:-1] if name.startswith("PTYPE<") else name


@operation("COERCE_TO", 2)
def coerce_to(ctx: Context, term: Term) -> Any:
    value = ctx.eval(term.args[0])
    target = ctx.string(term.args[1]).upper()
    if isinstance(value, (Stream, ArraySelection)):
        value = ctx.to_array(value if isinstance(value, Stream) else value.rows)
        if target == "ARRAY":
            return value
    value = ctx.as_datum(value)
    source = _type(value)
    if target == source:
        return value
    converted = _convert(ctx, value, source, target)
    if converted is _IMPOSSIBLE:
        raise ReqlQueryLogicError(f"Cannot coerce {source} to {target}.")
    return converted


_IMPOSSIBLE = object()


def _convert(ctx: Context, value: Any, source: str, target: str) -> Any:
    if target == "STRING":
        if source == "BINARY":
            return base64.b64decode(value["data"]).decode("utf-8", errors="replace")
        return datums.dumps(datums.to_wire(value))
    if target == "BOOL":
        return truthy(value)
    if source == "BINARY":
        return _IMPOSSIBLE
    if target == "NUMBER" and source == "STRING":
        if not _NUMBER.match(value):
            raise ReqlQueryLogicError(f"Could not coerce `{value}` to NUMBER.")
        return datums.number(
            json.loads(value.strip().lstrip("+")) if "." not in value and "e" not in value.lower() else float(value)
        )
    if target == "ARRAY" and source == "OBJECT":
        return [[key, value[key]] for key in sorted(value)]
    if target == "OBJECT" and source == "ARRAY":
        return _object_from_pairs(ctx, value)
    if target == "BINARY" and source == "STRING":
        return {datums.PTYPE: "BINARY", "data": base64.b64encode(value.encode("utf-8")).decode("ascii")}
    return _IMPOSSIBLE


def _object_from_pairs(ctx: Context, pairs: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, list):
            raise ReqlQueryLogicError(f"Expected type ARRAY but found {datums.type_name(pair)}.")
        if len(pair) != 2:
            raise ReqlQueryLogicError(f"Expected array of size 2, but got size {len(pair)}.")
        key, item = pair
        if not isinstance(key, str):
            raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(key)}.")
        out[key] = item
    return out
