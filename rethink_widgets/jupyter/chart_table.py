"""The bridge under LiveChart: a Perspective table kept equal to a live query's result.

Documents have no schema, Perspective tables do: each field's Perspective type is inferred from the kinds of values
seen in it (`column_type`), and a field that appears later, or gets a value of another kind, widens the schema. A
Perspective table's schema cannot change, so the table is then made anew, the viewer pointed at it with its
configuration kept, and filled again with every row, in chunks as a snapshot is. The first chunk of a snapshot
(`FIRST_CHUNK` rows) makes the first schema, and each later chunk may widen it. Rows go in by key: the table is
indexed by the primary key while every row has one of a single kind (strings, or numbers), else by a synthetic key
column holding the result's own keys (see `results.ResultSet.key_of`), as for rows of a `map(...)`.

Imports Perspective: only LiveChart imports this module, when it is made.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import itertools
import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import perspective
import traitlets
from perspective import widget as perspective_widget
from perspective.widget import PerspectiveWidget

from rethink_widgets.jupyter.live_widget import asset
from rethink_widgets.jupyter.results import ResultSet, canonical
from rethink_widgets.jupyter.table_view import VALUE_COLUMN

READ_ONLY = "READ_ONLY"  # the datagrid's edit mode in which cells are not edited
KEY_COLUMN = "__key__"  # the synthetic index, when the primary key cannot be one
RETIRE_SECONDS = 30  # how long a table replaced by a wider one is kept for views still opening it
FIRST_CHUNK = 2_000  # rows: a snapshot's first rows show soon, and a chunk of them says how quick the rows are
LAST_CHUNK = 30_000  # Perspective takes longer a row for bigger updates into a big table
MAX_WAIT = 1.0  # s: the longest rows of a snapshot wait for a chunk's worth to gather
CHUNK_SECONDS = 0.15  # about the longest a chunk keeps the kernel's loop (see ChartTable._size_chunks)
_INT32 = range(-(2**31), 2**31)  # Perspective's integers; larger ones would wrap, so they are floats
_NUMBERS = frozenset(("integer", "bigint", "float"))
_ALONE = {"boolean": "boolean", "integer": "integer", "bigint": "float", "float": "float", "string": "string"}
_ALONE |= {"datetime": "datetime", "json": "string"}


def kind(value: Any) -> str | None:
    """What a value is, for typing its column (None for null: it says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if value in _INT32 else "bigint"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime.datetime):
        return "datetime"
    return "json"  # objects, arrays, binary data: shown as JSON text


def column_type(kinds: Iterable[str]) -> str:
    """The Perspective type of a column holding values of these kinds: numbers widen to float, any other mix to
    string."""
    kinds = set(kinds)
    if len(kinds) == 1:
        return _ALONE[kinds.pop()]
    return "float" if kinds <= _NUMBERS else "string"


def _epoch_ms(value: datetime.datetime) -> float:
    return value.timestamp() * 1000


