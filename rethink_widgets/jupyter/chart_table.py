"""The bridge under LiveChart: a Perspective table kept equal to a live query's result.

Documents have no schema, Perspective tables do: each field's Perspective type is inferred from the kinds of values
seen in it (chart_columns.py), and a field that appears later, or gets a value of another kind, widens the schema. A
Perspective table's schema cannot change, so the table is then made anew and filled again with every row, in chunks
as a snapshot is, and the viewer is pointed at it with its configuration kept: once it holds every row when the table
shown did (what was shown stays meanwhile, as after a reconnect), else at once. The first chunk of a snapshot
(`FIRST_CHUNK` rows) makes the first schema, and each later chunk may widen it. Rows go in by key: the table is
indexed by the primary key while every row has one of a single kind that Perspective holds exactly (strings without
NUL, or whole numbers within 2^53), else by a synthetic key column holding the result's own keys (see
`results.ResultSet.key_of`), as for rows of a `map(...)`.

Values go in exactly, or visibly changed (chart_columns.py).

The kernel's loop only turns rows into columns; Perspective's own work (updates, removes, the views' requests) is
done on its thread (chart_engine.py), so a chunk holds the loop for the time it takes to read its rows, whatever the
size of the table and the views open on it.

Imports Perspective: only LiveChart imports this module, when it is made.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

import perspective
import traitlets
from perspective import widget as perspective_widget
from perspective.widget import PerspectiveWidget

from rethink_widgets.jupyter import chart_columns
from rethink_widgets.jupyter.chart_engine import engine
from rethink_widgets.jupyter.chart_probe import sound_aggregates
from rethink_widgets.jupyter.live_widget import LoopWidget, asset
from rethink_widgets.jupyter.results import ResultSet

log = logging.getLogger(__name__)

READ_ONLY_EDIT_MODE = "READ_ONLY"  # the datagrid's edit mode in which cells are not edited
KEY_COLUMN = "__key__"  # the synthetic index, when the primary key cannot be one (numbered when a field has the name)
RETIRE_SECONDS = 30  # how long a table replaced by another is kept for views still opening it
FIRST_CHUNK = 2_000  # rows: a snapshot's first rows show soon, and a chunk of them says how quick the rows are
LAST_CHUNK = 100_000  # rows: what a chunk's columns hold meanwhile stays small
CHUNK_SECONDS = 0.05  # about the longest reading a chunk's rows keeps the kernel's loop (see ChartTable.write)
# Column names Perspective keeps for itself: a field of one of them is refused (psp_op), breaks the views (psp_pkey,
# __ROW_PATH__), loses its values (__INDEX__) or crashes the kernel (psp_okey), so it is left out of the chart, as is
# one whose name holds NUL (Perspective cuts a name there: it would be another field's).
_PERSPECTIVE_NAMES = frozenset(("psp_pkey", "psp_okey", "psp_op", "__INDEX__", "__ROW_PATH__"))


# Perspective 5.6's plugins (the first is the pivot table), as its viewer in the page names them.
PLUGINS = (
    "Datagrid",
    "Y Bar",
    "X Bar",
    "Y Line",
    "Y Area",
    "Y Scatter",
    "X/Y Line",
    "X/Y Scatter",
    "Density",
    "Heatmap",
    "Treemap",
    "Sunburst",
    "Candlestick",
    "OHLC",
    "Map Scatter",
    "Map Line",
    "Map Density",
)


def unknown_plugin(plugin: Any) -> str:
    """Why a plugin Perspective does not have is refused (given to LiveChart or set on its viewer)."""
    return f"plugin must be one of {', '.join(map(repr, PLUGINS))}; not {plugin!r}"


PERSPECTIVE_MODULE = Path(perspective_widget.__file__).parent / "static" / "perspective-anywidget.js"


class Viewer(LoopWidget, PerspectiveWidget):  # type: ignore[misc]  # Perspective ships no types
    """Perspective's widget, with these changes: its module is loaded once per page, sent to the first view that asks
    (js/chart_table.js says why); its views' requests are answered on Perspective's thread (chart_engine.py), each
    view by a session of its own on the engine's server, closed with the viewer so that the views it made go too
    (and as a page goes away; each hangup is answered `hung_up`, so that the tab's next page, which sends again
    those the page going away may have lost, knows when to stop);
    the answers are sent, and the views' changes of its configuration applied, on the kernel's loop (ipykernel 7
    may hand them over on a subshell thread, as for JupyterLab 4.4+: see LoopWidget); and it is read-only: the
    datagrid's edit mode would let a person change the chart's table, never the database, so a view that turns it
    on is set back (js/chart_table.js does so at once, this for every view). A plugin Perspective does not have is
    refused when set, from Python as in LiveChart's cell (a view's is set back). An aggregate that would break its
    table (chart_probe.py) is left out of `aggregates`, and noted in `aggregates_set_aside` until aggregates are set
    anew (from Python or a view: not as the viewer is given a new table, its configuration kept)."""

    _esm = asset("chart_table.js")
    aggregates_set_aside = traitlets.Dict(
        help="Aggregates left out of `aggregates`, by column: [aggregate, Perspective's error]: Perspective fails on "
        "them over the rows of this table's columns, and the table would be broken (see chart_probe.py)."
    )
    _viewer_id = traitlets.Unicode(
        help="Names this viewer in a page's record of the hangups of its sessions it sent as it went away, which the "
        "tab's next page sends again until this viewer says they are done (js/chart_table.js says why)."
    ).tag(sync=True)
    _restoring = False  # the configuration is being restored (`restore`, `load`), not set anew
    _types: tuple[Any, dict[str, str]] = (None, {})  # a table and its schema

    @traitlets.default("_viewer_id")
    def _new_viewer_id(self) -> str:
        return uuid.uuid4().hex

    @traitlets.validate("aggregates")
    def _sound_aggregates(self, proposal: traitlets.Bunch) -> dict[str, Any]:
        aggregates: dict[str, Any] = proposal.value or {}
        kept, aside = sound_aggregates(aggregates, self._column_types(aggregates))
        self.aggregates_set_aside = {**self.aggregates_set_aside, **aside} if self._restoring else aside
        return kept

    @traitlets.validate("plugin")
    def _known_plugin(self, proposal: traitlets.Bunch) -> str:
        plugin: str = proposal.value
        if plugin not in PLUGINS:
            raise traitlets.TraitError(unknown_plugin(plugin))
        return plugin

    @traitlets.validate("plugin_config")
    def _read_only(self, proposal: traitlets.Bunch) -> dict[str, Any]:
        config: dict[str, Any] = proposal.value or {}
        return {**config, "edit_mode": READ_ONLY_EDIT_MODE} if config.get("edit_mode") == "EDIT" else config

    def __init__(self, table: Any, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self._loop = loop
        self._engine = engine()
        super().__init__(table, **options)

    def load(self, data: Any, **options: Any) -> Any:
        with self._restored():  # Perspective's `load` resets the configuration, as `restore` then sets it
            return super().load(data, **options)

    def restore(self, **config: Any) -> Any:
        with self._restored():
            return super().restore(**config)

    @contextlib.contextmanager
    def _restored(self) -> Iterator[None]:
        self._restoring = True
        try:
            yield
        finally:
            self._restoring = False

    def _column_types(self, names: Iterable[str]) -> dict[str, str]:
        """The Perspective types of these columns of the table (or of the expressions), those it has."""
        table = getattr(self, "_table", None)
        if table is None or not names:
            return {}
        if self._types[0] is not table:  # a table's schema never changes
            self._types = (table, table.schema())
        types = self._types[1]
        if self.expressions and not set(names) <= set(types):
            with contextlib.suppress(Exception):  # expressions Perspective refuses: the options' check tells
                types = {**types, **table.validate_expressions(self.expressions)["expression_schema"]}
        return types

    def handle_message(self, widget: Any, content: Any, buffers: Any) -> None:
        kind, client = content.get("type"), content.get("client_id")
        if kind == "connect":
            self._engine.do(functools.partial(self._connect, client))
        elif kind == "binary_msg":
            self._engine.do(functools.partial(self._request, client, bytes(buffers[0])))
        elif kind == "hangup":
            self._engine.do(functools.partial(self._hang_up, client))
        elif kind == "perspective_module":
            self._loop.call_soon_threadsafe(
                self._send_message, {"type": "perspective_module"}, PERSPECTIVE_MODULE.read_bytes()
            )

    def close(self) -> None:
        self._engine.do(self._hang_up_all)
        super().close()

    # On Perspective's thread (or at once: see chart_engine.Engine.do):

    def _connect(self, client: str) -> None:
        self._sessions[client] = self._engine.server.new_session(functools.partial(self._answer, client))

    def _request(self, client: str, request: bytes) -> None:
        session = self._sessions.get(client)
        if session is None:
            log.warning("%s: a request from a view that is not connected", type(self).__name__)
            return
        try:
            session.handle_request(request)
        except Exception:
            log.exception("%s: Perspective could not answer a view's request", type(self).__name__)

    def _hang_up(self, client: str) -> None:
        session = self._sessions.pop(client, None)
        if session is not None:
            session.close()
        _call_on(self._loop, self._send_message, {"type": "hung_up", "client_id": client})

    def _hang_up_all(self) -> None:
        for client in list(self._sessions):
            self._hang_up(client)

    def _answer(self, client: str, answer: bytes) -> None:
        _call_on(self._loop, self._send_message, {"type": "binary_msg", "client_id": client}, answer)

    # On the kernel's loop:

    def _send_message(self, content: dict[str, Any], buffer: bytes | None = None) -> None:
        if self.comm is not None:  # not closed
            self.send(content, None if buffer is None else [buffer])


class _Sent(NamedTuple):
    """A call changing a table, handed to Perspective's thread."""

    rows: int  # how many rows it writes or removes
    table: Any
    done: Future[None]


