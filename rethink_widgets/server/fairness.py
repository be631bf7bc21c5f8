"""Sharing the server between clients: no connection, user or long query can take it from the others.

Two mechanisms, one before a worker thread is taken and one while it runs:

- `WorkerSlots` bounds how many runs one connection and one user have on worker threads at once; the rest wait
  their turn in line on the event loop (taking no thread), so a flood from one client cannot use up the pool.
- `Turns` keeps long runs from starving short ones. Every run starts short. One that is still going after
  `LONG_AFTER` seconds becomes long: its thread drops to a lower CPU priority (see workers.py), and long runs then
  take turns: one at a time holds the turn, for `SLICE` seconds when others wait, handed on to the waiter whose
  user and connection were served least. The holder also pauses briefly at its check points while short runs are
  in progress or the event loop is busy. All threads share one interpreter lock, and a thread that gives it up
  (every system call the event loop makes does) waits a whole switch interval to get it back from a busy thread:
  without the pauses a point get would pay that many times over behind every long query.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from dataclasses import dataclass

from rethink_widgets.server import workers
from rethink_widgets.server.interrupts import Interruptor, QueryInterrupted, Run

LONG_AFTER = 0.02  # a run going on this long is long
SLICE = 0.02  # a long run's turn when other long runs wait
LEASE = 0.1  # a turn not checked in for this long passes on (its holder may be blocked outside a check point)
PAUSE = 0.002  # the longest a long run waits for short work at one check point...
RUN_AT_LEAST = 0.001  # ...and how long it then runs before it waits again: long queries keep a third of the time
QUIET = 0.001  # the event loop counts as busy for this long after it did work for a client
PER_CONNECTION = 8  # runs of one connection on worker threads at once
PER_USER = 64  # runs of one user on worker threads at once
WORKERS = 1024  # worker threads (made as needed): enough that short runs find one while long runs wait their turn


@dataclass(eq=False)
class Ticket:
    """What the server needs to run work for one query: its stop signal and whose work it is."""

    interruptor: Interruptor
    user: str
    peer: str
    slots: asyncio.Semaphore  # the room its connection has on worker threads
    job_id: str = ""  # its row in rethinkdb.jobs: listed until the query has ended and nothing runs for it
    ended: bool = False
    active: int = 0  # runs on worker threads now


class Turns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._short = 0
        self._waiting: list[Run] = []
        self._wakers: dict[Run, threading.Condition] = {}
        self._holder: Run | None = None
        self._since = 0.0
        self._resumed = 0.0  # when the holder last came back from a pause, or took the turn
        self._served: collections.Counter[str] = collections.Counter()
        self.loop_busy_at = 0.0  # set by the event loop (a plain store, no lock) when it does work for a client

    def loop_busy(self) -> None:
        self.loop_busy_at = time.monotonic()

    def begin(self, run: Run) -> None:
        run.started = time.monotonic()
        with self._lock:
            self._short += 1

    def end(self, run: Run) -> None:
        with self._lock:
            if not run.long:
                self._short -= 1
                self.loop_busy_at = time.monotonic()  # the event loop takes its result on from here
                return
            if run in self._waiting:
                self._waiting.remove(run)
            self._wakers.pop(run, None)
            if self._holder is run:
                self._hand_on(time.monotonic())

    def block(self, run: Run) -> None:
        if not run.long:
            with self._lock:
                self._short -= 1

    def unblock(self, run: Run) -> None:
        if not run.long:
            with self._lock:
                self._short += 1

    def wake(self, run: Run) -> None:
        """Wake `run` if it waits (it was interrupted)."""
        with self._lock:
            waker = self._wakers.get(run)
            if waker is not None:
                waker.notify()

    def checkpoint(self, run: Run) -> None:
        if run.long and run.writing:
            return
        now = time.monotonic()
        if not run.long:
            if now - run.started < LONG_AFTER:
                return
        elif (
            self._holder is run
            and (now - self._since < SLICE or not self._waiting)
            and (not self._busy(now) or now - self._resumed < RUN_AT_LEAST)
        ):
            return  # the common case, read without the lock: a stale read only delays a pause or a hand-over
        with self._lock:
            if not run.long:
                run.long = True
                self._short -= 1
            if run.writing:  # long, so short runs do not pause for it; but it never waits while writers wait on it
                return
            workers.lower_priority()
            if self._holder is run:
                if self._waiting and now - self._since >= SLICE:
                    self._waiting.append(run)
                    self._hand_on(now)
            elif run not in self._waiting:  # it just became long, or its lease ran out while it was away
                self._waiting.append(run)
            self._await_turn(run)

    # ---------------------------------------------------------------- under the lock

    def _await_turn(self, run: Run) -> None:
        pause_until = 0.0
        waker = self._waker(run)
        while True:
            if run.interruptor.reason is not None:
                if run in self._waiting:
                    self._waiting.remove(run)
                if self._holder is run:
                    self._hand_on(time.monotonic())
                raise QueryInterrupted(run.interruptor.reason)
            now = time.monotonic()
            if self._holder is not run and run not in self._waiting:
                # It was handed the turn, but woke too late to take it (another waiter took the lease over): it
                # waits in line again, or it would never be handed another.
                self._waiting.append(run)
            if self._holder is None or (self._holder is not run and now - self._since > LEASE):
                self._hand_on(now)
            if self._holder is not run:
                waker.wait(LEASE)
                continue
            pause_until = pause_until or now + PAUSE
            if not self._busy(now) or now >= pause_until:
                self._resumed = now
                return
            waker.wait(min(pause_until - now, QUIET))

    def _busy(self, now: float) -> bool:
        """Whether short work is under way: a short run on a worker, or the event loop serving a client."""
        return bool(self._short) or now - self.loop_busy_at < QUIET

    def _hand_on(self, now: float) -> None:
        """Give the turn to the waiter served least (by user, then connection, then first come)."""
        self._holder = None
        if not self._waiting:
            self._served.clear()
            return
        chosen = min(self._waiting, key=lambda r: (self._served[r.owners[0]], self._served[r.owners[1]]))
        self._waiting.remove(chosen)
        for owner in chosen.owners:
            self._served[owner] += 1
        self._holder, self._since = chosen, now
        self._waker(chosen).notify()

    def _waker(self, run: Run) -> threading.Condition:
        waker = self._wakers.get(run)
        if waker is None:
            waker = self._wakers[run] = threading.Condition(self._lock)
        return waker


class WorkerSlots:
    """How many runs each connection and each user may have on worker threads at once; the rest wait in line.

    A connection with nothing on a thread is always let in, whatever its user runs elsewhere: every kernel of a
    machine may connect as the same user, and one kernel's flood must not lock the others out.
    """

    def __init__(self) -> None:
        self._by_user: collections.Counter[str] = collections.Counter()
        self._by_connection: collections.Counter[str] = collections.Counter()
        self._lines: dict[str, collections.deque[asyncio.Future[None]]] = {}

    def taken(self, ticket: Ticket) -> _Taken:
        """`async with slots.taken(ticket):` holds a place for one run of the ticket's query."""
        return _Taken(self, ticket)

    async def _enter(self, ticket: Ticket) -> None:
        user, peer = ticket.user, ticket.peer
        await ticket.slots.acquire()
        try:
            while self._by_user[user] >= PER_USER and self._by_connection[peer]:
                await self._wait_in_line(user)
        except BaseException:
            ticket.slots.release()
            raise
        self._by_user[user] += 1
        self._by_connection[peer] += 1

    async def _wait_in_line(self, user: str) -> None:
        line = self._lines.setdefault(user, collections.deque())
        turn = asyncio.get_running_loop().create_future()
        line.append(turn)
        try:
            await turn
        finally:
            if turn in line:
                line.remove(turn)
            if not line:
                self._lines.pop(user, None)

    def _leave(self, ticket: Ticket) -> None:
        user, peer = ticket.user, ticket.peer
        ticket.slots.release()
        for counter, key in ((self._by_user, user), (self._by_connection, peer)):
            counter[key] -= 1
            if not counter[key]:
                del counter[key]
        line = self._lines.get(user)
        while line:
            turn = line.popleft()
            if not turn.done():  # (a waiter whose query was cancelled is done already)
                turn.set_result(None)
                return


class _Taken:
    """A place for one run on a worker thread, as an async context manager (a class: it is entered for every run,
    and most often without waiting)."""

    __slots__ = ("_slots", "_ticket")

    def __init__(self, slots: WorkerSlots, ticket: Ticket) -> None:
        self._slots, self._ticket = slots, ticket

    async def __aenter__(self) -> None:
        await self._slots._enter(self._ticket)

    async def __aexit__(self, *exc: object) -> None:
        self._slots._leave(self._ticket)
