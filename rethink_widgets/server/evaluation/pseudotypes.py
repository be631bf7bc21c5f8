"""Pseudo-type objects checked as RethinkDB checks them whenever an object is built (a query's object literals,
`r.json`, r.literal's objects): a TIME sanitized (see `time_values`), a BINARY's data in canonical base64, a GEOMETRY
with its fields (see `geometry.sanitize`), a LITERAL only where it is allowed (in what r.json reads); any other
`$reql_type$` is refused.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, geometry
from rethink_widgets.server.evaluation.time_values import sanitize

STRAY = (
    "Stray literal keyword found: literal is only legal inside of the object passed to merge or update and "
    "cannot nest inside other literals."
)


def check_pseudotype(obj: dict[str, Any], *, literal_allowed: bool = False) -> dict[str, Any]:
    if datums.PTYPE not in obj:
        return obj
    ptype = obj[datums.PTYPE]
    if not isinstance(ptype, str):
        raise ReqlQueryLogicError(
            f"Error: Field `{datums.PTYPE}` must be a string (got `{datums.truncated(ptype)}` of type "
            f"{datums.type_name(ptype)}):\n{datums.truncated(obj)}"
        )
    if ptype == "LITERAL":
        return _checked_literal(obj, literal_allowed)
    if ptype == "GEOMETRY":
        return geometry.sanitize(obj)
    if ptype == "TIME":
        return sanitize(obj)
    if ptype != "BINARY":
        raise ReqlQueryLogicError(f"Unknown $reql_type$ `PTYPE<{ptype}>`.")
    if "data" not in obj:
        raise ReqlQueryLogicError("Invalid binary pseudotype: lacking `data` key.")
    return {**obj, "data": canonical_base64(obj["data"])}


def _checked_literal(obj: dict[str, Any], allowed: bool) -> dict[str, Any]:
    # Such an object stands for r.literal(value), or r.literal() without `value` (see `datums.merge`).
    if not allowed:
        raise ReqlQueryLogicError(STRAY)
    for key in obj:
        if key not in (datums.PTYPE, "value"):
            raise ReqlQueryLogicError(f"Invalid literal term with illegal key `{key}`.")
    return obj


_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def canonical_base64(data: Any) -> str:
    """The data in standard padded base64; what RethinkDB's base64 reader refuses is refused with its messages.

    Padding is optional on the way in, and binary values are always sent out padded, as drivers decode them."""
    if not isinstance(data, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(data)}.")
    body = data.rstrip("=")
    if "=" in body:
        raise ReqlQueryLogicError("Invalid base64 format, data found after padding character '='.")
    for ch in body:
        if ch not in _BASE64:
            raise ReqlQueryLogicError(f"Invalid base64 character found: '{ch}'.")
    if len(body) % 4 == 1:
        raise ReqlQueryLogicError("Invalid base64 length: 1 character remaining, cannot decode a full byte.")
    return body + "=" * (-len(body) % 4)
