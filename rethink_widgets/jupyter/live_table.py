"""LiveTable: a table that keeps itself current as the data changes, and writes edits back safely.

    LiveTable(r.table("todo"))
    LiveTable(r.table("scores").order_by(index=r.desc("score")).limit(10))

The kernel holds the whole result; each view gets the window of it that it shows (its own: see view_windows.py), so a
million-row table stays responsive and two views of it scroll independently.
An edit names the row's key and the revision the person saw: when the row changed meanwhile, the write is refused
and the view says so, and the database checks the same thing atomically, so no update is ever lost.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
from typing import TYPE_CHECKING, Any

import traitlets

from rethink_widgets.jupyter import messages
from rethink_widgets.jupyter.filtering import cell_text, special_text
from rethink_widgets.jupyter.live_widget import CurrentCount, Handlers, LiveWidget, asset
from rethink_widgets.jupyter.queries import filter_fields
from rethink_widgets.jupyter.results import RowChange
from rethink_widgets.jupyter.table_view import VALUE_COLUMN
from rethink_widgets.jupyter.view_windows import MAX_WINDOW, ViewWindows

if TYPE_CHECKING:  # pandas is optional: only to_dataframe() needs it
    import pandas

    from rethink_widgets.jupyter.live_chart import LiveChart

CHANGED = "This row changed since you saw it, so your edit was not saved. The table shows its current value."
SNAPSHOT_ROWS = 100  # rows a saved notebook keeps for readers that cannot draw the widget


class LiveTable(LiveWidget):
    _esm = asset("live_table.js")

    columns = traitlets.List(traitlets.Unicode(), help="Column names, in display order.").tag(sync=True)
    window_rows = traitlets.List(
        traitlets.Dict(),
        help="The first `page_size` rows in display order, {key, rev, cells} with cells as JSON values: what a view "
        "draws until it asks for rows of its own, and what a notebook saved with its widget state shows.",
    ).tag(sync=True)
    total = CurrentCount(lambda table: len(table.feed.result), help="Rows in the result.").tag(sync=True)
    matched = CurrentCount(lambda table: len(table.view), help="Rows that pass the filter.").tag(sync=True)
    sort: traitlets.List[list[str]] = traitlets.List(
        help="[[column, 'asc' or 'desc'], ...]: the sort keys, first the most significant; [] for the query's own "
        "order. One key may be given as [column, 'asc' or 'desc']."
    ).tag(sync=True)
    filter = traitlets.Unicode("", help="Show only rows with a cell containing this text (any case).").tag(sync=True)
    rate = traitlets.Float(0.0, help="Changes per second over the last second.").tag(sync=True)
    changed = traitlets.List(
        traitlets.Unicode(), help="Keys of the rows in `window_rows` changed since the last update."
    ).tag(sync=True)
    editable = traitlets.Bool(True, help="Whether views offer editing (only when rows map to a table).").tag(sync=True)
    key_column = traitlets.Unicode("", help="The primary key's column, when rows have one.").tag(sync=True)
    undo = traitlets.Unicode(
        "", help="The key of the row last deleted from a view, which a view may ask to put back ('' when none)."
    ).tag(sync=True)

    def __init__(
        self,
        query: Any,
        columns: list[str] | None = None,
        page_size: int = 50,
        editable: bool = True,
        conn: Any = None,
    ) -> None:
        __tracebackhide__ = True  # see LiveWidget.__init__
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_WINDOW:
            raise ValueError(f"page_size must be a whole number from 1 to {MAX_WINDOW}, not {page_size!r}")
        if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
            raise TypeError("columns must be a list of column names")
        self._fixed_columns = columns
        self._fields: dict[str, int] = {}
        self._pending: set[str] = set()
        self._decay: asyncio.TimerHandle | None = None
        self._deleted: Any = None  # the document last deleted from a view, as the database held it, for an undo
        self._page_size = page_size
        self._windows = ViewWindows()
        super().__init__(query, conn=conn, columns=columns or [])
        self.editable = editable and self.feed.info.editable
        self.observe(self._view_changed, names=["sort", "filter"])

    # Views set these; a view that sends nonsense gets a clear error, and the table keeps what it had.
    @traitlets.validate("sort")
    def _valid_sort(self, proposal: Any) -> list[list[str]]:
        sort = proposal["value"]
        keys = [sort] if _sort_key(sort) else sort
        columns = [key[0] for key in keys if _sort_key(key)]
        if len(columns) != len(keys) or len(set(columns)) != len(columns):
            raise traitlets.TraitError(
                f"sort must be a list of [column, 'asc' or 'desc'] (each column once), or [], not {sort!r}"
            )
        return [list(key) for key in keys]

    # ---------------------------------------------------------------- Python API

    @property
    def rows(self) -> list[Any]:
        """The whole current result in the views' sort order, rows the views' filter hides included.

        A sort or filter the views are still applying is finished first, so this can take a moment on a big table.
        """
        self.view.settle()
        return [self.feed.result.get(key) for key in self.view.unfiltered_keys()]

    def __repr__(self) -> str:
        count = len(self.feed.result)
        return f"LiveTable({self.title}, {count} row{'' if count == 1 else 's'}, {self.status})"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget, and the rows on show as an HTML table for readers that cannot draw it: nbconvert or GitHub
        when the notebook was saved without widget state, or JupyterLab before the notebook is trusted."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, "text/html": self._snapshot()}, metadata

    def _snapshot(self) -> str:
        """The first `SNAPSHOT_ROWS` rows in display order, as escaped HTML, saying they are not live."""
        columns = self._fixed_columns or self._inferred_columns()
        rows = [self._row(key, columns)["cells"] for key in self.view.window(0, SNAPSHOT_ROWS)]
        count = len(self.feed.result)
        counted = f"{count} row{'' if count == 1 else 's'}"
        note = f"{self.title}: not live, a snapshot of {len(rows)} of {counted} taken when it was shown"
        head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell_html(cells, column)}</td>" for column in columns) + "</tr>" for cells in rows
        )
        return (
            f"<div><p>{html.escape(note)}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def to_dataframe(self) -> pandas.DataFrame:
        """The current rows as a pandas DataFrame, columns as the table shows them (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from None
        rows = self.rows
        columns = self._fixed_columns or self._inferred_columns()
        if not all(isinstance(row, dict) for row in rows):
            return pandas.DataFrame({VALUE_COLUMN: rows})
        return pandas.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)

    def chart(self, plugin: str = "Y Bar", *, conn: Any = None, **options: Any) -> LiveChart:
        """A LiveChart of the same query, on this table's database unless `conn` is given (options as LiveChart's,
        Perspective's own)."""
        __tracebackhide__ = True
        from rethink_widgets.jupyter.live_chart import LiveChart

        return LiveChart(self.feed.query, plugin, conn=self.database if conn is None else conn, **options)

    # ---------------------------------------------------------------- state for the views

    def _changed(self, changes: list[RowChange]) -> None:
        snapshot = self.feed.result.initializing  # the rows of a first snapshot arrive: no row changed
        for change in changes:
            self._count_fields(change.old, -1)
            self._count_fields(change.new, +1)
            if not snapshot:
                self._pending.add(change.key)
        super()._changed(changes)

    def _count_fields(self, row: Any, delta: int) -> None:
        if row is None:
            return
        for field in row if isinstance(row, dict) else (VALUE_COLUMN,):
            count = self._fields.get(field, 0) + delta
            if count:
                self._fields[field] = count
            else:
                del self._fields[field]

    def _view_changed(self, change: Any) -> None:
        self.on_loop(self._reconfigure)

    def _reconfigure(self) -> None:
        self.view.configure(tuple((column, direction == "desc") for column, direction in self.sort), self.filter)
        self._throttle.poke()  # a new window shows at once; a new order when it is built
        self._keep_building()

    def _draw(self) -> None:
        result = self.feed.result
        keys = self.view.window(0, self._page_size)
        self.key_column = result.primary_key or ""
        self.columns = self._fixed_columns or self._inferred_columns()
        self.window_rows = [self._row(key, self.columns) for key in keys]
        self.changed = [key for key in keys if key in self._pending]
        self._send_windows()  # now, before the state set here goes out: views draw when it comes, rows in hand
        self._pending.clear()
        self.total = len(result)
        self.matched = len(self.view)
        self.rate = self.feed.rate()
        if self.rate:  # draw again once the last second has passed, so a quiet table says 0 changes/s
            if self._decay is not None:
                self._decay.cancel()
            self._decay = self._loop.call_later(1.05, self._throttle.poke)

    def _send_windows(self) -> None:
        """Send each view that asked for rows of its own those rows, when they are not what it has."""
        now = self._loop.time()
        columns = self.columns
        windows = {}
        for view, window in self._windows.items():
            keys = self.view.window(window.start, window.stop)
            shown = (window.start, tuple(columns), tuple((key, self.feed.result.revision(key)) for key in keys))
            if self._windows.send(view, shown, now):
                rows = [self._row(key, columns) for key in keys]
                changed = [key for key in keys if key in self._pending]
                windows[view] = {"start": window.start, "rows": rows, "changed": changed}
        message = self._windows.message(windows)
        if message is not None:
            self.send(message.to_json())

    def _inferred_columns(self) -> list[str]:
        key = self.feed.result.primary_key
        return ([key] if key in self._fields else []) + [f for f in self._fields if f != key]

    def _row(self, key: str, columns: list[str]) -> dict[str, Any]:
        """A row as views get it: only the cells of the columns shown, and, when some of them are times (sent as
        ISO 8601 text), `times`: their columns, so views can tell a time from a string."""
        row = self.feed.result.get(key)
        if not isinstance(row, dict):
            row = {VALUE_COLUMN: row}
        cells = {column: _jsonable(row[column]) for column in columns if column in row}
        shown = {"key": key, "rev": self.feed.result.revision(key), "cells": cells}
        times = [column for column in cells if isinstance(row[column], datetime.datetime)]
        return {**shown, "times": times} if times else shown

    # ---------------------------------------------------------------- writes from the views

    def _handlers(self) -> Handlers:
        return {
            messages.EditCell: self._edit,
            messages.DeleteRow: self._delete,
            messages.InsertRow: self._insert,
            messages.UndoDelete: self._undo_delete,
            messages.ShowWindow: self._show_window,
            messages.Goodbye: self._goodbye,
        }

    async def _show_window(self, request: messages.ShowWindow) -> None:
        self._windows.ask(request.view, request.start, request.stop, self._loop.time())
        self._throttle.poke()  # the rows show at once

    async def _goodbye(self, request: messages.Goodbye) -> None:
        self._windows.forget(request.view)

    def _writable(self) -> None:
        if not self.editable:
            raise ValueError("This table is read-only.")

    def _seen(self, key: str, rev: int) -> tuple[Any, Any]:
        """The row a request is about, as the person saw it, and its primary key; refuses when it changed since."""
        row = self.feed.result.get(key)
        if row is None:
            raise ValueError("This row was deleted meanwhile.")
        if rev != self.feed.result.revision(key):
            raise ValueError(CHANGED)
        return row, row[self.key_column]

    async def _edit(self, request: messages.EditCell) -> None:
        self._writable()
        row, pk = self._seen(request.key, request.rev)
        column = request.column
        if not column:
            raise ValueError("Say which column to edit.")
        if column == self.key_column:
            raise ValueError("The primary key cannot be edited; add a new row instead.")
        value = parse_cell(request.text, row.get(column))
        r = self.database.r
        self.view.pin(request.key)  # the edited row stays in sight until the next sort action
        try:
            await self._write(
                self._table()
                .get(pk)
                .replace(
                    lambda doc: r.branch(doc.eq(row), doc.without(column).merge({column: value}), r.error(CHANGED))
                )
            )
        except BaseException:
            self.view.unpin(request.key)
            raise
        self.send(messages.Edited(request.ref).to_json())  # the view that sent it lets its note go

    async def _delete(self, request: messages.DeleteRow) -> None:
        self._writable()
        row, pk = self._seen(request.key, request.rev)
        r = self.database.r
        result = await self._write(
            self._table()
            .get(pk)
            .replace(lambda doc: r.branch(doc.eq(row), None, r.error(CHANGED)), return_changes=True)
        )
        self._deleted = result["changes"][0]["old_val"] if result.get("changes") else None
        self.undo = request.key if self._deleted is not None else ""

    async def _undo_delete(self, request: messages.UndoDelete) -> None:
        """Put back the document last deleted, as any insert: a row that took its key meanwhile is not replaced."""
        self._writable()
        if self._deleted is None or request.key != self.undo:
            raise ValueError("There is no deleted row to put back: only the last one deleted here can be.")
        doc, self._deleted, self.undo = self._deleted, None, ""
        await self._write(self._table().insert(doc))

    async def _insert(self, request: messages.InsertRow) -> None:
        self._writable()
        try:
            doc = json.loads(request.text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise TypeError('A new row is a JSON object, such as {"name": "Ada", "score": 3}.')
        # On a table of `filter({...})`, a row typed without the filter's fields gets them, so it shows here.
        await self._write(self._table().insert({**filter_fields(self.feed.query), **doc}))
        self.send(messages.Added(request.ref).to_json())  # the view that sent it empties its box


def parse_cell(text: str, old: Any) -> Any:
    """The value a person typed: text stays text in a text column, a time stays a time, else it is read as JSON."""
    if isinstance(old, str):
        return text
    if isinstance(old, datetime.datetime):
        return parse_time(text, old.tzinfo or datetime.UTC)
    if isinstance(old, dict | list) and not _plain_json(old):
        # The view shows times and binary data inside it as text, and large integers rounded: saved back, they
        # would change without anyone typing it.
        raise ValueError(
            "This value holds times, binary data or integers too large for the browser, which editing it as text "
            "would change: update it from Python instead."
        )
    try:
        return json.loads(text)
    except ValueError:
        if old is None:
            return text
        raise ValueError(f"{text!r} is not a valid value here: type a number, true, false, null or JSON.") from None


def _plain_json(value: Any) -> bool:
    """Whether the view shows `value` exactly as it is."""
    if isinstance(value, dict):
        return all(_plain_json(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= 2**53
    return value is None or isinstance(value, str | float | bool)


def parse_time(text: str, zone: datetime.tzinfo) -> datetime.datetime:
    """A time as views edit it (ISO 8601, as `special_text` writes it); one typed without an offset is in `zone`."""
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time: type one like 2024-05-01T12:30:00+00:00.") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def _cell_html(cells: dict[str, Any], column: str) -> str:
    return html.escape(cell_text(cells[column])) if column in cells else ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | bytes | bytearray):
        return special_text(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _sort_key(key: Any) -> bool:
    """Whether `key` is one sort key, [column, 'asc' or 'desc']."""
    return isinstance(key, list | tuple) and len(key) == 2 and isinstance(key[0], str) and key[1] in ("asc", "desc")
