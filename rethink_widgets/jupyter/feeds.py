"""Changefeeds kept open on the kernel's event loop.

A `LiveFeed` holds the current result of a query (`results.ResultSet`) and keeps it current: it opens the feed with
`include_initial` and `include_states`, applies every change, and when the connection drops, the server restarts or
the feed overflows, it reconnects with backoff and takes a fresh snapshot (RethinkDB feeds cannot resume), so that
nothing it holds is stale once it says `ready`. `Watch` and `Feed` are the plain forms (change_streams.py).

Every feed is a task on the loop the kernel runs cells on, referenced from `LIVE` until it is closed. Errors are never
swallowed: they become the feed's status, which widgets show and `%rethink` lists. What a cell made is closed when
the cell runs again (cell_runs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Self

import orjson
from rethinkdb import errors
from rethinkdb.ast import ReQLDecoder

from rethink_widgets.jupyter import collector
from rethink_widgets.jupyter.connection import Connector, reconnecting
from rethink_widgets.jupyter.feed_check import waiting_for
from rethink_widgets.jupyter.queries import QueryInfo, describe
from rethink_widgets.jupyter.results import ResultSet, RowChange

log = logging.getLogger(__name__)

FIRST_RETRY, LAST_RETRY = 0.1, 5.0
SLICE_SECONDS = 0.02  # the longest a feed handles rows of one batch before letting the loop run others
SLICE_ROWS = 20_000  # rows of a fresh snapshot compared with those held before letting the loop run others
CHANGES_AT_ONCE = 1000  # changes of a batch applied and told together (a few milliseconds of work)

# What a LiveFeed says from an overflow (the server's only error within a feed) until its fresh snapshot is whole.
OVERFLOWED = (
    "reconnecting: the feed overflowed (changes came faster than the kernel read them, so the server dropped some); "
    "taking a fresh snapshot"
)

LIVE: dict[int, Background] = {}  # every open feed and watch, by number, for `%rethink`
_numbers = iter(range(1, 1 << 62))


class Resync(Exception):
    """The feed missed changes (its queue overflowed): take a fresh snapshot."""


class Stopped(Exception):
    """The consumer of a feed failed (a watch's callback raised): the feed ends, its status says why."""


class UnreadableValue(Exception):
    """The driver could not read a value of the feed's result (a time before year 1 or after 9999, which Python's
    datetime cannot hold): it closed the connection over it, and would at every try, so the feed ends."""


class _Decoder(ReQLDecoder):  # type: ignore[misc]  # the driver ships no types
    """The driver's decoder of a feed's responses, noting on the feed a value it cannot read (`UnreadableValue`):
    the driver then closes the connection, saying only that it did.

    A response with no pseudo-type (a time, binary data) in it, as most of a snapshot's are, orjson reads: in a third
    of the time, where the driver's decoder calls Python for every object. It reads what Python's json module reads
    alike, but for integers of 19 digits or more (some it reads as doubles) and what it refuses (NaN, a lone UTF-16
    surrogate): a response holding such is read the driver's way."""

    def __init__(self, feed: Background, reql_format_opts: Any = None) -> None:
        super().__init__(reql_format_opts)
        self._feed = feed

    def decode(self, s: str, *args: Any) -> Any:
        with collector.paused():  # (a snapshot's batch is thousands of rows: see collector.py)
            if _PSEUDO_TYPE not in s and _LONG_NUMBER not in s.translate(_DIGITS_AS_ZERO):
                with contextlib.suppress(orjson.JSONDecodeError):
                    return orjson.loads(s)
            return super().decode(s, *args)

    def convert_pseudotype(self, obj: dict[str, Any]) -> Any:
        try:
            return super().convert_pseudotype(obj)
        except (ValueError, OverflowError, OSError) as error:  # datetime's, binary data's
            self._feed.unreadable = UnreadableValue(
                f"the driver could not read a value of the result: {error}, in {json.dumps(obj)}. Change that value "
                "in the database, or filter it out of the query, then run the cell again."
            )
            raise


_PSEUDO_TYPE = "$reql_type$"
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_LONG_NUMBER = "0" * 19


class Background:
    """A task on the event loop that follows a query's changes, listed in `LIVE` until it is closed; it reconnects
    with backoff while trying again may help."""

    def __init__(self, query: Any, database: Connector) -> None:
        self.query = query
        self.info: QueryInfo = describe(query)
        self.database = database
        self.number = next(_numbers)
        self.kind = type(self).__name__  # what `%rethink` calls it (a widget names itself)
        self.status = "connecting"
        self.last_error = ""
        self.changes_seen = 0
        self._recent: deque[float] = deque()
        self._task: asyncio.Task[None] | None = None
        self._cursor: Any = None
        self._delay = FIRST_RETRY
        self._closed = False
        self.unreadable: UnreadableValue | None = None  # why the driver closed the last connection (`_Decoder`)

    def start(self) -> Self:
        LIVE[self.number] = self
        self._task = asyncio.get_event_loop().create_task(self._run())
        return self

    @property
    def name(self) -> str:
        return self.info.name(self.database.default_db)

    def rate(self) -> float:
        """Changes per second over the last second."""
        cutoff = time.monotonic() - 1.0
        while self._recent and self._recent[0] < cutoff:
            self._recent.popleft()
        return float(len(self._recent))

    def _count(self, changes: int) -> None:
        now = time.monotonic()
        self._recent.extend(now for _ in range(changes))
        self.changes_seen += changes

    def reopen(self, database: Connector) -> None:
        """Follow the query again, on `database`, once closed (`%reload_ext` closes every feed, then reopens the
        widgets' and watches' on its new connection): as after a lost connection, a LiveFeed takes a fresh snapshot."""
        earlier = self._task
        self.database = database
        self._closed = False
        self.unreadable = None
        self._delay = FIRST_RETRY
        self._set_status("connecting")
        LIVE[self.number] = self
        self._task = asyncio.get_event_loop().create_task(self._run_after(earlier))

    async def _run_after(self, earlier: asyncio.Task[None] | None) -> None:
        if earlier is not None:
            await asyncio.wait([earlier])  # it closes its cursor first: the two never share `_cursor`
        await self._run()

    def close(self) -> None:
        """Cancel the task; its cursor and connection are closed. A feed that failed keeps saying why."""
        LIVE.pop(self.number, None)
        failed = self._task is not None and self._task.done() and self.status.startswith("error:")
        if not failed:
            self._set_status("closed")
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    def _go_on(self) -> None:
        """End the task if the feed was closed. Its cancel can be lost: Python 3.11's `asyncio.wait_for` (which the
        driver's handshake awaits) returns the result instead when the awaited read completes as the cancel lands, so
        the task checks after each await that may have swallowed it."""
        if self._closed:
            raise asyncio.CancelledError

    # ---------------------------------------------------------------- the task

    async def _run(self) -> None:
        while True:
            self._go_on()  # a retry too: the cancel may have been lost in a connect that then failed
            conn = None
            try:
                conn = await self.database.connect()
                self._go_on()
                await self._follow(conn)
            except Resync:
                continue
            except Stopped:
                return
            except Exception as error:
                error = self.unreadable or error  # the driver's own word is only that the connection closed
                if not self._survives(error, conn):
                    self._failed(error)
                    return
            finally:
                await self._close_cursor(conn)
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, LAST_RETRY)

    async def _follow(self, conn: Any) -> None:
        """Open the feed on `conn` and handle its messages until it ends or fails."""
        raise NotImplementedError

    async def _open(self, changes: Any, conn: Any) -> Any:
        """The cursor of `changes` (a query's `changes(...)`) on `conn`, its values read by `_Decoder`."""
        return await changes.run(conn, json_decoder=functools.partial(_Decoder, self))

    def _survives(self, error: Exception, conn: Any) -> bool:
        """Show what went wrong; whether trying again may help (the connection or the table came and went)."""
        if isinstance(error, UnreadableValue):
            self._lost(f"error: {error}", error)
            return False
        lost = isinstance(error, errors.ReqlError) and not _is_open(conn)
        if lost or isinstance(error, errors.ReqlDriverError | errors.ReqlTimeoutError):
            self._lost(reconnecting(self.database.settings, error, LAST_RETRY), error)
            return True
        if isinstance(error, errors.ReqlAvailabilityError):  # a table missing or unavailable, for now
            waiting = waiting_for(error_text(error))
            self._lost(waiting or f"error: {error_text(error)} (retrying)", error)
            return True
        if not isinstance(error, errors.ReqlError):
            log.error("feed %s failed", self.name, exc_info=error)
        self._lost(f"error: {error_text(error)}", error)
        return False

    def _failed(self, error: Exception) -> None:
        """The feed ended for good with `error` (already its status)."""

    def _lost(self, status: str, error: BaseException) -> None:
        self.last_error = error_text(error)
        self._set_status(status)

    def _set_status(self, status: str) -> None:
        if not self._closed:  # once closed, a feed says nothing more
            self.status = status

    async def _close_cursor(self, conn: Any) -> None:
        cursor, self._cursor = self._cursor, None
        with contextlib.suppress(Exception):
            if cursor is not None and conn is not None and conn.is_open():
                await cursor.close()
        with contextlib.suppress(Exception):
            if conn is not None:
                await conn.close(noreply_wait=False)


