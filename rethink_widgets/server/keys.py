"""Order-preserving encoding of ReQL values: comparing two encodings byte by byte gives ReQL's order.

Storage uses the encodings as SQLite BLOB keys (SQLite compares BLOBs with memcmp), so primary and secondary
index scans come back in ReQL order. Evaluation uses them as sort keys and for equality.

ReQL orders values by type first: arrays < booleans < null < numbers < objects < binary < geometry < times
< strings, with `r.minval` below everything and `r.maxval` above. Within a type: arrays and objects
lexicographically (objects as their sorted key/value pairs), numbers numerically (1 == 1.0), strings by
code point, times by their instant (the time zone does not count), binary by bytes.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from typing import Any, NamedTuple


class Bound:
    """`r.minval` / `r.maxval`: bounds for ranges, never stored."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"r.{self.name}"


MINVAL = Bound("minval")
MAXVAL = Bound("maxval")


class Span(NamedTuple):
    """A range of keys to scan: lower <= key < upper by default (each end closed or open as its flag says), in
    ascending order or, with `reverse`, descending."""

    lower: Any = MINVAL
    upper: Any = MAXVAL
    lower_open: bool = False
    upper_open: bool = True
    reverse: bool = False


EVERYTHING = Span()

_END = b"\x00"  # closes an array or object; sorts below every element tag
_TAG_MINVAL = b"\x01"
_TAG_ARRAY = b"\x10"
_TAG_FALSE = b"\x20"
_TAG_TRUE = b"\x21"
_TAG_NULL = b"\x30"
_TAG_NUMBER = b"\x40"
_TAG_OBJECT = b"\x50"
_TAG_BINARY = b"\x60"
_TAG_GEOMETRY = b"\x61"
_TAG_TIME = b"\x62"
_TAG_STRING = b"\x70"
_TAG_MAXVAL = b"\xfe"

_PTYPE_TAGS = {"BINARY": _TAG_BINARY, "GEOMETRY": _TAG_GEOMETRY, "TIME": _TAG_TIME}


def encode(value: Any) -> bytes:
    """The order-preserving encoding of a ReQL value (a datum, `MINVAL` or `MAXVAL`)."""
    if type(value) is str:  # (most keys are strings or numbers)
        return _TAG_STRING + value.encode("utf-8").replace(b"\x00", b"\x00\xff") + b"\x00\x00"
    if type(value) is int or type(value) is float:
        return _TAG_NUMBER + _number(value)
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


def remembering_encoder() -> Callable[[Any], bytes]:
    """`encode`, remembering what it made for strings and numbers: for values met again and again (group keys)."""
    known: dict[Any, bytes] = {}

    def encode_remembered(value: Any) -> bytes:
        # Booleans are never remembered: True == 1 as a dict key, though they encode apart (1 and 1.0 do not).
        kind = type(value)
        if kind is not str and kind is not int and kind is not float:
            return encode(value)
        found = known.get(value)
        if found is None:
            found = known[value] = encode(value)
        return found

    return encode_remembered


def _encode_into(value: Any, out: bytearray) -> None:
    if isinstance(value, str):
        out += _TAG_STRING
        _escaped_into(value.encode("utf-8"), out)
    elif value is True:
        out += _TAG_TRUE
    elif value is False:
        out += _TAG_FALSE
    elif isinstance(value, (int, float)):
        out += _TAG_NUMBER
        out += _number(value)
    elif value is None:
        out += _TAG_NULL
    elif isinstance(value, list):
        out += _TAG_ARRAY
        for item in value:
            _encode_into(item, out)
        out += _END
    elif isinstance(value, dict):
        _object_into(value, out)
    elif value is MINVAL:
        out += _TAG_MINVAL
    elif value is MAXVAL:
        out += _TAG_MAXVAL
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as a ReQL key")


def _object_into(value: dict[str, Any], out: bytearray) -> None:
    ptype = value.get("$reql_type$")
    tag = _PTYPE_TAGS.get(ptype) if isinstance(ptype, str) else None
    if tag is _TAG_TIME:
        out += tag
        out += _number(value["epoch_time"])
    elif tag is _TAG_BINARY:
        out += tag
        _escaped_into(base64.b64decode(value["data"]), out)
    else:
        # Plain objects and geometry compare as their sorted key/value pairs.
        out += tag or _TAG_OBJECT
        for key in sorted(value):
            _escaped_into(key.encode("utf-8"), out)
            _encode_into(value[key], out)
        out += _END


def _escaped_into(raw: bytes, out: bytearray) -> None:
    # 0x00 becomes 0x00 0xFF and the value ends with 0x00 0x00, so a prefix sorts before its extensions.
    out += raw.replace(b"\x00", b"\x00\xff")
    out += b"\x00\x00"


def _number(number: float) -> bytes:
    number = float(number)
    if number == 0.0:
        number = 0.0  # -0.0 equals 0.0 in ReQL
    raw = struct.pack(">d", number)
    if raw[0] & 0x80:
        return bytes(b ^ 0xFF for b in raw)
    return bytes((raw[0] | 0x80,)) + raw[1:]
