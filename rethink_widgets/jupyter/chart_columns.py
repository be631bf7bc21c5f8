"""Rows as Perspective columns: the type of each field's column, inferred from the kinds of its values, and the
values as that column holds them, exactly or visibly changed.

Documents have no schema, Perspective tables do. A field's kinds (`kinds`) make its column's type (`column_type`):
numbers widen to float, any other mix to string. Integers beyond Perspective's own are floats while a float holds
them exactly, else text; floats go in as their text (Perspective reads a float given as a number a bit off now and
then); times as epoch milliseconds; a NUL in text as U+2400 "␀" (Perspective would cut the text there); binary data
as LiveTable shows it, `<binary, N bytes>`; objects and arrays as JSON text.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Iterable
from typing import Any

from rethink_widgets.jupyter.filtering import special_text
from rethink_widgets.jupyter.table_view import VALUE_COLUMN

_INT32 = range(-(2**31), 2**31)  # Perspective's integers; larger ones would wrap, so they are floats
_EXACT = range(-(2**53), 2**53 + 1)  # integers a float holds exactly; others are text, so no digit is lost
NUMBERS = frozenset(("integer", "bigint", "float"))
NUL_SHOWN = "\u2400"  # in place of NUL in the text of a string column (Perspective would cut the text there)
_ALONE = {"boolean": "boolean", "integer": "integer", "bigint": "float", "float": "float", "string": "string"}
_ALONE |= {"hugeint": "string", "datetime": "datetime", "json": "string"}
# The kinds of values of these types (None: null says nothing), for typing their column (`kinds`).
_KIND_OF_TYPE: dict[type, str | None] = {type(None): None, bool: "boolean", float: "float", str: "string"}
_KIND_OF_TYPE[datetime.datetime] = "datetime"


def _int_kind(low: int, high: int) -> str:
    """The kind of integers from `low` to `high`: Perspective's own integers, others a float holds exactly, or ones
    beyond (RethinkDB's numbers are floats, and the driver gives a whole one within 2^53 as an integer, so these
    come only from elsewhere): text, as a float would lose digits."""
    if low in _INT32 and high in _INT32:
        return "integer"
    return "bigint" if low in _EXACT and high in _EXACT else "hugeint"


def column_type(kinds: Iterable[str]) -> str:
    """The Perspective type of a column holding values of these kinds: numbers widen to float, any other mix to
    string."""
    kinds = set(kinds)
    if len(kinds) == 1:
        return _ALONE[kinds.pop()]
    return "float" if kinds <= NUMBERS else "string"


def _epoch_ms(value: datetime.datetime) -> float:
    return value.timestamp() * 1000


def _text(value: Any) -> str | None:
    """A value in a string column: strings as they are, times as `_utc`, binary data by its size as LiveTable shows
    it (`<binary, 2 bytes>`), anything else as JSON text (its times and binary data as these texts)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return _utc(value)
    if isinstance(value, bytes):
        return special_text(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain, ensure_ascii=False)


def _utc(value: datetime.datetime) -> str:
    """A time as text: ISO 8601 in UTC, as a datetime column holds the instant (epoch milliseconds, whatever offset
    it came with), so the same instant reads the same in any column; milliseconds, RethinkDB's precision, only when
    it has some, as RethinkDB's to_iso8601 writes a time in UTC (2024-05-01T12:30:00+00:00)."""
    utc = value.astimezone(datetime.UTC)
    return utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds")


def _plain(value: Any) -> Any:
    """A value JSON has no form for, in a nested value's text: times as `_utc`, binary data by its size."""
    if isinstance(value, datetime.datetime):
        return _utc(value)
    if isinstance(value, bytes):
        return special_text(value)
    raise TypeError(f"no JSON text for a {type(value).__name__}")


def columns(rows: list[Any]) -> dict[str, list[Any]]:
    """Rows as columns, by field in order of appearance (a field a row lacks is None there); rows that are not
    objects are one column, `value`. A pass per field, each a comprehension."""
    if not {dict}.issuperset(map(type, rows)):
        rows = [row if isinstance(row, dict) else {VALUE_COLUMN: row} for row in rows]
    names = dict.fromkeys(itertools.chain.from_iterable(rows))
    return {name: list(map(dict.get, rows, itertools.repeat(name))) for name in names}


def kinds(values: list[Any]) -> set[str]:
    """The kinds of these values, for typing their column (`column_type`), from their types (`_KIND_OF_TYPE`):
    integers' kind depends on their size, found once for them all (the widest stands for every one, as it types
    their column alike), and any other value (objects, arrays, binary data) is shown as text (`_text`). The driver
    gives exactly these types."""
    kinds: set[str] = set()
    types = set(map(type, values))
    for type_ in types:
        if type_ in _KIND_OF_TYPE:
            found = _KIND_OF_TYPE[type_]
            if found is not None:
                kinds.add(found)
        elif type_ is int:
            ints = values if len(types) == 1 else [value for value in values if type(value) is int]
            kinds.add(_int_kind(min(ints), max(ints)))
        else:
            kinds.add("json")
    return kinds


def fit_for_index(keys: list[Any]) -> bool:
    """Whether these primary keys can be the Perspective table's index as they are: Perspective reads the numbers
    it is given as JSON, not always exactly (about one float in ten comes out a bit off, so two keys a bit apart would
    be one row, and a remove would miss its row), but for whole ones within 2^53; and it cuts text at a NUL ("a\\x00b"
    would be "a", another key's row)."""
    types = set(map(type, keys))
    if float in types:
        floats = keys if len(types) == 1 else [key for key in keys if type(key) is float]
        if not all(key.is_integer() and -(2**53) <= key <= 2**53 for key in floats):
            return False
    if str in types:
        return not _has_nul(keys if len(types) == 1 else [key for key in keys if type(key) is str])
    return True


def _has_nul(texts: list[str | None]) -> bool:
    return "\x00" in "".join(filter(None, texts))


def converted(values: list[Any], type_: str) -> list[Any]:
    """Values as a column of this Perspective type holds them: times in epoch milliseconds; floats as their text,
    which Perspective reads exactly (a float given as a number may come out a bit off: see `fit_for_index`);
    strings with NUL visible (`_visible`), any other value in a string column as text (`_text`); integers and
    booleans as they are."""
    if type_ == "datetime":
        return [None if value is None else _epoch_ms(value) for value in values]
    if type_ == "float":
        types = set(map(type, values))
        if float not in types:
            return values
        if len(types) == 1:
            return list(map(float.__repr__, values))
        return [repr(value) if type(value) is float else value for value in values]
    if type_ == "string":
        if not {str, type(None)}.issuperset(map(type, values)):
            values = [_text(value) for value in values]
        return _visible(values) if _has_nul(values) else values
    return values


def _visible(texts: list[str | None]) -> list[str | None]:
    """Texts with each NUL shown as U+2400 (␀): Perspective would cut a text at its first NUL."""
    return [None if text is None else text.replace("\x00", NUL_SHOWN) for text in texts]
