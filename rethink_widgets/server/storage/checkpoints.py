"""Checkpoints in the background: a thread of its own copies SQLite's write-ahead log into the database file.

Left to itself, SQLite's writer checkpoints inside a COMMIT once the log holds 1000 pages, copying them and fsyncing
twice while it holds the write lock: about half the cost of a small write, and more for a big one whose keys are
spread over the table. Here the writer never checkpoints: after every CHECKPOINT_ROWS rows written the checkpointer
copies what the log holds, without the write lock (PASSIVE checkpoints: writers and readers go on meanwhile), then
holding it copies what writers added meanwhile if that is little. SQLite starts the log over only once all of it has
been copied, and a commit that writes over the log file is put on disk faster than one that makes it longer. Big
writes are left to go on (a copy of what they add under the lock would stop them for as long): under writers that
keep adding much the log grows until it holds MAX_LOG_PAGES, and then the rest is copied holding the lock.
Only a write that begins once all the log is copied starts it over. Writes that follow each other with no pause (a
big insert's chunks) each begin before the checkpoint that copied all ends, so a log copied whole goes on growing,
as big as all they write. Once it holds MAX_LOG_PAGES, a checkpoint that copied all ends holding the lock too: the
next write then starts the log over.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
# A checkpoint copies each page once, however many times the log holds it, and syncs twice: rarer ones copy and sync
# less where writes come back to the same pages. Every 10,000 rows rather than 1000 (about SQLite's own 1000 pages):
# measured, batches of 1000 documents with generated keys into a table of up to 150,000 rows went 17% faster, while
# single inserts and point gets went as fast; the log then grows to some 40 MB (a row changes a page or so).
CHECKPOINT_ROWS = 10_000
# A checkpoint makes up to MAX_PASSES passes without the write lock; when writers wrote FEW_ROWS or fewer during one,
# a last pass copies what they wrote holding the lock.
MAX_PASSES = 4
FEW_ROWS = 100
MAX_LOG_PAGES = 20_000  # 80 MB of log (SQLite's pages are 4 KB): twice what CHECKPOINT_ROWS lets it grow to
# A log file that grew bigger (while readers kept the log from starting over) is cut back to this size once the log
# starts over: SQLite keeps a log file as big as it ever was while the database is open (and reads all of it as it
# opens the database after a crash).
LOG_FILE_LIMIT = 2 * MAX_LOG_PAGES * 4096


class Checkpointer:
    """The thread that checkpoints one database, on a connection of its own."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], write_lock: contextlib.AbstractContextManager[None]):
        self._conn = connect()
        self._write_lock = write_lock
        self._written = 0  # rows written by all commits so far
        self._last = 0  # rows written when the last checkpoint began
        self._wanted = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()

    def wrote(self, rows: int) -> None:
        """Count rows a commit wrote (called under the write lock)."""
        self._written += rows
        if self._written - self._last >= CHECKPOINT_ROWS:
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._closing:
                return
            self._wanted.clear()
            self._last = self._written
            try:
                self._checkpoint()
            except sqlite3.Error:  # the thread must outlive a failing checkpoint: the next one retries it
                log.exception("checkpointing the write-ahead log")
                time.sleep(1)

    def _checkpoint(self) -> None:
        pages = 0
        for _ in range(MAX_PASSES):
            before = self._written  # (read without the lock: a count a moment old does no harm)
            _busy, pages, _copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            added = self._written - before
            if added == 0 and pages <= MAX_LOG_PAGES:
                return  # all copied (unless a reader still needs some of the log): it starts over at the next write
            if added <= FEW_ROWS:
                break
        else:
            if pages <= MAX_LOG_PAGES:
                return  # writers keep adding much: the next checkpoint copies it
        with self._write_lock:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def close(self) -> None:
        self._closing = True
        self._wanted.set()
        self._thread.join()
        self._conn.close()
