"""The bridge under LiveChart: a Perspective table kept equal to a live query's result.

Documents have no schema, Perspective tables do: each field's Perspective type is inferred from the kinds of values
seen in it (`column_type`), and a field that appears later, or gets a value of another kind, widens the schema. A
Perspective table's schema cannot change, so the table is then built anew from every row and the viewer pointed at
it, its configuration kept. Rows go in by key: the table is indexed by the primary key while every row has one of a
single kind (strings, or numbers), else by a synthetic key column holding the result's own keys (see
`results.ResultSet.key_of`), as for rows of a `map(...)`.

Imports Perspective: only LiveChart imports this module, when it is made.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import Callable, Iterable
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


def _as_is(value: Any) -> Any:
    return value


def _as_time(value: Any) -> Any:
    return None if value is None else _epoch_ms(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {"string": _text, "datetime": _as_time}


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
    """A Perspective table kept equal to a `ResultSet`, shown by `viewer`; `sync` brings it up to date."""

    def __init__(self, loop: asyncio.AbstractEventLoop, options: dict[str, Any]) -> None:
        self._loop = loop
        self.primary_key: str | None = None
        self.kinds: dict[str, set[str]] = {}  # each field's kinds of values seen, fields in order of appearance
        self.keyed_by_value = False  # a row without a primary key was seen: the index is synthetic from then on
        self.writes = 0  # calls that changed the Perspective table (updates, removes, replaces, rebuilds)
        self._schema: dict[str, str] = {KEY_COLUMN: "string"}
        self._index = KEY_COLUMN
        self._wanted: list[str] = options.pop("columns", None) or []  # the columns asked for, once they exist
        self.table = self._new_table()
        self.viewer = Viewer(self.table, loop, **options)
        self.viewer.columns = self._shown(self._schema)  # not the synthetic key Perspective's `load` put there

    # ---------------------------------------------------------------- keeping it equal

    def sync(self, result: ResultSet, keys: set[str], refill: bool) -> None:
        """Bring the table up to date with `result`: the rows of `keys` changed (or every row, with `refill`)."""
        self.primary_key = result.primary_key
        old_schema = self._schema
        if self._learn(result.ordered_keys() if refill else keys, result):
            self._rebuild(result, old_schema)
        elif refill:
            self.table.replace(self._columns(result.ordered_keys(), result))
            self.writes += 1
        else:
            gone = [self._index_value(key) for key in keys if key not in result]
            if gone:
                self.table.remove(gone)
                self.writes += 1
            present = [key for key in keys if key in result]
            if present:
                self.table.update(self._columns(present, result))
                self.writes += 1

    def close(self) -> None:
        self.viewer.close()
        self.table.delete(lazy=True)  # once the views its front ends opened are gone with the viewer's comm

    def _learn(self, keys: Iterable[str], result: ResultSet) -> bool:
        """Note the kinds of the rows of `keys`; whether the schema or the index changed."""
        before = (dict(self._schema), self._index)
        for key in keys:
            row = result.get(key)
            if row is None:
                continue
            if key.startswith("="):  # keyed by value (results.ResultSet.key_of)
                self.keyed_by_value = True
            for field, value in row.items() if isinstance(row, dict) else ((VALUE_COLUMN, row),):
                found = kind(value)
                kinds = self.kinds.setdefault(field, set())
                if found is not None:
                    kinds.add(found)
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
        self._converters = {name: _CONVERT.get(kind, _as_is) for name, kind in self._schema.items()}
        return perspective.table(dict(self._schema), index=self._index, name=f"rethink_{uuid.uuid4().hex}")

    def _rebuild(self, result: ResultSet, old_schema: dict[str, str]) -> None:
        """A new table of the new schema, filled from every row; the viewer shows it with its configuration kept:
        the columns shown are all of them again, unless the person chose some."""
        old_table, viewer = self.table, self.viewer
        config = viewer.save()
        if config["columns"] == self._shown(old_schema):
            config["columns"] = self._shown(self._schema)
        else:  # as the person chose them
            config["columns"] = [name for name in config["columns"] if name in self._schema]
        self.table = self._new_table()
        self.table.update(self._columns(result.ordered_keys(), result))
        self.writes += 1
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

    def _columns(self, keys: Iterable[str], result: ResultSet) -> dict[str, list[Any]]:
        """The rows of `keys` as Perspective columns (every column given: a field a row lacks is null, never the
        value an earlier version of the row had)."""
        names = [name for name in self._schema if name != KEY_COLUMN]
        columns: dict[str, list[Any]] = {name: [] for name in self._schema}
        synthetic = KEY_COLUMN in columns
        for key in keys:
            row = result.get(key)
            if not isinstance(row, dict):
                row = {VALUE_COLUMN: row}
            if synthetic:
                columns[KEY_COLUMN].append(key)
            for name in names:
                columns[name].append(self._converters[name](row.get(name)))
        return columns
