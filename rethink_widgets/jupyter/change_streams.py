"""The plain forms of a changefeed on the kernel's loop: `Watch` calls back for every change, `Feed` is what
`async for change in feed(query)` reads. They reconnect as every feed does (feeds.py), but have no snapshot to take
again, so the changes made while they were away are missed (each says so when it is back).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

from rethink_widgets.jupyter.connection import Connector
from rethink_widgets.jupyter.feeds import FIRST_RETRY, Background, Stopped, error_text


class ChangeStream(Background):
    """The changes of a query as they happen (`options` go to `changes()`), each handed to `_deliver`.

    After a lost connection or a server restart it reconnects with backoff and goes on with the changes from then:
    those made while it was away are missed and nothing is replayed (with `include_initial=True` the current rows
    come again, as for a new feed). It prints a line saying so, where it was made, and `%rethink` shows it
    `reconnecting` meanwhile.
    """

    def __init__(self, query: Any, database: Connector, options: dict[str, Any]) -> None:
        super().__init__(query, database)
        self.options = options
        self._was_open = False

    async def _follow(self, conn: Any) -> None:
        self._cursor = await self._open(self.query.changes(**self.options), conn)
        self._go_on()
        self._opened()
        async for change in self._cursor:
            self._go_on()
            self._count(1)
            await self._deliver(change)

    def _opened(self) -> None:
        if self._was_open:
            print(f"{self.kind} {self.name}: reconnected; changes made while it was away are missed", file=sys.stderr)
        self._was_open = True
        self._delay = FIRST_RETRY
        self._set_status("ready")

    async def _deliver(self, change: dict[str, Any]) -> None:
        raise NotImplementedError


class Watch(ChangeStream):
    """`callback(change)` for every change of a query, in the background, until `.stop()` or the callback raises."""

    def __init__(self, query: Any, callback: Callable[[dict[str, Any]], Any], database: Connector) -> None:
        super().__init__(query, database, {})
        self.callback = callback

    def stop(self) -> None:
        self.close()

    async def _deliver(self, change: dict[str, Any]) -> None:
        try:
            result = self.callback(change)
            if asyncio.iscoroutine(result):
                await result
        except Exception as error:
            self._failed(error)
            raise Stopped from error

    def _failed(self, error: Exception) -> None:
        # Shown where the watch was made (the task keeps that cell as its parent) and in `%rethink`.
        self._lost(f"error: {error_text(error)}", error)
        traceback.print_exception(error)

    def __repr__(self) -> str:
        return f"Watch({self.name}, {self.status})"


class Feed(ChangeStream):
    """What `async for change in feed(query)` reads: the task puts changes in a queue, `iterate()` yields them."""

    def __init__(self, query: Any, database: Connector, options: dict[str, Any]) -> None:
        super().__init__(query, database, options)
        self._queue: asyncio.Queue[dict[str, Any] | Exception | None] = asyncio.Queue()

    async def iterate(self) -> AsyncIterator[dict[str, Any]]:
        """The changes until the feed is closed (the iterator then ends) or fails (the error is raised here)."""
        if self.status != "closed":
            self.start()
        try:
            while (item := await self._queue.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:  # the loop left, by a break or a return too (once the iterator is collected)
            self.close()

    def close(self) -> None:
        super().close()
        self._queue.put_nowait(None)

    async def _deliver(self, change: dict[str, Any]) -> None:
        self._queue.put_nowait(change)

    def _failed(self, error: Exception) -> None:
        self._queue.put_nowait(error)
