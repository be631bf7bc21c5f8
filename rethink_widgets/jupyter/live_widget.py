"""What every live widget shares: a feed on the kernel's loop, coalesced updates, requests handed to the loop.

The kernel is the truth: the feed's result lives here, and views draw from synced traits, so a page reload or a
second view needs nothing special. Updates are coalesced: the first change after a quiet spell goes out at once,
later ones at most `UPDATES_PER_SECOND` times a second, each one a single comm message holding the current state
(a LiveTable's views that asked for rows of their own get them in one more, see view_windows.py), so a view that
missed a message is made whole by the next one.

Front-end messages may be handled on a subshell thread (JupyterLab 4.4+ with ipykernel 7): state updates and
requests alike are handed to the loop the widget was made on, where all state changes, observers and database work
happen.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from rethinkdb.errors import ReqlError

from rethink_widgets.jupyter import connection, feed_check, messages
from rethink_widgets.jupyter.cell_runs import end_earlier_run, replace_earlier_run
from rethink_widgets.jupyter.feeds import LiveFeed, feed_options
from rethink_widgets.jupyter.queries import describe
from rethink_widgets.jupyter.results import RowChange
from rethink_widgets.jupyter.table_view import TableView

log = logging.getLogger(__name__)

UPDATES_PER_SECOND = 30
STEP_SECONDS = 0.02  # the longest building a view's new order keeps the kernel's loop before letting others run
# What carries out each request type a widget's views may make (its result is not used).
Handlers = Mapping[type[messages.Request], Callable[[Any], Awaitable[object]]]
_STATIC = Path(__file__).resolve().parent / "static"


def asset(name: str) -> Path:
    """A widget's front-end module, bundled from the repository's js/ into jupyter/static/ when the package is built
    or installed (see js/README.md)."""
    path = _STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the widgets' front end is built from js/ by `npm ci && npm run build` there"
            " (`make` and `pip install .` run it)."
        )
    return path


class Budget:
    """Update slots shared by every widget of a kernel, so many busy widgets together stay under Jupyter's limit
    of 1000 iopub messages a second (beyond it, messages are dropped)."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    def reserve(self, now: float) -> float:
        """Take the next free slot; returns how long to wait for it."""
        slot = max(now, self._next)
        self._next = slot + self._interval
        return slot - now


# At most two messages an update (a LiveTable's views' own rows, then the state): 800 a second, under the limit.
KERNEL_BUDGET = Budget(per_second=400)


