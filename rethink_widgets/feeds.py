"""Changefeeds kept open on the kernel's event loop.

A `LiveFeed` holds the current result of a query (`results.ResultSet`) and keeps it current: it opens the feed with
`include_initial` and `include_states`, applies every change, and when the connection drops, the server restarts or
the feed overflows, it reconnects with backoff and takes a fresh snapshot (RethinkDB feeds cannot resume), so that
nothing it holds is stale once it says `ready`. `watch` and `feed` are the plain forms: a callback per change, or an
async iterator of changes.

Every feed is a task on the loop the kernel runs cells on, referenced from `LIVE` until it is closed. Errors are never
swallowed: they become the feed's status, which widgets show and `%rethink` lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from rethinkdb import errors

from rethink_widgets.database import Database
from rethink_widgets.queries import QueryInfo, describe
from rethink_widgets.results import Change, ResultSet

log = logging.getLogger(__name__)

FIRST_RETRY, LAST_RETRY = 0.1, 5.0

LIVE: dict[int, Background] = {}  # every open feed and watch, by number, for `%rethink`
_numbers = iter(range(1, 1 << 62))


class Resync(Exception):
    """The feed missed changes (its queue overflowed): take a fresh snapshot."""


class Background:
    """A task on the event loop that follows a query's changes, listed in `LIVE` until it is closed."""

    def __init__(self, query: Any, database: Database) -> None:
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

    def start(self) -> Any:
        LIVE[self.number] = self
        self._task = asyncio.get_event_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        raise NotImplementedError

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

    def close(self) -> None:
        """Cancel the task; its cursor and connection are closed."""
        LIVE.pop(self.number, None)
        if self._task is not None:
            self._task.cancel()
        self._set_status("closed")

    def _set_status(self, status: str) -> None:
        self.status = status


class LiveFeed(Background):
    """A query's result, kept current; `on_changes` hears about every change applied, `on_status` of each state."""

    def __init__(
        self,
        query: Any,
        database: Database,
        on_changes: Callable[[list[Change]], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        prepare: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(query, database)
        self.result = ResultSet()
        self._prepare = prepare
        self.primary_key: str | None = None
        self._on_changes = on_changes
        self._on_status = on_status
        self._ready = asyncio.Event()
        self._cursor: Any = None
        self._delay = FIRST_RETRY

    async def ready(self, timeout: float | None = 10) -> None:
        """Wait until the result is complete and current; TimeoutError says what the feed is doing instead."""
        try:
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.name} is not ready after {timeout} s: {self.status}") from None

    # ---------------------------------------------------------------- the task

    async def _run(self) -> None:
        while True:
            conn = None
            try:
                conn = await self.database.connect()
                await self._follow(conn)
            except Resync:
                continue
            except Exception as error:
                if not self._survives(error, conn):
                    return
            finally:
                await self._close_cursor(conn)
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, LAST_RETRY)

    async def _follow(self, conn: Any) -> None:
        if self._prepare is not None:
            await self._prepare(conn)
            self._prepare = None
        if self.info.table is not None and self.primary_key is None:
            self.primary_key = (await self.database.table(self.info).info().run(conn))["primary_key"]
            self.result = ResultSet(self.primary_key, positioned=self.info.ordered_limit)
        # squash: a view needs only the latest state of each row, so a feed that falls behind skips the rest.
        options = {"include_initial": True, "include_states": True, "squash": True}
        if self.info.ordered_limit:
            options["include_offsets"] = True
        self._cursor = await self.query.changes(**options).run(conn)
        async for message in self._cursor:
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        state = message.get("state")
        if state == "initializing":
            self.result.begin_snapshot()
            self._set_status("initializing" if self.status == "connecting" else "reconnecting")
        elif state == "ready":
            changes = self.result.end_snapshot()
            self._delay = FIRST_RETRY
            self._set_status("ready")
            self._ready.set()
            self._tell(changes)
        elif "error" in message:
            self.last_error = message["error"]
            raise Resync(message["error"])
        else:
            changes = self.result.apply(message)
            if not self.result.initializing:
                self._count(len(changes))
                self._tell(changes)

    def _survives(self, error: Exception, conn: Any) -> bool:
        """Show what went wrong; whether trying again may help (the connection or the table came and went)."""
        lost = isinstance(error, errors.ReqlError) and not _is_open(conn)
        if lost or isinstance(error, errors.ReqlDriverError | errors.ReqlTimeoutError):
            self._lost("reconnecting", error)
            return True
        if isinstance(error, errors.ReqlAvailabilityError):  # a table missing or unavailable, for now
            self._lost(f"error: {_message(error)} (retrying)", error)
            return True
        if not isinstance(error, errors.ReqlError):
            log.error("feed %s failed", self.name, exc_info=error)
        self._lost(f"error: {_message(error)}", error)
        return False

    def _tell(self, changes: list[Change]) -> None:
        if changes and self._on_changes is not None:
            self._on_changes(changes)

    def _lost(self, status: str, error: BaseException) -> None:
        self.last_error = _message(error)
        self._ready.clear()
        self._set_status(status)

    def _set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        if self._on_status is not None:
            self._on_status(status)

    async def _close_cursor(self, conn: Any) -> None:
        cursor, self._cursor = self._cursor, None
        with contextlib.suppress(Exception):
            if cursor is not None and conn is not None and conn.is_open():
                await cursor.close()
        with contextlib.suppress(Exception):
            if conn is not None:
                await conn.close(noreply_wait=False)


def _message(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return text if isinstance(error, errors.ReqlError) else f"{type(error).__name__}: {text}"


def _is_open(conn: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(conn.is_open())
    return False


# -------------------------------------------------------------------- plain forms


class Watch(Background):
    """`callback(change)` for every change of a query, in the background; `.stop()` ends it."""

    def __init__(self, query: Any, callback: Callable[[dict[str, Any]], Any], database: Database) -> None:
        super().__init__(query, database)
        self.callback = callback

    def stop(self) -> None:
        self.close()

    async def _run(self) -> None:
        try:
            async with _changes(self.query, self.database, {}) as cursor:
                self.status = "ready"
                async for change in cursor:
                    self._count(1)
                    result = self.callback(change)
                    if asyncio.iscoroutine(result):
                        await result
            self.status = "closed"
        except Exception as error:
            # Shown where the watch was made (the task keeps that cell as its parent) and in `%rethink`.
            self.status = f"error: {_message(error)}"
            self.last_error = self.status
            traceback.print_exc()

    def __repr__(self) -> str:
        return f"Watch({self.name}, {self.status})"


async def feed(query: Any, database: Database, **options: Any) -> AsyncIterator[dict[str, Any]]:
    """The changes of `query` as they happen (`options` go to `changes()`), on a connection of its own."""
    async with _changes(query, database, options) as cursor:
        async for change in cursor:
            yield change


@contextlib.asynccontextmanager
async def _changes(query: Any, database: Database, options: dict[str, Any]) -> AsyncIterator[Any]:
    conn = await database.connect()
    cursor = None
    try:
        cursor = await query.changes(**options).run(conn)
        yield cursor
    finally:
        with contextlib.suppress(Exception):
            if cursor is not None and conn.is_open():
                await cursor.close()
        with contextlib.suppress(Exception):
            await conn.close(noreply_wait=False)
