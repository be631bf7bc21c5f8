"""One table's changes, kept once for all the feeds that take every one of them.

A feed on a whole table (no filter, no squash, no limit) queues the same changes as every other such feed. Instead
of filing each change in a hundred queues, a commit appends its changes to the table's log once; each feed reads on
from its own position. Only the feeds waiting for a change are visited, to be woken.

A feed's queue is still bounded (`queue_size`), with RethinkDB's rule: changes that come while it is full are
skipped. Between two reads of a feed its queue only grows, so the changes it holds are the first ones after its
position, up to its room, and the rest were skipped; a feed works that out when it reads (`Reader.settle`), or when
the log trims what every feed has read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from rethink_widgets.server.feed_entries import Entry

_TRIM = 1024  # entries held before the log first drops those every feed has read


class Reader(Protocol):
    """A feed reading a log: its position (the next entry it takes), kept under the log's lock."""

    position: int

    def settle(self) -> None:
        """Take what it holds of the log into its own queue, and count the rest as skipped (when over its room)."""

    def take_waiter(self) -> Callable[[], None] | None:
        """The cursor's wake-up call, if it waits and now has what it waits for."""


class SharedLog:
    """The log of one table, read by its feeds that take every change."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[Entry] = []
        self.first = 0  # the position of `entries[0]`
        self.end = 0  # the position after the last entry
        self._readers: dict[Reader, None] = {}
        self._waiting: dict[Reader, None] = {}  # readers whose cursor waits (in the order they began to)
        self._trim_at = _TRIM

    # A reader calls these under the lock.

    def join(self, reader: Reader) -> None:
        """Read from the next change on."""
        reader.position = self.end
        self._readers[reader] = None

    def leave(self, reader: Reader) -> None:
        self._readers.pop(reader, None)
        self._waiting.pop(reader, None)
        if not self._readers:
            self.first, self.entries = self.end, []

    def wait(self, reader: Reader) -> None:
        """`reader.take_waiter()` is asked after each append, until it returns its wake-up call."""
        self._waiting[reader] = None

    def stop_waiting(self, reader: Reader) -> None:
        self._waiting.pop(reader, None)

    def append(self, entries: list[Entry]) -> list[Callable[[], None]]:
        """Add a commit's changes; returns the wake-up calls of the cursors that were waiting for them."""
        with self.lock:
            self.entries.extend(entries)
            self.end += len(entries)
            if len(self.entries) >= self._trim_at:
                self._trim()
            if not self._waiting:
                return []
            wakes = []
            for reader in list(self._waiting):
                wake = reader.take_waiter()
                if wake is not None:
                    wakes.append(wake)
            return wakes

    def _trim(self) -> None:
        """Drop the entries every reader is past (a reader over its room takes its share first)."""
        low = self.end
        for reader in self._readers:
            reader.settle()
            low = min(low, reader.position)
        del self.entries[: low - self.first]
        self.first = low
        self._trim_at = max(_TRIM, 2 * len(self.entries))
