"""Sorting rows as they come from the driver (Python values), in ReQL's order of types.

ReQL orders values of different types by type name: arrays, booleans, null, numbers, objects, binary, times,
strings. Views sort their rows the same way, so a table sorted by a mixed column reads as it would in `order_by`.
"""

from __future__ import annotations

import datetime
from typing import Any

_ARRAY, _BOOL, _NULL, _NUMBER, _OBJECT, _BINARY, _TIME, _STRING = range(8)


def sort_key(value: Any) -> tuple[Any, ...]:
    """A key that orders any driver value as ReQL orders it (objects by their sorted items)."""
    if value is None:
        return (_NULL,)
    if isinstance(value, bool):
        return (_BOOL, value)
    if isinstance(value, int | float):
        return (_NUMBER, value)
    if isinstance(value, str):
        return (_STRING, value)
    if isinstance(value, list | tuple):
        return (_ARRAY, tuple(sort_key(item) for item in value))
    if isinstance(value, dict):
        return (_OBJECT, tuple((str(k), sort_key(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))))
    if isinstance(value, datetime.datetime):
        return (_TIME, value.timestamp())
    if isinstance(value, bytes | bytearray):
        return (_BINARY, bytes(value))
    return (_STRING, str(value))
