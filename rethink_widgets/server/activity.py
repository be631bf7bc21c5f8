"""What the server is doing and what it is: the counts, open connections and running queries the `stats` and `jobs`
system tables show, and the facts about this process (pid, argv, start time, port) that `server_status` shows.

Counts are a running total and the count of the last whole second. Storage counts the documents it reads and writes
per table; the protocol lists each query as a job while it runs.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server.interrupts import Interruptor


class Rate:
    """A running total and the count of the last whole second, kept without a timer (worker threads add to it)."""

    __slots__ = ("_current", "_lock", "_previous", "_second", "total")

    def __init__(self) -> None:
        self.total = 0
        self._second = 0
        self._current = self._previous = 0
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        with self._lock:
            now = int(time.monotonic())
            if now != self._second:  # (`_roll`, written out: every query adds to two rates)
                self._previous = self._current if now == self._second + 1 else 0
                self._current, self._second = 0, now
            self._current += count
            self.total += count

    def per_sec(self) -> int:
        with self._lock:
            self._roll()
            return self._previous

    def _roll(self) -> None:
        now = int(time.monotonic())
        if now != self._second:
            self._previous = self._current if now == self._second + 1 else 0
            self._current, self._second = 0, now


@dataclass(slots=True)
class Job:
    id: str
    started: float  # time.monotonic()
    client_address: str
    client_port: int
    user: str
    query: Any  # the query's term as sent (made JSON text only when `jobs` is read)
    interruptor: Interruptor  # deleting the job's row stops the query


class Activity:
    """What the server is doing: counts of queries and of documents read and written, and the running queries."""

    def __init__(self) -> None:
        self.queries = Rate()
        self.reads: defaultdict[str, Rate] = defaultdict(Rate)
        self.writes: defaultdict[str, Rate] = defaultdict(Rate)
        self.jobs: dict[str, Job] = {}
        self.time_started = time.time()
        self.argv = list(sys.argv)
        self.pid = os.getpid()
        self.reql_port = 0
        self.connections: Callable[[], int] = lambda: 0
        self._job_ids = _job_ids()

    def add_job(self, peer: str, user: str, query: Any, interruptor: Interruptor) -> str:
        """Count one query and list it in `jobs` until `remove_job`; returns the job's id."""
        address, _, port = peer.rpartition(":")
        port_number = int(port) if port.isdigit() else 0
        job = Job(next(self._job_ids), time.monotonic(), address, port_number, user, query, interruptor)
        self.queries.add()
        self.jobs[job.id] = job
        return job.id

    def remove_job(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)


def _job_ids() -> Iterator[str]:
    """Job ids, one per query: UUIDs (version 4 in form) that share a random start and count on from there, so that
    each costs no call for randomness. Unique within the process, which is all a job id must be."""
    start = uuid.uuid4()
    prefix, count = str(start)[:24], start.int & 0xFFFF_FFFF_FFFF
    while True:
        count = (count + 1) & 0xFFFF_FFFF_FFFF
        yield f"{prefix}{count:012x}"
