"""LiveChart: a Perspective pivot or chart of a live query, kept equal to its result as the data changes.

    LiveChart(r.table("readings"), plugin="Y Line", group_by=["minute"], columns=["value"])
    LiveChart(r.table("orders"), plugin="Datagrid", group_by=["status"], split_by=["region"])

Perspective (perspective-python, the `charts` extra) does the pivots, aggregates and drawing; this widget feeds it:
the kernel holds the query's result (as for LiveTable), and a Perspective table in the kernel is brought up to date
with it in batches, at most `UPDATES_PER_SECOND` times a second (`SNAPSHOT_SECONDS` apart while a snapshot streams
in): each batch turns the rows changed since the last one into columns, at most a chunk of some hundredths of a
second of the loop's time (the next batch follows soon while rows are left), and hands them to Perspective's own
thread (chart_engine.py), which processes them while the loop runs on. So a big snapshot streams in as it arrives,
its first rows on screen at once, and the kernel's loop is never held long. Until the table holds the whole snapshot
the status says `initializing` with the rows written so far, and so it does while a table made anew for a wider
schema fills aside (the viewer shows the table before, whole, until the new one is); after a lost connection or an
overflowed feed the fresh snapshot is gathered aside (`reconnecting`, what was shown stays), and the rows that differ
from what the table holds are written, `reconnecting` until they are all in (see chart_table.py for types and keys).

The widget is our own, with Perspective's viewer inside it: its status line (title, status, row count) and its
"not live" notice come from the same feed and the same kernel check as LiveTable's, so they never tell more than
the kernel knows, and its Python API is LiveTable's (`.rows`, `.status`, `await .ready()`, `.wait_until(...)`,
`.close()`). The viewer is Perspective's own widget (`.viewer`, there from the start; views draw it once its table
holds rows), so every option and control of Perspective's works; its configuration lives in its traits, changed from
Python or in the viewer. An option it does not take is refused in the cell; values Perspective refuses are told in
the status line (`message`) once the columns are known (chart_options.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from rethink_widgets.jupyter.feeds import OVERFLOWED, LiveFeed
from rethink_widgets.jupyter.live_widget import CurrentCount, FeedStatus, LiveWidget, asset
from rethink_widgets.jupyter.results import ResultSet, RowChange

if TYPE_CHECKING:
    from rethink_widgets.jupyter.chart_table import Viewer

log = logging.getLogger(__name__)

EDITS_REFUSED = (
    "LiveChart's viewer is read-only: an edit in it would change the chart, not the database. "
    "Write to the database instead (or use LiveTable, whose edits are writes)."
)
SNAPSHOTS = ("initializing", "reconnecting", OVERFLOWED)  # the feed's statuses while a snapshot comes in
SNAPSHOT_SECONDS = 0.25  # while a snapshot streams in, its rows are written (and counted in the views) this often
# s: after Perspective refused rows, the table is filled anew this long after, then twice as long after each refusal
# in a row, up to the last (a million rows take seconds to fill).
FIRST_RETRY, LAST_RETRY = 1.0, 30.0
MISSING = "LiveChart needs Perspective, installed with the charts extra: pip install 'rethink_widgets[charts]'"


class ChartStatus(FeedStatus):
    """A LiveChart's status, read from the chart at this moment (see FeedStatus)."""

    def get(self, obj: Any, cls: Any = None) -> Any:
        return obj._status() if isinstance(obj.__dict__.get("feed"), LiveFeed) else super().get(obj, cls)


def refused(error: BaseException) -> str:
    """The status of a chart whose table lacks rows that Perspective refused (see LiveChart._failed)."""
    text = str(error).strip()
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__  # an interrupt says nothing
    return (
        f"error: Perspective refused rows ({reason}): the chart lacks them until its table, filled anew every few "
        "seconds, takes them all. If this lasts, change the rows it refuses or run the cell again; the kernel's log "
        "has the details (retrying)"
    )


def _reference(widget: anywidget.AnyWidget | None, _: Any) -> str | None:
    """A widget in a synced trait, as ipywidgets sends one: views find its model by this name."""
    return None if widget is None else f"IPY_MODEL_{widget.model_id}"


