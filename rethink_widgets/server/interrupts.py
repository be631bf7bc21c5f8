"""Stopping a running query, and the check points where evaluation looks whether it should stop.

A query stops when its client sends STOP, when its connection closes, when its row in `rethinkdb.jobs` is deleted,
or when the server shuts down. Python threads cannot be stopped from outside, so the code a query runs looks at its
signal at check points: every ReQL function call, every row read from storage or made by `r.range`, every element
gathered into an array, every comparison of a sort, every element of a reply being encoded, and from inside long
SQLite statements. A stopped query raises `QueryInterrupted` at its next check point, which frees its worker and
rolls back the write it has open.

The same check points give the scheduler (fairness.py) its chance to make a long query wait its turn.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

# Why a query was stopped; RethinkDB answers each differently.
STOP = "stop"  # its client sent STOP: the query's own reply is an empty SUCCESS_SEQUENCE
CLOSED = "closed"  # its connection closed: nobody is left to answer
JOBS = "jobs"  # its row in rethinkdb.jobs was deleted: an error reply
SHUTDOWN = "shutdown"  # the server is stopping: the connection closes next

JOBS_MESSAGE = "Query terminated by the `rethinkdb.jobs` table."
# How many check points pass between two looks at the signal and the clock: a look costs a clock read.
CHECK_EVERY = 64


class QueryInterrupted(BaseException):
    """Raised at a check point of a stopped query.

    A BaseException, as KeyboardInterrupt is, so that code catching `Exception` around user functions does not
    swallow it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Interruptor:
    """One query's stop signal, shared by everything that runs for it: its evaluation and each batch of its cursor."""

    __slots__ = ("_listeners", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self._listeners: list[Callable[[], None]] = []

    def interrupt(self, reason: str) -> None:
        """Stop the query (the first reason given wins); callable from any thread."""
        if self.reason is not None:
            return
        self.reason = reason
        for listener in list(self._listeners):
            listener()

    def on_interrupt(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the query is stopped; returns the function that forgets it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def raise_if_interrupted(self) -> None:
        if self.reason is not None:
            raise QueryInterrupted(self.reason)


class Scheduler(Protocol):
    def checkpoint(self, run: Run) -> None: ...

    def block(self, run: Run) -> None: ...

    def unblock(self, run: Run) -> None: ...


class Run:
    """One stretch of work for a query on a worker thread: evaluating it, or reading one batch of its cursor."""

    __slots__ = ("countdown", "interruptor", "long", "owners", "scheduler", "started", "writing")

    def __init__(self, interruptor: Interruptor, owners: tuple[str, str], scheduler: Scheduler | None) -> None:
        self.interruptor = interruptor
        self.owners = owners  # (user, connection): whose turn this is, for fairness
        self.scheduler = scheduler
        self.countdown = CHECK_EVERY
        self.started = 0.0
        self.long = False
        self.writing = 0  # > 0 while the run holds the storage's write lock: it must never wait (writers would too)

    def checkpoint(self) -> None:
        self.countdown = CHECK_EVERY
        self.interruptor.raise_if_interrupted()
        if self.scheduler is not None:
            self.scheduler.checkpoint(self)


class _Current(threading.local):
    run: Run | None = None


_current = _Current()


def check() -> None:
    """A check point: cheap enough for every row and every function call."""
    run = _current.run
    if run is not None:
        run.countdown -= 1
        if run.countdown <= 0:
            run.checkpoint()


def check_many(count: int) -> None:
    """`count` check points at once (the rows of a page, handled together)."""
    run = _current.run
    if run is not None:
        run.countdown -= count
        if run.countdown <= 0:
            run.checkpoint()


def interrupted() -> bool:
    """Whether the query running on this thread was stopped (for SQLite's progress handler, which cannot raise)."""
    run = _current.run
    return run is not None and run.interruptor.reason is not None


def writing() -> bool:
    """Whether the query running on this thread holds the write lock."""
    run = _current.run
    return run is not None and run.writing > 0


def raise_if_interrupted() -> None:
    run = _current.run
    if run is not None:
        run.interruptor.raise_if_interrupted()


class running:
    """Make `run` the one this thread's check points look at (None: they do nothing). A class, not a generator: it
    is entered for every query and every batch."""

    __slots__ = ("_run", "_saved")

    def __init__(self, run: Run | None) -> None:
        self._run = run
        self._saved: Run | None = None

    def __enter__(self) -> None:
        self._saved, _current.run = _current.run, self._run

    def __exit__(self, *exc: object) -> None:
        _current.run = self._saved


def shielded() -> contextlib.AbstractContextManager[None]:
    """Check points inside do nothing: for work that must finish once begun (serving a committed write to feeds)."""
    return running(None)


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """The thread's run waits for other work (the write lock, an index build): meanwhile no long run should pause
    for it as for short work under way."""
    run = _current.run
    if run is None or run.scheduler is None:
        yield
        return
    run.scheduler.block(run)
    try:
        yield
    finally:
        run.scheduler.unblock(run)


def entered_write_lock() -> None:
    """The thread's run now holds the write lock: others would wait behind it, so it must never wait its turn."""
    run = _current.run
    if run is not None:
        run.writing += 1


def left_write_lock() -> None:
    run = _current.run
    if run is not None:
        run.writing -= 1
