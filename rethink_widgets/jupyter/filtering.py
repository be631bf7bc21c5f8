"""Which rows a view's filter lets through: those with a cell whose text contains the filter's, in any case.

`passes` answers for one row, as rows change; `matching` answers for many at once with loops that run in C where it
can (a million rows in a few tenths of a second), and gives the same answers.
"""

from __future__ import annotations

import datetime
import itertools
import json
import operator
from collections.abc import Iterable
from typing import Any

from rethink_widgets.jupyter.results import shape, unpacked

_SEPARATOR = "\x00"  # between cells: never in a filter's text (a filter with it is checked row by row)
# Types whose str(), casefolded, reads as their cell_text casefolded (True: "True", "true"); and null, but as "none".
_STR_AS_CELL = frozenset((str, int, float, bool, type(None)))
# Every character of a number's, a boolean's or null's text: a filter with another can only match strings.
_PLAIN_TEXT = frozenset("0123456789.-+einfatrulso")


def cell_text(value: Any) -> str:
    """How a value reads in a cell: strings as they are, a time or binary data as `special_text`, everything else
    compactly as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # the same text as JSON, made faster (filters read every cell of every row)
    if isinstance(value, datetime.datetime | bytes | bytearray):
        return special_text(value)
    return json.dumps(value, separators=(", ", ": "), default=special_text, ensure_ascii=False)


def special_text(value: Any) -> str:
    """The text views get for a value JSON has no form for: a time as ISO 8601 in its own offset, as RethinkDB's
    to_iso8601 writes it (milliseconds, its precision, only when there are some); binary data by its size."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, bytes | bytearray):
        return f"<binary, {len(value)} bytes>"
    return str(value)


class Filter:
    def __init__(self, text: str) -> None:
        self.text = text
        self._needle = text.casefold()

    def __bool__(self) -> bool:
        """Whether it filters at all."""
        return bool(self.text)

    def passes(self, row: Any) -> bool:
        if not self.text:
            return True
        needle = self._needle
        if isinstance(row, dict):
            return any(needle in cell_text(value).casefold() for value in row.values())
        return needle in cell_text(row).casefold()

    def matching(self, rows: list[Any], fields: tuple[str, ...] | None = None) -> list[bool]:
        """`passes` of each row as a result holds it (results.py's `copy_into`; `fields`: their `shape` when known),
        by loops that run in C: Python code runs once per call, or once per cell position, not once per row. Objects
        with the same fields, the common case, are read a cell position at a time: the cells at one position in
        every row, searched together; other objects a row at a time, each row's cells read into one text (cells
        apart, so no match spans two)."""
        needle = self._needle
        fields = fields if fields is not None else shape(rows)
        if fields is not None and needle:
            laid = list(itertools.chain.from_iterable(rows))  # each row's cells, then its field names
            return self._matching_by_position(laid, len(fields), len(fields) + 1, len(rows))
        rows = list(map(unpacked, rows))
        try:
            widths = set(map(len, map(dict.values, rows)))
        except TypeError:  # rows that are not objects
            return [self.passes(row) for row in rows]
        if len(widths) == 1 and needle:
            width = widths.pop()
            return self._matching_by_position(
                list(itertools.chain.from_iterable(map(dict.values, rows))), width, width, len(rows)
            )
        kinds = set(map(type, itertools.chain.from_iterable(map(dict.values, rows))))
        if not needle or _SEPARATOR in needle or not kinds <= _STR_AS_CELL or _misread_none(kinds, needle):
            return [self.passes(row) for row in rows]
        cells = map(dict.values, rows)
        if set(needle) <= _PLAIN_TEXT:
            texts = map(_SEPARATOR.join, map(map, itertools.repeat(str), cells))
        else:  # only the strings can match: the others need no text at all
            texts = map(_SEPARATOR.join, map(filter, itertools.repeat(_is_str), cells))
        return list(map(operator.contains, map(str.casefold, texts), itertools.repeat(needle)))

    def _matching_by_position(self, cells: list[Any], width: int, stride: int, count: int) -> list[bool]:
        """`matching` of `count` rows laid end to end in `cells`, `stride` items each, their first `width` cells."""
        found: list[bool] | None = None
        for position in range(width):
            texts = self._texts(cells[position::stride])
            if texts is not None:
                here = map(operator.contains, map(str.casefold, texts), itertools.repeat(self._needle))
                found = list(here) if found is None else list(map(operator.or_, found, here))
        return found if found is not None else [False] * count

    def _texts(self, cells: list[Any]) -> Iterable[str] | None:
        """Texts that read as the cells' texts do for this filter, made in C where they can be; None when none of
        these cells can match."""
        kinds = set(map(type, cells))
        if not kinds <= _STR_AS_CELL or _misread_none(kinds, self._needle):
            return map(cell_text, cells)
        if set(self._needle) <= _PLAIN_TEXT:
            return map(str, cells)
        if str not in kinds:  # only strings can match
            return None
        return cells if kinds == {str} else map(str, cells)  # the others' texts hold none of the needle's characters


_is_str = str.__instancecheck__  # isinstance(value, str), called from C


def _misread_none(kinds: set[type], needle: str) -> bool:
    """Whether str() would misread a null for this filter: it writes "None" where a cell reads "null"."""
    return type(None) in kinds and (needle in "null" or needle in "none")
