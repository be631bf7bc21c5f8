"""Checkpoints in the background: a thread of its own copies SQLite's write-ahead log into the database file.

Left to itself, SQLite's writer checkpoints inside a COMMIT once the log holds 1000 pages, copying them and fsyncing
twice while it holds the write lock: about half the cost of a small write, and more for a big one whose keys are
spread over the table. Here the writer never checkpoints: after every CHECKPOINT_ROWS rows written the checkpointer
copies what the log holds, without the write lock (a PASSIVE checkpoint: writers and readers go on meanwhile), then
holding it copies the little that writers added meanwhile. SQLite starts the log over only once all of it has been
copied: a log that writers kept filling would grow without end, and a commit that makes the log file longer takes
longer to put on disk than one that writes over it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
CHECKPOINT_ROWS = 1000  # about SQLite's own 1000 pages: a row written changes a page or so
# A checkpoint makes up to MAX_PASSES passes without the write lock, until one has FEW_PAGES or fewer to copy.
MAX_PASSES = 4
FEW_PAGES = 100


class Checkpointer:
    """The thread that checkpoints one database, on a connection of its own."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], write_lock: contextlib.AbstractContextManager[None]):
        self._conn = connect()
        self._write_lock = write_lock
        self._rows = 0  # written since the last checkpoint began
        self._wanted = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()

    def wrote(self, rows: int) -> None:
        """Count rows a commit wrote (called under the write lock)."""
        self._rows += rows
        if self._rows >= CHECKPOINT_ROWS:
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._closing:
                return
            self._wanted.clear()
            self._rows = 0  # (a count a writer adds meanwhile may be lost: it only delays the next checkpoint)
            try:
                self._checkpoint()
            except sqlite3.Error:  # the thread must outlive a failing checkpoint: the next one retries it
                log.exception("checkpointing the write-ahead log")
                time.sleep(1)

    def _checkpoint(self) -> None:
        # Passes without the lock, each copying what writers added during the one before, while that is much.
        copied_before = 0
        for _ in range(MAX_PASSES):
            _busy, pages, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if pages - copied_before <= FEW_PAGES:  # (both are -1 when another checkpoint is under way)
                break
            copied_before = copied
        with self._write_lock:  # (copying nothing when no writer came meanwhile)
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def close(self) -> None:
        self._closing = True
        self._wanted.set()
        self._thread.join()
        self._conn.close()
