"""Python's garbage collector held off while a burst of work makes tens of thousands of objects.

Left on, it runs a young collection every 700 new objects and moves what survives into older generations, so the
objects a burst makes and keeps for a moment (a feed's decoded batch, the entries of a new order) soon count as
long-lived and bring on full collections, each a walk of every object the kernel holds. Held off, the burst is
followed by one young collection, in which most of them are gone already.

A snapshot of a million rows is such a burst spread over seconds of the loop's turns, with others' code run between
them (`Hold`). Held off only a block at a time, the collector ran after each block: 9 full collections and 86 of the
middle generation during one snapshot of a million rows, 1.3 to 1.6 s of the 5 s it took. Held off for the
snapshot, but let run every HOLD_SECONDS (the code run between the blocks may make garbage of any kind), that is
about 0.35 s, and the loop's longest stall is shorter too (each collection has less to walk than a full one).

Holds and pauses nest; the collector comes on again when the last one ends, unless it was off when the first began
(its user turned it off).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Iterator

HOLD_SECONDS = 0.5  # the longest a Hold keeps the collector off at a time


class _Holders:
    """Who holds the collector off now (one collector per process: holds from any thread share this)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._turned_off = False  # the first hold turned the collector off (it was on)

    def take(self) -> None:
        with self._lock:
            if self._count == 0:
                self._turned_off = gc.isenabled()
                gc.disable()
            self._count += 1

    def let_go(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0 and self._turned_off:
                gc.enable()


_holders = _Holders()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block."""
    _holders.take()
    try:
        yield
    finally:
        _holders.let_go()


class Hold:
    """The collector held off across awaits, from `start` to `stop`, for HOLD_SECONDS at most at a time: then it is
    let go (garbage made meanwhile by others, which may be anything, is collected) until `renew` takes it again.
    On the event loop's thread."""

    def __init__(self) -> None:
        self._wanted = False
        self._expiry: asyncio.TimerHandle | None = None  # set while the collector is held

    def start(self) -> None:
        self._wanted = True
        self.renew()

    def renew(self) -> None:
        """Take the hold again if it was let go on expiry (and is still wanted)."""
        if self._wanted and self._expiry is None:
            _holders.take()
            self._expiry = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._let_go)

    def stop(self) -> None:
        """Let go for good (nothing if not held)."""
        self._wanted = False
        if self._expiry is not None:
            self._expiry.cancel()
            self._let_go()

    def _let_go(self) -> None:
        self._expiry = None
        _holders.let_go()