def _text(value: Any) -> str | None:
    """A value in a string column: strings as they are, times in ISO 8601, anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return canonical(value)


PERSPECTIVE_MODULE = Path(perspective_widget.__file__).parent / "static" / "perspective-anywidget.js"


class Viewer(PerspectiveWidget):  # type: ignore[misc]  # Perspective ships no types
    """Perspective's widget, with three fixes: its module is loaded once per page, sent to the first view that asks
    (js/chart_table.js says why); its views' messages are handled on the kernel's loop (ipykernel 7 may hand them
    over on a subshell thread, as for JupyterLab 4.4+, where Perspective's `asyncio.create_task` finds no running
    loop); and it is read-only: the datagrid's edit mode would let a person change the chart's table, never the
    database, so a view that turns it on is set back (js/chart_table.js does so at once, this for every view)."""

    _esm = asset("chart_table.js")

    @traitlets.validate("plugin_config")
    def _read_only(self, proposal: traitlets.Bunch) -> dict[str, Any]:
        config: dict[str, Any] = proposal.value or {}
        return {**config, "edit_mode": READ_ONLY} if config.get("edit_mode") == "EDIT" else config

    def __init__(self, table: Any, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self._loop = loop
        super().__init__(table, **options)

    def handle_message(self, widget: Any, content: Any, buffers: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            self._loop.call_soon_threadsafe(self.handle_message, widget, content, buffers)
        elif content.get("type") == "perspective_module":
            self.send({"type": "perspective_module"}, [PERSPECTIVE_MODULE.read_bytes()])
        else:
            super().handle_message(widget, content, buffers)


class ChartTable:
    """A Perspective table kept equal to a `ResultSet`, shown by `viewer`. The rows of the keys `mark`ed are written
    by `write`, a chunk at a time (a million-row snapshot goes in over seconds, its first rows at once), each chunk
    as one update and one remove; at the end the table holds every row as the result does now."""

    def __init__(self, loop: asyncio.AbstractEventLoop, options: dict[str, Any]) -> None:
        self._loop = loop
        self.primary_key: str | None = None
        self.kinds: dict[str, set[str]] = {}  # each field's kinds of values seen, fields in order of appearance
        self.keyed_by_value = False  # a row without a primary key was seen: the index is synthetic from then on
        self.writes = 0  # calls that changed the Perspective table (updates, removes, clears)
        self.filling = False  # the table was made anew or cleared, and not every row is back in it yet
        self._todo: dict[str, None] = {}  # keys whose rows the table may not hold as the result does, in order
        self._chunk = FIRST_CHUNK  # rows written by the next chunk, so that one takes about CHUNK_SECONDS
        self._row_seconds = 0.0  # the least time a row took to write, once known
        self._wrote = -MAX_WAIT  # when the last chunk was written (time.perf_counter)
        self._rest_until = 0.0  # no chunk is written before then
        self._schema: dict[str, str] = {KEY_COLUMN: "string"}
        self._index = KEY_COLUMN
        self._wanted: list[str] = options.pop("columns", None) or []  # the columns asked for, once they exist
        self.table = self._new_table()
        self.viewer = Viewer(self.table, loop, **options)
        self.viewer.columns = self._shown(self._schema)  # not the synthetic key Perspective's `load` put there

    # ---------------------------------------------------------------- keeping it equal

    @property
    def pending(self) -> int:
        """How many rows are still to be written."""
        return len(self._todo)

    def mark(self, keys: Iterable[str]) -> None:
        """The rows of `keys` changed (or went away): they are written by the next chunks."""
        self._todo.update(dict.fromkeys(keys))

    def refill(self, result: ResultSet) -> None:
        """Write every row of `result` anew, into the table emptied (it may hold rows of another result)."""
        self.table.clear()
        self.writes += 1
        self._todo = dict.fromkeys(result.ordered_keys())
        self.filling = bool(self._todo)

    def write(self, result: ResultSet, everything: bool = False, more_coming: bool = False) -> None:
        """Write the next chunk of the rows marked (or all of them): about CHUNK_SECONDS of work. An update costs a
        fixed time (see `_size_chunks`), so the loop rests as long after each chunk, and while `more_coming` (a
        snapshot streams in) rows wait until a chunk's worth is there, or a second has passed."""
        now = time.perf_counter()
        if not everything and self._todo:
            if now < self._rest_until:
                return
            if more_coming and len(self._todo) < self._chunk and now < self._wrote + MAX_WAIT:
                return
        self.primary_key = result.primary_key
        while self._todo:
            written = self._write_chunk(result, len(self._todo) if everything else self._chunk)
            self._wrote = time.perf_counter()
            if not everything:
                took = self._wrote - now
                self._rest_until = self._wrote + took
                self._size_chunks(written, took)
                break
        if not self._todo:
            self.filling = False

    def close(self) -> None:
        self.viewer.close()
        self.table.delete(lazy=True)  # once the views its front ends opened are gone with the viewer's comm

    def _size_chunks(self, rows: int, took: float) -> None:
        """Size the next chunk from how long this one took. An update costs a time per row, and a fixed time that
        grows with the table: Perspective recomputes every view open on it (a tenth of a second for a million rows
        shown sorted). The next chunk is sized to take CHUNK_SECONDS, and when the fixed time nears that, to do a
        third as much row work as the fixed time: the loop is held a little longer, but the updates stay few."""
        if rows >= FIRST_CHUNK:  # fewer rows tell more of the fixed time than of the time per row
            self._row_seconds = min(self._row_seconds or took / rows, took / rows)
        if self._row_seconds and took > 0:
            fixed = max(took - rows * self._row_seconds, 0.0)  # at least: the time per row is the least seen
            near = fixed > CHUNK_SECONDS * 2 / 3
            size = fixed / 3 / self._row_seconds if near else rows * CHUNK_SECONDS / took
            self._chunk = min(max(int(size), FIRST_CHUNK), LAST_CHUNK)

    def _take(self, size: int) -> list[str]:
        keys = list(itertools.islice(self._todo, size))
        collections.deque(map(self._todo.pop, keys), maxlen=0)
        return keys

    def _write_chunk(self, result: ResultSet, size: int) -> int:
        """Write the rows of the first `size` keys marked; how many were written. When their values do not fit the
        schema, the table is made anew, to be filled again with every row, these first."""
        keys = self._take(size)
        rows = result.get_many(keys, _GONE)
        gone: list[str] = []
        if rows.count(_GONE):
            gone = [key for key, row in zip(keys, rows, strict=True) if row is _GONE]
            keys = [key for key, row in zip(keys, rows, strict=True) if row is not _GONE]
            rows = [row for row in rows if row is not _GONE]
        fields = _fields(rows)
        old_schema = self._schema
        if self._learn(keys, fields):
            self._rebuild(result, old_schema)
            collections.deque(map(self._todo.pop, keys), maxlen=0)  # written below
            gone = []  # the new table never held them
        if gone:
            self.table.remove([self._index_value(key) for key in gone])
            self.writes += 1
        if keys:
            self.table.update(self._columns(keys, fields))
            self.writes += 1
        return len(keys) + len(gone)

    def _learn(self, keys: list[str], fields: dict[str, list[Any]]) -> bool:
        """Note the kinds of values in `fields` (rows of `keys`); whether the schema or the index changed."""
        before = (dict(self._schema), self._index)
        if self.primary_key is not None and not self.keyed_by_value:
            self.keyed_by_value = any(map(str.startswith, keys, itertools.repeat("=")))  # ResultSet.key_of
        for field, values in fields.items():
            self.kinds.setdefault(field, set()).update(_kinds(values))
        self._index = self._index_column()
        self._schema = self._new_schema()
        return (self._schema, self._index) != before

    def _index_column(self) -> str:
        pk = self.primary_key
        if pk is None or self.keyed_by_value or pk not in self.kinds:
            return KEY_COLUMN
        kinds = self.kinds[pk]
        return pk if kinds == {"string"} or kinds <= _NUMBERS else KEY_COLUMN

    def _new_schema(self) -> dict[str, str]:
        schema = {KEY_COLUMN: "string"} if self._index == KEY_COLUMN else {}
        typed = {field: column_type(kinds) for field, kinds in self.kinds.items() if kinds}
        if self._index in typed:
            schema[self._index] = typed.pop(self._index)
        return schema | typed

    def _new_table(self) -> Any:
        return perspective.table(dict(self._schema), index=self._index, name=f"rethink_{uuid.uuid4().hex}")

    def _rebuild(self, result: ResultSet, old_schema: dict[str, str]) -> None:
        """A new table of the new schema, to be filled with every row; the viewer shows it at once with its
        configuration kept: the columns shown are all of them again, unless the person chose some."""
        old_table, viewer = self.table, self.viewer
        config = viewer.save()
        if config["columns"] == self._shown(old_schema):
            config["columns"] = self._shown(self._schema)
        else:  # as the person chose them
            config["columns"] = [name for name in config["columns"] if name in self._schema]
        self.table = self._new_table()
        self.writes += 1
        todo = dict.fromkeys(result.ordered_keys())  # rows the new table has none of
        todo.update(self._todo)
        self._todo = todo
        self.filling = True
        with viewer.hold_sync():  # views get the new table and the kept configuration in one message
            viewer.load(self.table)
            viewer.restore(**config)
        # A view may be opening the old table by its name right now: it goes once views have had time to move.
        self._loop.call_later(RETIRE_SECONDS, self._retire, old_table)

    def _retire(self, table: Any) -> None:
        if table is not self.table:
            table.delete(lazy=True)  # when its last view is gone

    def _shown(self, names: Iterable[str]) -> list[str]:
        """The columns shown by default: those asked for that exist, else every one (but the synthetic key)."""
        names = [name for name in names if name != KEY_COLUMN]
        return [name for name in self._wanted if name in names] or names

    def _index_value(self, key: str) -> Any:
        """The index of the row with this result key, as the table holds it."""
        if self._index == KEY_COLUMN:
            return key
        value = json.loads(key)  # a primary key's canonical text (results.canonical)
        return float(value) if self._schema[self._index] == "float" else value

    def _columns(self, keys: list[str], fields: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """The rows of `keys` (their `fields`) as Perspective columns: every column given, so a field a row lacks
        is null, never the value an earlier version of the row had."""
        columns: dict[str, list[Any]] = {}
        for name, type_ in self._schema.items():
            if name == KEY_COLUMN:
                columns[name] = keys
            elif name not in fields:
                columns[name] = [None] * len(keys)
            else:
                columns[name] = _converted(fields[name], type_)
        return columns


def _fields(rows: list[Any]) -> dict[str, list[Any]]:
    """Rows as columns, by field in order of appearance (a field a row lacks is None there); rows that are not
    objects are one column, `value`. A pass per field, each a comprehension."""
    if not {dict}.issuperset(map(type, rows)):
        rows = [row if isinstance(row, dict) else {VALUE_COLUMN: row} for row in rows]
    names = dict.fromkeys(itertools.chain.from_iterable(rows))
    return {name: list(map(dict.get, rows, itertools.repeat(name))) for name in names}


_GONE = object()  # in place of the row of a key the result no longer has
_KIND_OF_TYPE: dict[type, str | None] = {bool: "boolean", float: "float", str: "string", type(None): None}
_KIND_OF_TYPE[datetime.datetime] = "datetime"


def _kinds(values: list[Any]) -> set[str]:
    """The kinds of these values (`kind`), from their types: integers' range is checked, other types' values are
    looked at one by one only when the type is not one of the usual ones."""
    kinds: set[str] = set()
    for type_ in set(map(type, values)):
        if type_ in _KIND_OF_TYPE:
            found = _KIND_OF_TYPE[type_]
            if found is not None:
                kinds.add(found)
        elif type_ is int:
            ints = [value for value in values if type(value) is int]
            kinds.add("integer" if min(ints) in _INT32 and max(ints) in _INT32 else "bigint")
        else:
            kinds.update(found for value in values if type(value) is type_ and (found := kind(value)) is not None)
    return kinds


def _converted(values: list[Any], type_: str) -> list[Any]:
    """Values as a column of this Perspective type holds them: times in epoch milliseconds, strings as they are and
    any other value as text (`_text`), numbers and booleans as they are."""
    if type_ == "datetime":
        return [None if value is None else _epoch_ms(value) for value in values]
    if type_ == "string" and not {str, type(None)}.issuperset(map(type, values)):
        return [_text(value) for value in values]
    return values