class ChartTable:
    """A Perspective table kept equal to a `ResultSet`, shown by `viewer`. The rows of the keys `mark`ed are written
    by `write`, a chunk at a time (a million-row snapshot goes in over seconds, its first rows at once), each chunk
    as one update and one remove done on Perspective's thread; `on_written` is called on the loop once a chunk is in
    the table (or with the error that kept it out: the table is `refused` until `refill` has made it anew). At the
    end the table holds every row as the result does now."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: dict[str, Any],
        on_written: Callable[[BaseException | None], None],
    ) -> None:
        self._loop = loop
        self._engine = engine()
        self._on_written = on_written
        self.primary_key: str | None = None
        self.kinds: dict[str, set[str]] = {}  # each field's kinds of values seen, fields in order of appearance
        self.left_out: list[str] = []  # fields not in the chart: Perspective keeps their names for itself
        # A row without a primary key, or with one Perspective cannot hold exactly (`chart_columns.fit_for_index`),
        # was seen: the index is the synthetic key from then on.
        self.synthetic_index = False
        self.writes = 0  # calls that changed a Perspective table (updates, removes), and tables made anew
        self.filling = False  # the table shown does not hold every row yet (a snapshot, or a table shown as it fills)
        # Why Perspective refused rows of the table written to (or turning them into columns failed): it lacks some
        # until `refill` makes another that takes them all. None once a table holds every row again.
        self.refused: BaseException | None = None
        self._broken: Any = None  # the table refused: never whole
        self._todo: dict[str, Any] = {}  # rows the table may not hold as the result does, by key, in order (`mark`)
        self._sent: dict[int, _Sent] = {}  # the calls handed to Perspective's thread and not known to be done
        self.calls = 0  # calls handed to Perspective's thread so far (each numbered by the count before it)
        self._chunk = FIRST_CHUNK  # rows written by the next chunk, so that one takes about CHUNK_SECONDS
        self._rest_until = 0.0  # no chunk is written before then
        self._hurried = False  # Perspective's thread was asked to process the last chunk at once
        self._streaming = False  # a snapshot streams in (`write`'s `more_coming`)
        self.key_column: str | None = KEY_COLUMN  # the synthetic index's column, None while the primary key is one
        self._schema: dict[str, str] = {KEY_COLUMN: "string"}
        self._index = KEY_COLUMN
        self._wanted: list[str | None] = options.pop("columns", None) or []  # the columns asked for, once they exist
        # Tables replaced, to be deleted, each with the timer that will try; and those a view open on them kept.
        self._retiring: dict[Any, asyncio.TimerHandle] = {}
        self._kept: set[Any] = set()
        self.table = self._new_table()  # the table written to
        self._empty = True  # no row was written to it
        self.viewer = Viewer(self.table, loop, **options)
        self.shown = self.table  # the table the viewer shows: `table`, but while a wider one fills aside (`_rebuild`)
        self._shown_fields: list[str] = []  # its columns but the synthetic key
        # Not the synthetic key Perspective's `load` put there.
        self.viewer.columns = self._shown([], self.viewer.expressions or {})

    # ---------------------------------------------------------------- keeping it equal

    @property
    def unwritten(self) -> int:
        """How many rows are still to be handed to Perspective."""
        return len(self._todo)

    @property
    def pending(self) -> int:
        """How many rows are not in the table as the result has them yet."""
        return len(self._todo) + sum(sent.rows for sent in self._sent.values())

    @property
    def aside(self) -> bool:
        """Whether a table made anew fills aside, the viewer showing the one before: whole, but not current."""
        return self.shown is not self.table

    def done_before(self, calls: int) -> bool:
        """Whether the first `calls` calls handed to Perspective's thread are done (see `calls`)."""
        return all(chunk >= calls for chunk in self._sent)

    def mark(self, rows: Mapping[str, Any]) -> None:
        """The rows of these keys changed: they are written by the next chunks. Each is given as it is now, or as
        None: looked up in the result when written (it went away)."""
        self._todo.update(rows)

    def refill(self, result: ResultSet) -> None:
        """Write every row of `result` anew: into the table while it holds none (a first result's first rows show
        at once), else into a new one (see `_rebuild`), as after a refusal."""
        try:
            if not self._empty or self._broken is self.table:
                self._rebuild(result)
                return
            self._todo = dict.fromkeys(result.ordered_keys())
            if self.table is self.shown:
                self.filling = True
            self._check_filled()
        except BaseException as error:  # an interrupt too: the rows taken are lost
            self._refuse(error)
            raise

    def write(self, result: ResultSet, everything: bool = False, more_coming: bool = False) -> None:
        """Write the next chunk of the rows marked: about CHUNK_SECONDS of the loop's time, after which it rests as
        long, so that the feed and the views get the loop half the time. Perspective's thread processes the chunks
        a few times a second while `more_coming` (a snapshot streams in), the last at once. With `everything`, write
        them all and wait until Perspective's thread has them in the table. A chunk that fails here (its rows are
        lost: the table is `refused`) raises."""
        now = time.perf_counter()
        if not everything and now < self._rest_until:
            return
        self.primary_key, self._streaming = result.primary_key, more_coming
        try:
            if everything:
                self._write_everything(result)
                return
            if self._todo:
                written = self._write_chunk(result, self._chunk)
                took = time.perf_counter() - now
                self._rest_until = now + 2 * took
                if written >= FIRST_CHUNK and took > 0:  # fewer rows say little of the time a row takes
                    self._chunk = min(max(int(written * CHUNK_SECONDS / took), FIRST_CHUNK), LAST_CHUNK)
        except BaseException as error:  # an interrupt too: the rows taken are lost
            self._refuse(error)
            raise
        if not self._todo and not more_coming and self._sent and not self._hurried:
            self._hurried = True
            self._engine.hurry()

    def _write_everything(self, result: ResultSet) -> None:
        """Write every row marked, and wait until Perspective's thread has done all the calls handed over."""
        while self._todo:
            self._write_chunk(result, len(self._todo))
        self._engine.flush()
        # Every call is done: the loop hears of each later (`_written`), but what they did counts from now.
        sent, self._sent = list(self._sent.values()), {}
        for call in sent:
            self._note(call)
        self._check_filled()

    def close(self) -> None:
        self.viewer.close()  # and with it the sessions of its views, and the views they made, first
        for table in {self.table, self.shown, *self._retiring}:
            self._free(table)

    def _take(self, result: ResultSet, size: int) -> tuple[list[str], list[Any]]:
        """The first `size` keys marked and their rows (_GONE for a key the result no longer has)."""
        keys = list(itertools.islice(self._todo, size))
        rows = list(map(self._todo.pop, keys))
        if None in rows:
            found = iter(result.get_many([key for key, row in zip(keys, rows, strict=True) if row is None], _GONE))
            rows = [next(found) if row is None else row for row in rows]
        return keys, rows

    def _write_chunk(self, result: ResultSet, size: int) -> int:
        """Hand Perspective the rows of the first `size` keys marked; how many there were. When their values do not
        fit the schema, the table is made anew, to be filled again with every row, these first."""
        keys, rows = self._take(result, size)
        gone: list[str] = []
        if rows.count(_GONE):
            gone = [key for key, row in zip(keys, rows, strict=True) if row is _GONE]
            keys = [key for key, row in zip(keys, rows, strict=True) if row is not _GONE]
            rows = [row for row in rows if row is not _GONE]
        fields = chart_columns.columns(rows)
        if self._learn(keys, fields):
            self._rebuild(result)
            collections.deque(map(self._todo.pop, keys), maxlen=0)  # written below
            gone = []  # the new table never held them
        table = self.table
        if gone:
            self._send(table, functools.partial(table.remove, [self._index_value(key) for key in gone]), len(gone))
        if keys:
            self._send(table, functools.partial(table.update, self._columns(keys, fields)), len(keys))
            self._empty = False
        return len(keys) + len(gone)

    def _send(self, table: Any, work: Callable[[], object], rows: int) -> None:
        """Hand a call changing `table` to Perspective's thread; it counts as `rows` rows until it is done."""
        chunk, self.calls = self.calls, self.calls + 1
        self.writes += 1
        self._hurried = False
        done = self._engine.do(work, change=True, small=rows <= FIRST_CHUNK)
        self._sent[chunk] = call = _Sent(rows, table, done)
        done.add_done_callback(lambda _: _call_on(self._loop, self._written, chunk, call))

    def _written(self, chunk: int, call: _Sent) -> None:
        """On the loop, once a call is done (it may have been counted done already: `_write_everything`)."""
        if self._sent.pop(chunk, None) is not None:
            self._note(call)
            self._check_filled()
        error = call.done.exception()
        self._on_written(error if call.table is self.table else None)  # a table replaced since is no matter

    def _note(self, call: _Sent) -> None:
        """A call is done: a refusal of a change to the table written to makes it `refused`."""
        error = call.done.exception()
        if error is not None and call.table is self.table:
            self._refuse(error)

    def _refuse(self, error: BaseException) -> None:
        self.refused, self._broken = error, self.table

    def _check_filled(self) -> None:
        """Once nothing is left to write and nothing is under way, the table written to holds every row, unless
        Perspective refused some: the viewer shows it."""
        if self._todo or self._sent or self._broken is self.table:
            return
        self.refused = self._broken = None
        if self.shown is not self.table:
            self._show()
        self.filling = False

    def _learn(self, keys: list[str], fields: dict[str, list[Any]]) -> bool:
        """Note the kinds of values in `fields` (rows of `keys`); whether the schema or the index changed."""
        before = (dict(self._schema), self._index)
        pk = self.primary_key
        if pk is not None and not self.synthetic_index:
            keyless = any(map(str.startswith, keys, itertools.repeat("=")))  # ResultSet.key_of
            self.synthetic_index = keyless or not chart_columns.fit_for_index(fields.get(pk, []))
        for field, values in fields.items():
            if field in self.kinds or self._chartable(field):
                self.kinds.setdefault(field, set()).update(chart_columns.kinds(values))
        self._index = self._index_column()
        self.key_column = None if self._index == self.primary_key else self._index
        self._schema = self._new_schema()
        return (self._schema, self._index) != before

    def _chartable(self, field: str) -> bool:
        """Whether a field seen for the first time can be a column (see _PERSPECTIVE_NAMES); one that cannot is
        noted in `left_out`, and the kernel's log says so once."""
        if field not in _PERSPECTIVE_NAMES and "\x00" not in field:
            return True
        if field not in self.left_out:
            self.left_out.append(field)
            log.warning(
                "LiveChart: the field %r is left out of the chart: Perspective keeps its name for itself", field
            )
        return False

    def _index_column(self) -> str:
        """The primary key while every row has one of a single kind that Perspective holds exactly (strings without
        NUL, or whole numbers within 2^53: see `chart_columns.fit_for_index`), else the synthetic key's column, named
        so that no field has its name."""
        pk = self.primary_key
        if pk is not None and not self.synthetic_index and pk in self.kinds:
            kinds = self.kinds[pk]
            if kinds == {"string"} or kinds <= chart_columns.NUMBERS:
                return pk
        name, number = KEY_COLUMN, 1
        while name in self.kinds:
            number += 1
            name = f"{KEY_COLUMN}{number}"
        return name

    def _new_schema(self) -> dict[str, str]:
        schema = {} if self.key_column is None else {self.key_column: "string"}
        typed = {field: chart_columns.column_type(kinds) for field, kinds in self.kinds.items() if kinds}
        if self._index in typed:
            schema[self._index] = typed.pop(self._index)
        return schema | typed

    def _new_table(self) -> Any:
        name = f"rethink_{uuid.uuid4().hex}"
        return self._engine.client.table(dict(self._schema), index=self._index, name=name)

    def _rebuild(self, result: ResultSet) -> None:
        """A new table of the new schema, to be filled with every row. While the viewer shows a table that holds
        every row of a whole result, the new one fills aside, and is shown once it holds them all too
        (`_check_filled`): what was shown stays meanwhile, as after a reconnect. While a snapshot streams in, or the
        table shown is being filled, the new one is shown at once, its rows as they come."""
        replaced = self.table
        self.table = self._new_table()
        self._empty = True
        self.writes += 1
        todo = dict.fromkeys(result.ordered_keys())  # rows the new table has none of
        todo.update(self._todo)
        self._todo = todo
        if replaced is not self.shown:  # filled aside, never shown
            self._retire(replaced)
        if self.filling or self._streaming:
            self._show()

    def _show(self) -> None:
        """Point the viewer at the table written to, its configuration kept: the columns shown are all of them
        again, unless the person chose some."""
        old, viewer = self.shown, self.viewer
        config = viewer.save()
        expressions = config["expressions"] or {}
        fields = self._table_fields()
        if config["columns"] == self._shown(self._shown_fields, expressions):
            config["columns"] = self._shown(fields, expressions)
        else:  # as the person chose them: those that exist, the expressions' and the empty slots in place
            config["columns"] = [name for name in config["columns"] if _kept(name, fields, expressions)]
        self.shown, self._shown_fields = self.table, fields
        with viewer.hold_sync():  # views get the new table and the kept configuration in one message
            viewer.load(self.table)
            viewer.restore(**config)
        self._retire(old)

    def _retire(self, table: Any) -> None:
        """Delete a table replaced, once views have had time to move off it (one may be opening it by its name
        right now)."""
        self._retiring[table] = self._loop.call_later(RETIRE_SECONDS, self._free, table)

    def _free(self, table: Any) -> None:
        """Delete a table now (on Perspective's thread), or as soon as no view is open on it: a view made in Python
        (`c.table.view()`) keeps it until that view is deleted, so it is tried again every RETIRE_SECONDS, and the
        kernel's log says so once."""
        timer = self._retiring.pop(table, None)
        if timer is not None:
            timer.cancel()
        self._engine.submit(functools.partial(self._try_deleting, table))

    def _try_deleting(self, table: Any) -> None:
        """On Perspective's thread (see `_free`)."""
        if _delete(table):
            _call_on(self._loop, self._kept.discard, table)
        else:
            _call_on(self._loop, self._kept_open, table)

    def _kept_open(self, table: Any) -> None:
        if table not in self._kept:
            self._kept.add(table)
            log.warning(
                "LiveChart: the Perspective table %s, replaced by another or closed, is kept while a view is open on "
                "it (one made in Python: delete it, view.delete()); it is deleted once none is",
                table.get_name(),
            )
        self._retire(table)

    def _shown(self, fields: list[str], expressions: Container[str]) -> list[str | None]:
        """The columns shown by default, of a table of these fields: those asked for that exist, with the
        expressions' and the empty slots asked for in place, else every one."""
        kept = [name for name in self._wanted if _kept(name, fields, expressions)]
        return kept if any(name is not None for name in kept) else list(fields)

    def _table_fields(self) -> list[str]:
        """The columns of the table's schema but the synthetic key."""
        return [name for name in self._schema if name != self.key_column]

    def _index_value(self, key: str) -> Any:
        """The index of the row with this result key, as the table holds it."""
        if self.key_column is not None:
            return key
        # A primary key's canonical text (results.canonical): a whole number stays an int, which Perspective reads
        # exactly in a float column too (as a float it misses its row from 2^50 on).
        return json.loads(key)

    def _columns(self, keys: list[str], fields: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """The rows of `keys` (their `fields`) as Perspective columns: every column given, so a field a row lacks
        is null, never the value an earlier version of the row had."""
        columns: dict[str, list[Any]] = {}
        for name, type_ in self._schema.items():
            if name == self.key_column:
                columns[name] = keys
            elif name not in fields:
                columns[name] = [None] * len(keys)
            else:
                columns[name] = chart_columns.converted(fields[name], type_)
        return columns


def _call_on(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: Any) -> None:
    """Have the loop call `callback(*args)` soon, from Perspective's thread; not once the loop is closed (the kernel
    is going away)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _delete(table: Any) -> bool:
    """Delete a Perspective table, unless a view is open on it (one made in Python: the viewer's views are gone
    with its sessions); whether it is gone."""
    try:
        table.delete()
    except perspective.PerspectiveError:
        return False
    return True


def _kept(column: str | None, names: Container[str], expressions: Container[str]) -> bool:
    """Whether a column of the viewer's stays when the table is made anew: it is a column of the table, an
    expression's (computed by the views from the columns), or an empty slot (None: the X/Y plugins' columns are
    slots, by position)."""
    return column is None or column in names or column in expressions


_GONE = object()  # in place of the row of a key the result no longer has