class LiveFeed(Background):
    """A query's result, kept current; `on_changes` hears about every change applied, `on_status` of each state."""

    def __init__(
        self,
        query: Any,
        database: Connector,
        on_changes: Callable[[list[RowChange]], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        prepare: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(query, database)
        self.result = ResultSet()
        self._prepare = prepare
        self.primary_key: str | None = None
        self._on_changes = on_changes
        self._on_status = on_status
        self._ready = asyncio.Event()  # set when the result is current, or when the feed failed for good
        self.failure: Exception | None = None
        self.expected: int | None = None  # how many rows the snapshot coming in brings, when a count is cheap
        self._counting: asyncio.Task[None] | None = None
        self._collector_hold = collector.Hold()  # while a snapshot comes in (see collector.py)

    async def ready(self, timeout: float | None = 10) -> None:
        """Wait until the result is complete and current; raises the feed's error if it failed for good, and
        TimeoutError says what the feed is doing instead."""
        try:
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.name} is not ready after {timeout} s: {self.status}") from None
        if self.failure is not None:
            raise self.failure.with_traceback(None)  # each await raises it afresh, not with the last one's frames

    async def _follow(self, conn: Any) -> None:
        if self._prepare is not None:
            await self._prepare(conn)
            self._prepare = None
        if self.info.table is not None and self.primary_key is None:
            self.primary_key = (await self.database.table(self.info).info().run(conn))["primary_key"]
            self.result = ResultSet(self.primary_key, positioned=self.info.ordered_limit)
        self._cursor = await self._open(self.query.changes(**feed_options(self.info)), conn)
        self.expected = None
        if self.info.countable:
            # Never cancelled: the driver closes a connection that answers a query whose caller is gone.
            self._counting = asyncio.get_running_loop().create_task(self._count_rows(conn))
        pause_at = time.monotonic() + SLICE_SECONDS
        try:
            async for first in self._cursor:
                self._go_on()
                for part in _parts(_with_held(self._cursor, first)):
                    if part[0].get("state") == "ready":
                        await self._end_snapshot()
                    else:
                        self._handle(part)
                    # A batch brings tens of thousands of rows of a snapshot: let the loop run others now and then.
                    if time.monotonic() > pause_at:
                        await asyncio.sleep(0)
                        self._go_on()
                        self._collector_hold.renew()
                        pause_at = time.monotonic() + SLICE_SECONDS
        finally:
            self._collector_hold.stop()

    async def _count_rows(self, conn: Any) -> None:
        """Count the rows of a whole table while its snapshot comes in (a count is only there to show progress:
        when it fails, the feed itself says why or goes on)."""
        with contextlib.suppress(errors.ReqlError):
            count = await self.query.count().run(conn)
            if self.result.initializing:
                self.expected = count

    def progress(self) -> dict[str, int | None]:
        """While a snapshot comes in, {rows: how many so far, of: how many in all or None when not known}."""
        if not self.result.initializing:
            return {}
        return {"rows": self.result.arrived, "of": self.expected}

    async def _end_snapshot(self) -> None:
        """The snapshot is whole: compare it with what was held a slice at a time (no message is read meanwhile),
        swap it in, say ready."""
        ending = self.result.ending(SLICE_ROWS)
        while True:
            try:
                next(ending)
            except StopIteration as done:
                changes: list[RowChange] = done.value
                break
            await asyncio.sleep(0)
            self._go_on()
            self._collector_hold.renew()
        self._collector_hold.stop()
        self._delay = FIRST_RETRY
        self._set_status("ready")
        self._ready.set()
        self._tell(changes)

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        """Handle a part of a batch (see `_parts`): a state, an error, or changes to apply."""
        state = messages[0].get("state")
        if state == "initializing":
            self._collector_hold.start()
            self.result.begin_snapshot()
            if self.status != OVERFLOWED:  # it says so until the snapshot is whole
                self._set_status("initializing" if self.status == "connecting" else "reconnecting")
        elif "error" in messages[0]:
            # The result is stale from now on, not from when the fresh snapshot begins.
            error = messages[0]["error"]
            self._lost(OVERFLOWED, Resync(error))
            raise Resync(error)
        else:
            changes: list[RowChange] = []
            # (the changes are made, applied by the views and dropped before the collector runs: see collector.py)
            with collector.paused():
                try:
                    self.result.apply_all(messages, changes)
                finally:  # (the views hear of every change applied: they must agree with the result)
                    if not self.result.initializing:  # the rows of a snapshot are no changes per second
                        self._count(len(changes))
                    self._tell(changes)

    def _tell(self, changes: list[RowChange]) -> None:
        if changes and self._on_changes is not None:
            self._on_changes(changes)

    def _lost(self, status: str, error: BaseException) -> None:
        self._ready.clear()
        super()._lost(status, error)

    def _failed(self, error: Exception) -> None:
        self.failure = error
        self._ready.set()  # `ready()` wakes and raises it

    def reopen(self, database: Connector) -> None:
        self._ready.clear()
        self.failure = None
        super().reopen(database)

    def _set_status(self, status: str) -> None:
        if self._closed or status == self.status:
            return
        self.status = status
        if self._on_status is not None:
            self._on_status(status)


def feed_options(info: QueryInfo) -> dict[str, Any]:
    """What a `LiveFeed` of a query asks `changes()` for."""
    # squash: a view needs only the latest state of each row, so a feed that falls behind skips the rest.
    options = {"include_initial": True, "include_states": True, "squash": True}
    if info.ordered_limit:
        # Rows are placed by offset, and RethinkDB's squash of a limit feed keeps the first offsets of the changes it
        # merges: those no longer say where a row goes. Unsquashed, each change's offsets hold in turn.
        options.update(include_offsets=True, squash=False)
    return options


def error_text(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return text if isinstance(error, errors.ReqlError) else f"{type(error).__name__}: {text}"


def _with_held(cursor: Any, first: Any) -> list[Any]:
    """`first` and the messages the driver holds after it, taken at once: a batch of a snapshot brings thousands,
    and a step through the cursor for each costs more than handling it. (The driver asks for the next batch as each
    arrives, whatever is taken from the one before.)"""
    held = getattr(cursor, "items", None)
    if not isinstance(held, deque) or not held:
        return [first]
    messages = [first, *held]
    held.clear()
    return messages


def _parts(messages: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Messages in order, in parts: each state or error alone, changes in runs of up to CHANGES_AT_ONCE."""
    run: list[dict[str, Any]] = []
    for message in messages:
        if "state" in message or "error" in message:
            if run:
                yield run
                run = []
            yield [message]
        else:
            run.append(message)
            if len(run) == CHANGES_AT_ONCE:
                yield run
                run = []
    if run:
        yield run


def _is_open(conn: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(conn.is_open())
    return False
