"""Perspective's engine for LiveCharts, on a thread of its own: the kernel's loop hands it work and never waits for it.

Perspective recomputes every view open on a table when it processes an update (for a million rows shown sorted, a
tenth of a second or more), and holds its caller meanwhile. So LiveCharts' tables live on a Perspective server of
their own, which processes updates only when polled, and one thread does all of its work in the order it was handed
over: the charts' updates and removes, and the requests of their viewers' views. Perspective lets go of Python's lock
while it processes, so the kernel's loop runs on meanwhile. The updates handed over while a snapshot streams in are
processed together about twice a second (POLL_SECONDS), not once per chunk of rows: each poll costs a time that grows
with the table, and its views' redrawing in the page; the last chunk's at once. Small work on small tables (a live
chart's few changed rows, a view's request) is done at once by its caller while the thread has nothing to do: handing
it over and back would cost more than it does.

Perspective locks its tables, so reading one from another thread is safe; `Engine.flush` first waits until all the
work handed over is processed, so what is read is current.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import perspective

log = logging.getLogger(__name__)

STOP_SECONDS = 5  # how long the interpreter's exit waits for a poll under way
# s: changes are processed at most this often (a poll recomputes the views open on a table, a fixed cost; a view
# drawn in a page redraws), unless the work handed over asks for them at once (Engine.hurry): no more are coming.
POLL_SECONDS = 0.5
QUICK_SECONDS = 0.005  # a poll this quick (a small table's) lets small work be done at once by its caller


@dataclass(frozen=True, slots=True)
class _Job:
    work: Callable[[], object] | None  # None: nothing to do but poll (see Engine.hurry)
    done: Future[None]
    change: bool = False  # it changes a table: the poll after it is spaced from the last
    urgent: bool = False  # poll at once, not when polls' spacing allows


_STOP = object()  # in place of a job: the thread ends


class Engine:
    """A Perspective server (`server`, and `client` to make tables on it) whose work is all done on one thread, but
    for small work done at once by its caller (`do`) while that thread has nothing to do."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()  # _Job, None (a wake-up) or _STOP
        self._working = threading.Lock()  # held while Perspective works, on whichever thread
        self._counting = threading.Lock()  # guards `_unfinished`
        self._unfinished = 0  # jobs handed over and not done yet
        self._caller: int | None = None  # the thread doing small work at once, meanwhile
        self._quick = True  # the last poll of changes was quick: small work may be done at once
        self._poll_wanted = False  # the server has changes (or requests) that a poll must process
        self._poll_at = 0.0  # changes are not processed before then (time.monotonic): polls are spaced
        self._changed = False  # a table was changed since the last poll
        self._hurry = False  # a poll was asked for at once
        self._unpolled: list[Future[None]] = []  # jobs done, whose changes the next poll processes
        self._thread = threading.Thread(target=self._run, name="perspective", daemon=True)
        self.server = perspective.Server(on_poll_request=self._poll_requested)
        self.client = self.server.new_local_client()
        self._thread.start()

    def submit(self, work: Callable[[], object], change: bool = False) -> Future[None]:
        """Hand over `work` (calls on this server's tables and sessions; `change`: it changes a table), done after
        the work handed over before it; its future is done once its changes are processed (or holds the error it
        raised)."""
        return self._put(_Job(work, Future(), change))

    def do(self, work: Callable[[], object], change: bool = False, small: bool = True) -> Future[None]:
        """`submit`, but done at once on this thread, its changes processed, when it is `small` and the engine's
        thread has nothing to do and no poll waiting, and its last poll was quick (small tables, cheap views): a
        live chart of a few thousand rows is not slowed by handing each change to another thread and back."""
        with self._counting:
            idle = small and self._quick and not self._unfinished and not self._poll_wanted
            if idle and not self._working.acquire(blocking=False):
                idle = False
        if not idle:
            return self.submit(work, change)
        done: Future[None] = Future()
        self._caller = threading.get_ident()
        try:
            self._do(_Job(work, done, change))
            if self._poll_wanted:
                self._poll()
            self._settle()
        finally:
            self._caller = None
            self._working.release()
        return done

    def hurry(self) -> Future[None]:
        """Process the changes handed over so far at once, not when polls' spacing allows: no more are coming."""
        return self._put(_Job(None, Future(), urgent=True))

    def flush(self) -> None:
        """Wait until the work handed over so far is done and its changes processed (not from the engine's thread)."""
        self.hurry().result()

    def stop(self) -> None:
        self._jobs.put(_STOP)
        self._thread.join(STOP_SECONDS)

    def _put(self, job: _Job) -> Future[None]:
        with self._counting:
            self._unfinished += 1
        self._jobs.put(job)
        return job.done

    def _poll_requested(self, _server: Any) -> None:
        """Perspective asks for a poll after each request, from the thread that made it."""
        self._poll_wanted = True
        if threading.get_ident() not in (self._thread.ident, self._caller):
            self._jobs.put(None)  # a table read or changed from another thread: the engine polls for it

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is _STOP:
                return
            with self._working:
                if job is not None:
                    self._do(job)
                    with self._counting:
                        self._unfinished -= 1
                    if not self._jobs.empty():
                        continue  # all the work handed over is done before the next poll
                if self._poll_wanted and self._poll_due():
                    self._poll()
                self._settle()

    def _next_job(self) -> Any:
        """The next job, None when it is time to poll."""
        wait = None  # nothing to poll: wait for work
        if self._poll_wanted:
            wait = max(self._poll_at - time.monotonic(), 0.0) if not self._poll_due() else 0.0
        try:
            return self._jobs.get(timeout=wait)
        except queue.Empty:
            return None

    def _poll_due(self) -> bool:
        """Changes are processed when polls' spacing allows, or at once when asked to hurry; a poll for requests
        alone (a view reading rows) is made at once."""
        return self._hurry or not self._changed or time.monotonic() >= self._poll_at

    def _do(self, job: _Job) -> None:
        self._hurry = self._hurry or job.urgent
        self._changed = self._changed or job.change
        try:
            if job.work is not None:
                job.work()
        except BaseException as error:  # a panic in Perspective is one (PanicException); so is an interrupt of work
            job.done.set_exception(error)  # done at once on the loop: its chart is told, and fills its table anew
        else:
            self._unpolled.append(job.done)

    def _poll(self) -> None:
        changed = self._changed
        self._poll_wanted = self._hurry = self._changed = False
        started = time.monotonic()
        try:
            self.server.poll()
        except BaseException as error:  # as in `_do`
            log.exception("Perspective failed to process the charts' changes")
            done, self._unpolled = self._unpolled, []
            for future in done:
                future.set_exception(error)
        if changed:
            ended = time.monotonic()
            self._quick = ended - started < QUICK_SECONDS
            self._poll_at = ended + POLL_SECONDS

    def _settle(self) -> None:
        """Once every change handed over is processed, the work's futures are done."""
        if not self._poll_wanted:
            self._hurry = False
            done, self._unpolled = self._unpolled, []
            for future in done:
                future.set_result(None)


_engine: Engine | None = None


def engine() -> Engine:
    """The kernel's engine, started when the first LiveChart is made."""
    global _engine
    if _engine is None:
        _engine = Engine()
        atexit.register(_engine.stop)  # not stopped midway through a poll, which calls back into Python
    return _engine