class Throttle:
    """Calls `flush` soon after `poke()`: at once after a quiet spell, then at most `per_second` times a second,
    and never faster than the shared `budget` allows."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, flush: Callable[[], None], per_second: float, budget: Budget
    ) -> None:
        self._loop = loop
        self._flush = flush
        self._interval = 1.0 / per_second
        self._budget = budget
        self._last = -self._interval
        self._handle: asyncio.Handle | asyncio.TimerHandle | None = None

    def poke(self) -> None:
        if self._handle is None:
            now = self._loop.time()
            start = max(now, self._last + self._interval)
            wait = start - now + self._budget.reserve(start)
            if wait > 0:
                self._handle = self._loop.call_later(wait, self._fire)
            else:
                self._handle = self._loop.call_soon(self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._last = self._loop.time()
        self._flush()


class FeedStatus(traitlets.Unicode[str, str | bytes]):
    """A status that reads, in Python, as the feed's own state at this moment: views are sent it with the next
    (throttled) update, but `await w.ready()`, `w.status` and the repr never lag behind the feed."""

    def get(self, obj: Any, cls: Any = None) -> Any:
        feed = obj.__dict__.get("feed")  # not there yet while the widget is being made
        return feed.status if isinstance(feed, LiveFeed) else super().get(obj, cls)


class CurrentCount(traitlets.Int[int, int]):
    """A count that reads, in Python, from the result as it is at this moment (as `status` does): views are sent it
    with the next (throttled) update, but a count never disagrees with the rows read beside it, as in
    `await todo.wait_until(lambda t: t.left == 2)` followed by `todo.items`."""

    def __init__(self, count: Callable[[Any], int], help: str) -> None:
        super().__init__(0, help=help)
        self._count = count

    def get(self, obj: Any, cls: Any = None) -> Any:
        made = isinstance(obj.__dict__.get("feed"), LiveFeed)  # not yet while the widget is being made
        return self._count(obj) if made else super().get(obj, cls)


class LoopWidget(anywidget.AnyWidget):
    """A widget whose views' updates are applied on the loop it was made on (`_loop`), whatever thread ipykernel
    hands them over on (a subshell's, with JupyterLab 4.4+ and ipykernel 7): its observers never run elsewhere."""

    _loop: asyncio.AbstractEventLoop

    def set_state(self, sync_data: dict[str, Any]) -> None:
        if _running_loop() is self._loop:
            self._apply_state(sync_data)
        else:
            self._loop.call_soon_threadsafe(self._apply_state, sync_data)

    def _apply_state(self, sync_data: dict[str, Any]) -> None:
        """An update the traits refuse is answered with the kernel's values (and `_refused`)."""
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as error:
            self._refused(error)
            self.send_state([key for key in sync_data if key in self.keys])

    def _refused(self, error: traitlets.TraitError) -> None:
        log.warning("%s: a view's update was refused: %s", type(self).__name__, error)


class LiveWidget(LoopWidget):
    """Base of the live widgets: owns the feed of `query` and keeps the synced state current."""

    title = traitlets.Unicode("", help="Where the rows come from, as `db.table`.").tag(sync=True)
    status = FeedStatus(
        "connecting",
        help="connecting, initializing, ready, reconnecting, waiting for table db.t to be created, error: ..., closed.",
    ).tag(sync=True)
    message = traitlets.Unicode("", help="The outcome of the last write that did not go as asked.").tag(sync=True)
    version = traitlets.Int(0, help="Counts state updates, so views can tell fresh state from stale.").tag(sync=True)
    progress = traitlets.Dict(
        help="While a snapshot comes in: {rows: how many so far, of: how many in all, or null when not known}."
    ).tag(sync=True)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # What an earlier run of the cell made goes before a widget's arguments are checked: a run that is refused
        # leaves no chart or table of the earlier one running, without a view, behind it.
        end_earlier_run()
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, query: Any, conn: Any = None, **kwargs: Any) -> None:
        __tracebackhide__ = True  # IPython shows a refusal with the user's cell and where it is raised, no more
        if isinstance(conn, connection.Connector):  # another widget's database (LiveTable.chart)
            database = conn
        else:
            database = connection.Connector(connection.Settings.of_connection(conn)) if conn else connection.current()
        self._check_query(query, database)  # before the widget exists: a query refused leaves nothing behind
        super().__init__(**kwargs)
        self._loop = asyncio.get_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._requests = asyncio.Lock()  # one view request at a time, in the order they were made
        self._throttle = Throttle(self._loop, self._flush, UPDATES_PER_SECOND, KERNEL_BUDGET)
        self._building: asyncio.Handle | None = None
        self.feed = LiveFeed(
            query, database, on_changes=self._changed, on_status=self._status_changed, prepare=self._prepare
        )
        self.feed.kind = type(self).__name__
        self.title = self.feed.name
        self.view = TableView(self.feed.result)  # the rows in the order views show them
        self.on_msg(self._received)
        replace_earlier_run(self)
        self.feed.start()

    def _check_query(self, query: Any, database: connection.Connector) -> None:
        """Refuse here, in the cell, a query the database will not follow; say so when the widget is to wait for
        its table."""
        __tracebackhide__ = True
        options = {**feed_options(describe(query)), "include_initial": False}
        missing = feed_check.check(type(self).__name__, query, options, database)
        if missing is not None:
            self._say_waiting(missing)

    def _say_waiting(self, missing: str) -> None:
        """Tell the person running the cell that the widget waits for its table (a typo in its name shows here);
        `missing` is RethinkDB's word that it does not exist."""
        print(f"{type(self).__name__}: {missing[:-1]}; waiting for it to be created.", file=sys.stderr)

    # ---------------------------------------------------------------- Python API

    @property
    def database(self) -> connection.Connector:
        """Where the rows come from and writes go: the feed's (`%reload_ext` moves it to the new connection)."""
        return self.feed.database

    @property
    def result(self) -> Any:
        return self.feed.result

    async def ready(self, timeout: float | None = 10) -> None:
        """Wait until the widget holds the complete, current result (its views draw it with the next update)."""
        await self.feed.ready(timeout)

    async def wait_until(self, condition: Callable[[Any], Any], timeout: float = 10) -> None:
        """Wait until `condition(widget)` holds, e.g. `await t.wait_until(lambda t: len(t.rows) == 6)`."""
        deadline = self._loop.time() + timeout
        while not condition(self):
            if self._loop.time() > deadline:
                raise TimeoutError(f"{self!r}: the condition did not hold within {timeout} s")
            await asyncio.sleep(0.02)

    def close(self) -> None:
        """Stop the feed and close the widget's comm (every view of it)."""
        if "feed" not in self.__dict__:  # refused in its cell, so never made (ipywidgets closes it when collected)
            return
        self.feed.close()
        self._throttle.cancel()
        if self._building is not None:  # a closed view's order is not worth building any further
            self._building.cancel()
            self._building = None
        for task in self._tasks:
            task.cancel()
        self.status = "closed"  # the views' last word
        super().close()

    # ---------------------------------------------------------------- feed events (on the loop)

    def _changed(self, changes: list[RowChange]) -> None:
        if self.view.result is not self.feed.result:  # the feed started over with a new result
            self.view.use(self.feed.result)
        else:
            self.view.apply(changes)  # a change too big to follow row by row builds the order anew
        self._keep_building()
        self._throttle.poke()

    def _keep_building(self) -> None:
        """Build the view's new order a slice at a time, so feed updates go out and cells run in between."""
        if self._building is None and self.view.busy:
            self._building = self._loop.call_soon(self._build_step)

    def _build_step(self) -> None:
        self._building = None
        was_building = self.view.building
        if self.view.advance(STEP_SECONDS) and was_building:
            self._throttle.poke()  # the new order shows
        self._keep_building()

    def _status_changed(self, status: str) -> None:
        self._throttle.poke()

    def _flush(self) -> None:
        if self.comm is None:
            return  # closed
        with self.hold_sync():
            self.status = self.feed.status
            self.progress = self.feed.progress()
            self._draw()
            self.version += 1

    async def _prepare(self, conn: Any) -> None:
        """Run once on the feed's first connection, before it opens (a widget may create its table here)."""

    def _draw(self) -> None:
        """Set the synced traits that views draw (called at most `UPDATES_PER_SECOND` times a second)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- front-end messages (any thread)

    def on_loop(self, work: Callable[[], Any]) -> None:
        """Run `work()` on the widget's loop, whatever thread this is."""
        self._loop.call_soon_threadsafe(work)

    def _refused(self, error: traitlets.TraitError) -> None:
        self.message = str(error)  # views show why their change was rolled back

    def _received(self, _: Any, content: Any, buffers: Any) -> None:
        """A view's message (see messages.py). A hello is answered at once on this thread: on a subshell (ipykernel
        routes a comm's messages to the subshell it last sent from) even while a cell keeps the loop busy. Requests
        are carried out on the loop, in turn when they write."""
        if messages.is_hello(content):
            if self.comm is not None:  # not closed
                self.send(messages.Live().to_json())
        else:
            self.on_loop(lambda: self.spawn(self._handle(content)))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, content: Any) -> None:
        handlers = self._handlers()
        try:
            request = messages.parse(content, handlers)
            if request.in_turn:
                async with self._requests:
                    await handlers[type(request)](request)
            else:
                await handlers[type(request)](request)
        except (ValueError, TypeError) as error:  # refused, and this says why
            self.message = str(error)
        except ReqlError as error:
            self.message = f"The database refused: {error.message}"
        except Exception as error:
            log.exception("%r: a view's request %r failed", self, content)
            self.message = f"Internal error: {type(error).__name__}: {error} (see the kernel's log)"
        else:
            return
        self._throttle.poke()  # views redraw from the kernel's state: a change they showed early is rolled back

    def _handlers(self) -> Handlers:
        """The requests this widget's views may make, each with the method that carries it out; a ValueError or
        TypeError it raises says why not."""
        return {}

    def _table(self) -> Any:
        """The table the widget's rows come from, for writes."""
        return self.database.table(self.feed.info)

    async def _write(self, query: Any) -> dict[str, Any]:
        """Run a write on the widgets' write connection; a refused document raises ValueError with the reason."""
        result: dict[str, Any] = await query.run(await self.database.writer())
        if result.get("errors"):
            raise ValueError(result.get("first_error", "The write failed."))
        self.message = ""
        return result


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a thread with no loop running, such as a subshell's
        return None
