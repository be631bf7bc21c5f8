"""LiveChart: a Perspective pivot or chart of a live query, kept equal to its result as the data changes.

    LiveChart(r.table("readings"), plugin="Y Line", group_by=["minute"], columns=["value"])
    LiveChart(r.table("orders"), plugin="Datagrid", group_by=["status"], split_by=["region"])

Perspective (perspective-python, the `charts` extra) does the pivots, aggregates and drawing; this widget feeds it:
the kernel holds the query's result (as for LiveTable), and a Perspective table in the kernel is brought up to date
with it in batches, at most `UPDATES_PER_SECOND` times a second: the first snapshot in one update once it is whole,
then the rows changed since the last batch; after a lost connection or an overflowed feed, the fresh snapshot
replaces every row (see chart_table.py for types and keys).

The widget is our own, with Perspective's viewer inside it: its status line (title, status, row count) and its
"not live" notice come from the same feed and the same kernel check as LiveTable's, so they never tell more than
the kernel knows, and its Python API is LiveTable's (`.rows`, `.status`, `await .ready()`, `.wait_until(...)`,
`.close()`). The viewer is Perspective's own widget (`.viewer`), so every option and control of Perspective's works;
its configuration lives in its traits, changed from Python or in the viewer.
"""

from __future__ import annotations

import logging
from typing import Any

import anywidget
import traitlets

from rethink_widgets.jupyter.live_widget import CurrentCount, LiveWidget, asset
from rethink_widgets.jupyter.results import RowChange

log = logging.getLogger(__name__)

# Perspective 5.6's plugins (the first is the pivot table).
PLUGINS = (
    "Datagrid",
    "Y Bar",
    "X Bar",
    "Y Line",
    "Y Area",
    "Y Scatter",
    "X/Y Line",
    "X/Y Scatter",
    "Heatmap",
    "Treemap",
    "Sunburst",
    "Candlestick",
    "OHLC",
    "Map Scatter",
)
READ_ONLY = (
    "LiveChart's viewer is read-only: an edit in it would change the chart, not the database. "
    "Write to the database instead (or use LiveTable, whose edits are writes)."
)
MISSING = "LiveChart needs Perspective, installed with the charts extra: pip install 'rethink_widgets[charts]'"


def _reference(widget: anywidget.AnyWidget | None, _: Any) -> str | None:
    """A widget in a synced trait, as ipywidgets sends one: views find its model by this name."""
    return None if widget is None else f"IPY_MODEL_{widget.model_id}"


class LiveChart(LiveWidget):
    _esm = asset("live_chart.js")

    viewer = traitlets.Instance(anywidget.AnyWidget, allow_none=True, help="Perspective's viewer widget.").tag(
        sync=True, to_json=_reference
    )
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
            from rethink_widgets.jupyter.chart_table import ChartTable
        except ImportError as error:
            raise ImportError(MISSING) from error
        if plugin not in PLUGINS:
            raise ValueError(f"plugin must be one of {', '.join(map(repr, PLUGINS))}; not {plugin!r}")
        if (viewer_options.get("plugin_config") or {}).get("edit_mode") == "EDIT":
            raise ValueError(READ_ONLY)
        options: dict[str, Any] = {"plugin": plugin, "group_by": group_by, "split_by": split_by, "columns": columns}
        options |= {"aggregates": aggregates, "filter": filter, "sort": sort, **viewer_options}
        self._dirty: set[str] = set()  # keys of the rows changed since the last batch
        self._refill = True  # every row goes in at the next batch: a snapshot came in whole
        super().__init__(query, conn=conn)
        try:
            self.bridge = ChartTable(self._loop, options)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- Python API

    @property
    def rows(self) -> list[Any]:
        """The query's current result, in the feed's order (the Perspective table holds the same rows)."""
        return self.feed.result.rows()

    @property
    def table(self) -> Any:
        """The Perspective table the viewer shows (a new one when the schema widens), holding the rows of `.rows`:
        changes not yet sent in a batch go in first."""
        self._sync()
        return self.bridge.table

    def __repr__(self) -> str:
        count = len(self.feed.result)
        plugin = self.bridge.viewer.plugin if "bridge" in self.__dict__ else "-"
        return f"LiveChart({self.title}, {plugin}, {count} row{'' if count == 1 else 's'}, {self.status})"

    def close(self) -> None:
        super().close()
        if "bridge" in self.__dict__:
            self.bridge.close()

    # ---------------------------------------------------------------- the feed and the views

    def _changed(self, changes: list[RowChange]) -> None:
        if not self.feed.result.initializing:  # the rows of a snapshot go in all at once when it is whole
            self._dirty.update(change.key for change in changes)
        self._throttle.poke()

    def _status_changed(self, status: str) -> None:
        if status != "ready":  # a fresh snapshot follows: it replaces every row once it is whole
            self._refill = True
        super()._status_changed(status)

    def _draw(self) -> None:
        self.total = len(self.feed.result)
        if self._sync():
            # Views draw the viewer once its table holds the first snapshot: none ever opens the empty one made
            # before the schema was known.
            self.viewer = self.bridge.viewer

    def _sync(self) -> bool:
        """Bring the Perspective table up to date with the result; whether it is."""
        if self.feed.status != "ready" or self.feed.result.initializing or "bridge" not in self.__dict__:
            return False  # what the table shows stays until the snapshot coming in is whole
        if not (self._dirty or self._refill):
            return True
        dirty, self._dirty = self._dirty, set()
        refill, self._refill = self._refill, False
        try:
            self.bridge.sync(self.feed.result, dirty, refill)
        except Exception as error:
            log.exception("%r: updating the Perspective table failed", self)
            self.message = f"Internal error: {type(error).__name__}: {error} (see the kernel's log)"
            self._refill = True  # try again with every row at the next change
            return False
        return True
