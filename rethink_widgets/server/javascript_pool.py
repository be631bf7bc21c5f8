"""The worker processes that run `r.js` code (see javascript_worker.py), made as queries need them.

A script runs in a process of its own, so that however long it loops or however much it allocates, the server and
every other query go on. The query that waits for it keeps looking at its stop signal: when it is stopped, or when
the worker has not answered well after the script's own time limit, the worker is killed (and a fresh one made for
the next script). A worker answers one request at a time; a query goes back to the worker it used last when it is
free, since that worker keeps the query's functions.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import subprocess
import sys
import threading
import time
from typing import Any

import orjson

from rethink_widgets.server import interrupts

# More worker processes than this would only share the same cores; further scripts wait their turn.
MAX_WORKERS = max(2, min(4, os.cpu_count() or 2))
# How long past a script's own time limit its worker may take to answer before it is taken for stuck.
GRACE_SECONDS = 2.0
# How often a query waiting for its script looks at its stop signal.
POLL_SECONDS = 0.02


class WorkerCrashed(Exception):
    """The worker went away without answering."""


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rethink_widgets.server.javascript_worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.last_query: int | None = None
        self._pending = b""
        assert self.process.stdout is not None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """The worker's reply, or None when the deadline passed first (raises QueryInterrupted if stopped)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(orjson.dumps(request) + b"\n")
        except OSError:
            raise WorkerCrashed from None
        with interrupts.blocked():
            while b"\n" not in self._pending:
                interrupts.raise_if_interrupted()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if self._selector.select(min(left, POLL_SECONDS)):
                    chunk = os.read(self.process.stdout.fileno(), 1 << 16)
                    if not chunk:
                        raise WorkerCrashed
                    self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        reply: dict[str, Any] = orjson.loads(line)
        return reply

    def kill(self) -> None:
        self._selector.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class Pool:
    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._busy = 0
        self._changed = threading.Condition()

    def run(self, query: int, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Run one request of `query` (see javascript_worker.py); None when its worker did not answer in time."""
        worker = self._take(query)
        try:
            reply = worker.ask(
                {**request, "query": query, "timeout": timeout}, time.monotonic() + timeout + GRACE_SECONDS
            )
        except BaseException:
            self._discard(worker)
            raise
        if reply is None:
            self._discard(worker)
            return None
        worker.last_query = query
        self._give_back(worker)
        return reply

    def _take(self, query: int) -> _Worker:
        with self._changed:
            while not self._idle and self._busy >= MAX_WORKERS:
                interrupts.raise_if_interrupted()
                self._changed.wait(POLL_SECONDS)
            self._busy += 1
            worker = self._pick(query) if self._idle else None
        if worker is not None:
            return worker
        try:
            return _Worker()
        except BaseException:
            self._release()
            raise

    def _pick(self, query: int) -> _Worker:
        mine = [worker for worker in self._idle if worker.last_query == query]
        worker = mine[0] if mine else self._idle[-1]
        self._idle.remove(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._changed:
            self._busy -= 1
            self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._release()

    def _release(self) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


POOL = Pool()
atexit.register(POOL.close)