class LiveChart(LiveWidget):
    _esm = asset("live_chart.js")

    _viewer = traitlets.Instance(
        anywidget.AnyWidget, allow_none=True, help="Perspective's viewer, once views are to draw it (see `_flush`)."
    ).tag(sync=True, to_json=_reference)
    status = ChartStatus(
        "connecting",
        help="The feed's status, but `initializing` until the table the viewer shows holds the snapshot (or a table "
        "made anew for a wider schema holds every row and is shown).",
    ).tag(sync=True)
    total = CurrentCount(lambda chart: len(chart.feed.result), help="Rows in the result.").tag(sync=True)

    def __init__(
        self,
        query: Any,
        plugin: str = "Y Bar",
        *,
        group_by: list[str] | None = None,
        split_by: list[str] | None = None,
        columns: list[str] | None = None,
        aggregates: dict[str, str] | None = None,
        filter: list[list[Any]] | None = None,  # Perspective's own name for it
        sort: list[list[str]] | None = None,
        conn: Any = None,
        **viewer_options: Any,
    ) -> None:
        __tracebackhide__ = True  # see LiveWidget.__init__
        try:
            from rethink_widgets.jupyter.chart_options import OptionCheck, refuse_bad_options
            from rethink_widgets.jupyter.chart_table import PLUGINS, ChartTable, unknown_plugin
        except ImportError as error:
            raise ImportError(MISSING) from error
        if plugin not in PLUGINS:
            raise ValueError(unknown_plugin(plugin))
        options: dict[str, Any] = {"plugin": plugin, "group_by": group_by, "split_by": split_by, "columns": columns}
        options |= {"aggregates": aggregates, "filter": filter, "sort": sort, **viewer_options}
        refuse_bad_options(options)
        if (viewer_options.get("plugin_config") or {}).get("edit_mode") == "EDIT":
            raise ValueError(EDITS_REFUSED)
        self._dirty: dict[str, Any] = {}  # the rows changed since the last batch by key, in order (see `_changed`)
        self._result: ResultSet | None = None  # the result the Perspective table follows
        self._filling: str | None = None  # the status while a snapshot is being written, until it is whole
        self._step: asyncio.TimerHandle | None = None  # the next batch of a streaming snapshot
        self._stepped = -SNAPSHOT_SECONDS  # when the last one was (the loop's time)
        self._shown: tuple[Any, ...] = ()  # what views were last sent (see `_flush`)
        self._options_said = ""  # what the last check of the viewer's options said (see chart_options.py)
        self._said = ""  # what the chart last put in `message` (see `_tell`)
        self._left_out_told = 0  # how many of the fields left out of the chart `message` names
        self._retry: asyncio.TimerHandle | None = None  # filling the table anew, after Perspective refused rows
        self._retries = 0  # refusals in a row
        self._heard = 0  # changes heard from the feed
        self._marked = 0  # how many of them were handed to the bridge (see `ready`)
        self._most_written = 0  # the progress's count while a fill lasts (see `_progress`)
        super().__init__(query, conn=conn)
        options.setdefault("title", self.title)  # Perspective's viewer says "untitled" in its settings otherwise
        try:
            self.bridge = ChartTable(self._loop, options, self._chunk_written)
            OptionCheck(self.bridge.viewer, self._loop, self._options_checked, columns or ())  # kept by its observer
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- Python API

    @property
    def rows(self) -> list[Any]:
        """The query's current result, in the feed's order (the Perspective table holds the same rows)."""
        return self.feed.result.rows()

    @property
    def viewer(self) -> Viewer:
        """Perspective's viewer widget: its traits are the chart's configuration (`c.viewer.plugin = "Y Line"`),
        set from Python or in the page. Views draw it once its table holds rows."""
        return self.bridge.viewer

    @property
    def table(self) -> Any:
        """The Perspective table the viewer shows, holding the rows of `.rows`: changes not yet written go in first,
        all at once. A wider schema brings a new table, so read `c.table` each time rather than keep it: the one
        before is deleted 30 s after it is replaced (chart_table.RETIRE_SECONDS; then using it raises), and the
        chart's tables when it is closed; a view made on one in Python (`c.table.view()`) keeps it until that view is
        deleted (`view.delete()`; the kernel's log says which table waits for it)."""
        self._sync(everything=True)
        return self.bridge.table

    async def ready(self, timeout: float | None = 10) -> None:
        """Wait until the table the viewer shows holds the complete result, with every change the chart has heard of
        when it is called: the snapshot whole, and a table made anew for a wider schema whole and shown (the status
        says `initializing` until then, the viewer showing the table before, whole but without the changes since)."""
        deadline = None if timeout is None else self._loop.time() + timeout
        await super().ready(timeout)
        left = None if deadline is None else max(deadline - self._loop.time(), 0)
        try:
            await asyncio.wait_for(self._written(), left)
        except TimeoutError:
            raise TimeoutError(f"{self!r}: the chart is not ready after {timeout} s: {self.status}") from None

    async def _written(self) -> None:
        heard = self._heard
        await self._until(lambda: self._marked >= heard and not self.bridge.unwritten)  # all handed to Perspective
        calls = self.bridge.calls
        await self._until(lambda: self.bridge.done_before(calls))  # and in the table

    async def _until(self, check: Callable[[], bool]) -> None:
        """Wait until `check()` holds and the status is `ready`."""
        while not (check() and self._status() == "ready"):
            await self.feed.ready(None)  # raises the feed's error, if it failed for good
            await asyncio.sleep(0.02)

    def __repr__(self) -> str:
        count = len(self.feed.result)
        plugin = self.bridge.viewer.plugin if "bridge" in self.__dict__ else "-"
        return f"LiveChart({self.title}, {plugin}, {count} row{'' if count == 1 else 's'}, {self.status})"

    def close(self) -> None:
        super().close()
        if "bridge" in self.__dict__:
            for timer in (self._step, self._retry):
                if timer is not None:
                    timer.cancel()
            self.bridge.close()

    # ---------------------------------------------------------------- the feed and the views

    def _changed(self, changes: list[RowChange]) -> None:
        # Each row as the change brought it, so that it need not be read back from the result (which holds it packed);
        # None (the row went away) is looked up in the result when written.
        for change in changes:  # one change at a time while a snapshot comes in: a million calls
            self._dirty[change.key] = change.new
        self._heard += len(changes)
        if not self.feed.result.initializing:
            self._throttle.poke()
        elif self._step is None:  # a snapshot's rows: its first at once, the rest a few times a second
            wait = max(self._stepped + SNAPSHOT_SECONDS - self._loop.time(), 0.0)
            self._step = self._loop.call_later(wait, self._snapshot_step)

    def _snapshot_step(self) -> None:
        self._step, self._stepped = None, self._loop.time()
        self._throttle.poke()

    def _status_changed(self, status: str) -> None:
        if status in SNAPSHOTS:  # a snapshot comes in: it is written as it comes
            self._filling = status
        super()._status_changed(status)

    def _flush(self) -> None:
        """Write the next rows, then send views what they show (LiveWidget's `_flush`, for a chart): the status as
        the chart reads it, the count, the progress, and the viewer once its table holds rows (or the result has
        none: no view ever opens the empty table made before the schema is known). A flush that finds them as they
        were (a chunk written mid-snapshot, say) sends nothing."""
        if self.comm is None:
            return  # closed
        self._sync()
        if len(self.bridge.left_out) != self._left_out_told:
            self._tell()
        shown = self._to_show()
        if shown == self._shown:
            return
        self._shown = shown
        with self.hold_sync():
            self.status, self.total, self.progress, self._viewer = shown
            self.version += 1

    def _to_show(self) -> tuple[Any, ...]:
        """What views are to show now: the status, the count, the progress and the viewer (see `_flush`)."""
        viewer = self.bridge.viewer if self._viewer is not None or self._table_shown() else None
        return (self._status(), len(self.feed.result), self._progress(), viewer)

    def _table_shown(self) -> bool:
        """Whether views may draw the viewer: its table holds rows, or the result has none."""
        return len(self.feed.result) > self.bridge.pending or self._current()

    def _sync(self, everything: bool = False) -> None:
        """Write the next chunk of changed rows to the Perspective table (or all of them); another flush follows
        while some are left."""
        if "bridge" not in self.__dict__:
            return
        result = self.feed.result
        try:
            if result is not self._result:  # a first result, the feed's new one, or after a failure: every row
                self._result, self._dirty, self._most_written = result, {}, 0
                self.bridge.refill(result)
            self.bridge.mark(self._dirty)
            self._dirty, self._marked = {}, self._heard
            self.bridge.write(result, everything, more_coming=result.initializing)
        except BaseException as error:  # an interrupt goes on, once the chart will fill its table anew
            self._failed(error)
            if not isinstance(error, Exception):
                raise
            return
        if self.bridge.refused is None:  # a table took every row (one made anew for a wider schema, maybe)
            self._retries = 0
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
        if self.bridge.unwritten:
            self._throttle.poke()
        elif not self.bridge.pending and self.feed.status == "ready" and not result.initializing:
            self._filling = None

    def _chunk_written(self, error: BaseException | None) -> None:
        """A chunk of rows is in the Perspective table (or Perspective refused it): views are told when what they
        show changed with it (the viewer, not shown yet; a snapshot's progress; the status once it is all in, or
        the table filled anew after a refusal)."""
        if error is not None:
            self._failed(error)
        if error is not None or self._to_show() != self._shown or not self._current():
            self._throttle.poke()

    def _options_checked(self, said: str) -> None:
        self._options_said = said
        self._tell()

    def _tell(self) -> None:
        """The status line says what Perspective refuses of the viewer's options, until they are fixed, and which
        fields the chart leaves out (a message of another kind stays until the chart has something to say)."""
        notes = [self._options_said] if self._options_said else []
        if self.bridge.left_out:
            names = ", ".join(map(repr, self.bridge.left_out))
            notes.append(f"Left out of the chart (Perspective keeps these field names for itself): {names}.")
        said = " ".join(notes)
        self._left_out_told = len(self.bridge.left_out)
        if said or self.message == self._said:
            self.message = said
        self._said = said

    def _failed(self, error: BaseException) -> None:
        """Perspective refused rows (the status says so): the table is filled anew with every row a little later,
        later still after each refusal in a row, until it takes them all (an interrupt is gone at once; rows it
        cannot hold, once they change)."""
        log.error("%r: Perspective refused rows of the chart", self, exc_info=error)
        if self._retry is None:
            delay = min(FIRST_RETRY * 2**self._retries, LAST_RETRY)
            self._retries += 1
            self._retry = self._loop.call_later(delay, self._try_again)

    def _try_again(self) -> None:
        self._retry = None
        self._result = None  # every row, into a new table
        self._throttle.poke()

    def _current(self) -> bool:
        """Whether the table the viewer shows holds the current result (its last changes aside): not while a
        snapshot is written, nor while a table made anew fills aside."""
        return (
            self.feed.status == "ready"
            and self._filling is None
            and not self.bridge.filling
            and not self.bridge.aside
            and not self.bridge.refused
        )

    def _status(self) -> str:
        """The feed's status, but for a snapshot (or a table made anew, shown or filling aside) still being written:
        `initializing`, or `reconnecting` after a lost connection, until the table holds every row and is shown."""
        status = self.feed.status
        if status != "ready" or "bridge" not in self.__dict__ or self._current():
            return status
        if self.bridge.refused is not None:
            return refused(self.bridge.refused)
        return self._filling or "initializing"

    def _progress(self) -> dict[str, int | None]:
        """While the table is being filled: {rows: how many are written, of: how many in all, or None when not
        known}; a snapshot after a lost connection counts the rows it brought, as it is gathered aside. Rows handed
        to Perspective's thread count as written (it takes them in with its next poll, within half a second: a count
        of the rows it has taken in would fall back as rows arrive faster), and the count never falls back while a
        fill lasts (a table made anew for a wider schema mid-snapshot is filled again from its first row, quickly)."""
        result = self.feed.result
        if self._status() not in SNAPSHOTS:
            self._most_written = 0
            return {}
        if not result.initializing and self.feed.status != "ready":  # no snapshot coming in yet
            return {}
        if result.arrived != len(result):  # gathered aside, swapped in once whole
            return self.feed.progress()
        of = self.feed.expected if result.initializing else len(result)
        written = len(result) - len(self._dirty) - self.bridge.unwritten
        self._most_written = max(self._most_written, written)
        return {"rows": self._most_written if of is None else min(self._most_written, of), "of": of}
