"""The worker processes that run `r.js` code (see javascript_worker.py), made as queries need them.

A script runs in a process of its own, so that however long it loops or however much it allocates, the server and
every other query go on. The query that waits for it keeps looking at its stop signal: when it is stopped, or when
the worker has not answered well after the script's own time limit, the worker is killed (and a fresh one made for
the next script). A worker answers one request at a time; a query goes back to the worker it used last when it is
free, since that worker keeps the query's functions.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
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
# Queries whose worker is remembered (see Pool._homes): as many as a worker keeps the contexts of, and more.
HOMES_KEPT = 64


class WorkerCrashed(Exception):
    """The worker went away without answering."""


def _without_lone_surrogates(value: Any) -> Any:
    """A script's value with each half of a surrogate pair standing alone (which no UTF-8 text can hold) replaced
    by U+FFFD, as a reply must be UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    return value


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rethink_widgets.server.javascript_worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._pending = bytearray()  # what the worker wrote that is not yet a whole reply
        self._searched = 0  # how much of it holds no newline
        assert self.process.stdout is not None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """The worker's reply, or None when the deadline passed first (raises QueryInterrupted if stopped)."""
        assert self.process.stdin is not None
        data = memoryview(orjson.dumps(request) + b"\n")
        try:
            while data:  # (a write to a pipe may take part of what it is given)
                data = data[os.write(self.process.stdin.fileno(), data) :]
        except OSError:
            raise WorkerCrashed from None
        line = self._line(deadline)
        if line is None:
            return None
        try:
            reply: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError:
            reply = _without_lone_surrogates(json.loads(line.decode("utf-8", "surrogatepass")))
        return reply

    def _line(self, deadline: float) -> bytes | None:
        assert self.process.stdout is not None
        with interrupts.blocked():
            while (end := self._pending.find(b"\n", self._searched)) < 0:
                self._searched = len(self._pending)
                interrupts.raise_if_interrupted()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if self._selector.select(min(left, POLL_SECONDS)):
                    chunk = os.read(self.process.stdout.fileno(), 1 << 16)
                    if not chunk:
                        raise WorkerCrashed
                    self._pending += chunk
        line = bytes(self._pending[:end])
        del self._pending[: end + 1]
        self._searched = 0
        return line

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
        self._busy: set[_Worker] = set()
        self._starting = 0  # workers being made, outside the lock
        # The worker holding each query's functions (the latest queries'): its calls go there, with the function's
        # state, even when that means waiting for another query's script to end.
        self._homes: collections.OrderedDict[int, _Worker] = collections.OrderedDict()
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
        self._give_back(worker, query if "function" in reply else None)
        return reply

    def _take(self, query: int) -> _Worker:
        with self._changed:
            while (worker := self._idle_for(query)) is None and not self._may_start(query):
                interrupts.raise_if_interrupted()
                self._changed.wait(POLL_SECONDS)
            if worker is not None:
                self._idle.remove(worker)
                self._busy.add(worker)
                return worker
            self._starting += 1
        try:
            worker = _Worker()
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify_all()
        with self._changed:
            self._busy.add(worker)
        return worker

    def _idle_for(self, query: int) -> _Worker | None:
        """The idle worker a request of `query` may take: the query's home; else one that is nobody's home; else,
        when no more workers may start, the one idle longest."""
        home = self._homes.get(query)
        if home is not None:
            return home if home in self._idle else None
        homes = set(self._homes.values())
        homeless = [worker for worker in self._idle if worker not in homes]
        if homeless:
            return homeless[0]
        return self._idle[0] if self._idle and not self._room() else None

    def _may_start(self, query: int) -> bool:
        """Whether a worker may start for `query`, which has no idle worker to take. A query holding the write lock
        never waits (every writer would wait with it), even for its home, at the cost of its functions' state."""
        if interrupts.writing():
            return True
        return query not in self._homes and self._room()

    def _room(self) -> bool:
        return len(self._busy) + len(self._idle) + self._starting < MAX_WORKERS

    def _give_back(self, worker: _Worker, home_of: int | None) -> None:
        with self._changed:
            self._busy.discard(worker)
            self._idle.append(worker)
            if home_of is not None:
                self._homes[home_of] = worker
                self._homes.move_to_end(home_of)
                while len(self._homes) > HOMES_KEPT:
                    self._homes.popitem(last=False)
            self._changed.notify_all()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._changed:
            self._busy.discard(worker)
            for query in [query for query, home in self._homes.items() if home is worker]:
                del self._homes[query]
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


POOL = Pool()
atexit.register(POOL.close)
