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
(its user turned it off). A user who turns it off while a snapshot comes in finds it on again once it is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator

HOLD_SECONDS = 0.5  # the longest the Holds keep the collector off at a time


class _Holders:
    """Who holds the collector off now (one collector per process; every holder is on the event loop's thread)."""

    def __init__(self) -> None:
        self._count = 0
        self._turned_off = False  # the first hold turned the collector off (it was on)
        # The Holds holding it in this round, and the end of the round: they are let go together, so that the
        # collector runs however many overlap (each one's own end would fall while another holds).
        self._round: set[Hold] = set()
        self._round_end: asyncio.TimerHandle | None = None

    def take(self) -> None:
        if self._count == 0:
            self._turned_off = gc.isenabled()
            gc.disable()
        self._count += 1

    def let_go(self) -> None:
        self._count -= 1
        if self._count == 0 and self._turned_off:
            gc.enable()

    def join_round(self, hold: Hold) -> None:
        if hold in self._round:
            return
        loop = asyncio.get_running_loop()  # (first: no hold taken that no round ends)
        self.take()
        self._round.add(hold)
        if self._round_end is None:
            self._round_end = loop.call_later(HOLD_SECONDS, self._end_round)

    def leave_round(self, hold: Hold) -> None:
        if hold not in self._round:
            return
        self._round.discard(hold)
        self.let_go()
        if not self._round and self._round_end is not None:
            self._round_end.cancel()
            self._round_end = None

    def _end_round(self) -> None:
        self._round_end = None
        ended, self._round = self._round, set()
        for _ in ended:
            self.let_go()


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
    """The collector held off across awaits, from `start` to `stop`, by rounds of HOLD_SECONDS: at the end of a round
    every Hold lets go, so the collector runs (others' code, run between the loop's turns, may have made garbage of
    any kind), until each takes it again with `renew`. On the event loop's thread."""

    def __init__(self) -> None:
        self._wanted = False

    def start(self) -> None:
        self._wanted = True
        _holders.join_round(self)

    def renew(self) -> None:
        """Hold again if the round ended (and the hold is still wanted)."""
        if self._wanted:
            _holders.join_round(self)

    def stop(self) -> None:
        """Let go for good (nothing if not held)."""
        self._wanted = False
        _holders.leave_round(self)
