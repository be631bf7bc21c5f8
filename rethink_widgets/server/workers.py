"""The worker threads queries are evaluated on: made as needed, and a thread that ran a long query is retired.

A long query lowers its thread's CPU priority (`lower_priority`), so that when a client's frame arrives the
operating system runs the event loop's thread at once instead of letting the long query finish its time slice:
on a machine with few cores that wait, not the server's own work, is most of a point get's latency behind long
queries. A user without privileges may lower a thread's priority but never raise it again, so the lowered thread
ends after its run and the pool makes a fresh one when it needs it (a thread costs far less than a long query).
Threads are made by the thread that submits work (the event loop's), so a fresh thread never inherits a lowered
priority.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")
# How far a long query's thread is lowered (a nice value). Measured on 2 cores: at 5, a point get beside long scans
# answers within 2-3x of its time alone (6x at 0), and a long query on a machine whose cores are all busy with other
# programs runs about 2x slower than at 0; at 19 it ran 60x slower there, starved.
LOWERED_NICENESS = 5


class _Thread(threading.local):
    lowered = False


_thread = _Thread()


def lower_priority() -> None:
    """Run the calling worker thread at a lower CPU priority, for the rest of its life."""
    if _thread.lowered:
        return
    _thread.lowered = True
    # (Where priorities belong to processes rather than threads this fails: the query then just runs as before.)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWERED_NICENESS)


class _Work:
    def __init__(self, future: Future[Any], call: Callable[[], Any]) -> None:
        self.future, self.call = future, call

    def run(self) -> Callable[[], None]:
        """Do the work; returns what hands its outcome to the caller."""
        if not self.future.set_running_or_notify_cancel():
            return lambda: None
        try:
            result = self.call()
        except BaseException as exc:  # (handed to whoever waits on the future)
            return functools.partial(self.future.set_exception, exc)
        return functools.partial(self.future.set_result, result)


class Workers(Executor):
    """An executor of at most `limit` threads, each started when work finds no idle one."""

    def __init__(self, limit: int, name: str) -> None:
        self._limit, self._name = limit, name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle = 0  # threads waiting for work that no work queued has claimed
        self._unclaimed = 0  # work queued while the pool was full: the next thread to finish takes it
        self._made = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            self._queue.put(_Work(future, functools.partial(fn, *args, **kwargs)))
            if self._idle:
                self._idle -= 1  # that thread takes this work
            elif len(self._threads) < self._limit:
                self._start()
            else:
                self._unclaimed += 1
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()

    def _start(self) -> None:
        self._made += 1
        thread = threading.Thread(target=self._serve, name=f"{self._name}_{self._made}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _serve(self) -> None:
        work = self._queue.get()
        while work is not None:
            settle = work.run()
            del work  # (its arguments are not kept alive while this thread waits)
            with self._lock:
                # Work that waits for a thread is taken first, even by a lowered thread: no fresh thread was made
                # for it, and none made by a lowered thread would run at full priority.
                retiring = False
                if self._unclaimed:
                    self._unclaimed -= 1
                elif _thread.lowered:
                    retiring = True
                    self._threads.discard(threading.current_thread())
                else:
                    self._idle += 1  # before the caller hears back: its next work finds this thread waiting
            settle()
            if retiring:
                return
            work = self._queue.get()
