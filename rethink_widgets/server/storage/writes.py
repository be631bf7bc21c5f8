"""Atomic writes and their durability.

Every commit survives a killed process; a transaction with `durability="hard"` returns only once it is on disk, and
concurrent hard transactions share the fsync that puts them there (group commit, see group_commit.py), which they
wait for once they have let go of the write lock (or, inside `syncing_later`, not at all: `when_synced` tells when);
a thread of its own copies the log into the database file (checkpoints.py).

A soft insert may be acknowledged before it is stored and committed (`insert_new`), and any soft transaction given
`Transaction.acknowledge` before its commit, as RethinkDB acknowledges a soft write once it holds it in memory: until
its commit is made (at once, by the thread that acknowledged it, still holding the write lock) reads and new
changefeeds wait for it, so none that begins after the acknowledgement misses the write. A write to a table dropped
meanwhile raises DoesNotExist."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.storage.catalog import Catalog
from rethink_widgets.server.storage.group_commit import Synced
from rethink_widgets.server.storage.records import TableInfo
from rethink_widgets.server.storage.transaction import NotAdded, Transaction

log = logging.getLogger(__name__)


class Writes(Catalog):
    """Transactions on the writer: begun and ended under the write lock, their changes told to the commit listeners."""

    def transaction(self, durability: str = "hard") -> contextlib.AbstractContextManager[Transaction]:
        """One atomic write; nested use on the same thread joins the open transaction."""
        return _Transacting(self, durability)

    def _begin(self) -> Transaction:
        """Under the write lock, with no transaction open: begin one."""
        txn = self._active = Transaction(self, self._writer)
        try:
            self._writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._active = None
            raise
        return txn

    def _end(self, txn: Transaction, durability: str, failed: bool) -> int:
        """Under the write lock: roll back or commit a transaction, then hand its changes to the commit listeners.
        Returns the number of a hard commit to wait for once the lock is let go (0: none)."""
        try:
            if failed:
                self._writer.execute("ROLLBACK")
                if txn.acknowledged:
                    log.error("a soft write was acknowledged, but storing it failed: it is lost")
                return 0
            if txn.acknowledge is not None:
                with interrupts.shielded():  # (nothing may stop the commit of a write answered before it)
                    txn.acknowledge_now()
                    self._commit(txn)
            else:
                self._commit(txn)
            changes = txn.changes
            self._checkpointer.wrote(len(changes))
            # A hard transaction that changed nothing wrote nothing to wait for.
            commit = self._group_commit.committed() if durability == "hard" and changes else 0
            written: dict[str, int] = {}
            for change in changes:
                written[change.table_id] = written.get(change.table_id, 0) + 1
            for table_id, count in written.items():
                self.activity.writes[table_id].add(count)
            if changes:
                with interrupts.shielded():  # committed: every feed must hear of it
                    for listener in self._listeners:
                        listener(changes)
            return commit
        finally:
            self._active = None
            if self._settling:  # (only a write answered before its commit made readers wait)
                self._settling = 0
                self._settled.set()

    def _commit(self, txn: Transaction) -> None:
        """Commit; should that fail, the writer is left outside any transaction (it takes the next one)."""
        try:
            self._writer.execute("COMMIT")
        except sqlite3.Error:
            if self._writer.in_transaction:  # (SQLite keeps it open after some failures: the next would fail too)
                self._writer.execute("ROLLBACK")
            if txn.acknowledged:
                log.exception("a soft write was acknowledged, but its commit failed: it is lost")
            raise

    def insert_new(
        self,
        table: TableInfo,
        docs: list[dict[str, Any]],
        durability: str,
        acknowledge: Callable[[], None] | None = None,
        fresh_keys: bool = False,
    ) -> bool:
        """Store documents in a transaction of their own if no document has the key of one (nor do two of them);
        False if one has, or if one is no JSON: then nothing is written.

        `acknowledge`, for a soft write: called before it is committed (RethinkDB's soft durability answers a write
        it holds in memory; here storing and committing it, which writes every page it changed to the log, run while
        the answer travels): once the documents are stored, or as soon as their index entries are made if every key
        was generated for them just now (`fresh_keys`: random UUIDs, which no stored document has; then a key found
        taken after all, or a document that is no JSON, which a query's literal documents never are, raises
        RuntimeError, the write logged as lost). Reads and new changefeeds wait for its commit."""
        if durability != "soft":
            acknowledge = None
        try:
            with _Transacting(self, durability, acknowledge) as txn:
                txn.add_all(table, docs, fresh_keys)
        except NotAdded:  # (what was added is rolled back)
            if txn.acknowledged:  # (a generated key taken, as likely as guessing one; or a document no JSON)
                raise RuntimeError("an acknowledged write could not be stored") from None
            return False
        return True

    def syncing_later(self) -> contextlib.AbstractContextManager[list[int]]:
        """Inside the block, a hard transaction on this thread returns at its commit instead of once it is on disk:
        the number of its commit is added to the list given, for `when_synced`."""
        return _SyncingLater(self._local)

    def when_synced(self, commit: int, callback: Synced) -> None:
        """Call `callback` (from any thread) once commit number `commit` (see `syncing_later`) is on disk."""
        self._group_commit.when_synced(commit, callback)

    def sync(self, table: TableInfo) -> None:
        with self._lock:
            self._writer.execute("PRAGMA wal_checkpoint(FULL)")


class _SyncingLater:
    """One use of `Storage.syncing_later` (a class, not a generator: a hard write answered on the loop enters one)."""

    __slots__ = ("_local", "_previous")

    def __init__(self, local: threading.local) -> None:
        self._local = local
        self._previous: list[int] | None = None

    def __enter__(self) -> list[int]:
        local = self._local
        self._previous = getattr(local, "sync_later", None)
        commits: list[int] = []
        local.sync_later = commits
        return commits

    def __exit__(self, *exc: object) -> None:
        self._local.sync_later = self._previous


class _Transacting:
    """One use of `Storage.transaction` (a class, not a generator: every write enters one)."""

    __slots__ = ("_acknowledge", "_durability", "_storage", "_txn")

    def __init__(self, storage: Writes, durability: str, acknowledge: Callable[[], None] | None = None) -> None:
        self._storage = storage
        self._durability = durability
        self._acknowledge = acknowledge
        self._txn: Transaction | None = None  # (None: joined the transaction open on this thread)

    def __enter__(self) -> Transaction:
        storage = self._storage
        storage._lock.__enter__()
        try:
            if storage._active is not None:
                return storage._active
            self._txn = storage._begin()
            self._txn.acknowledge = self._acknowledge
        except BaseException:
            storage._lock.__exit__()
            raise
        return self._txn

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        storage, txn = self._storage, self._txn
        try:
            commit = storage._end(txn, self._durability, kind is not None) if txn is not None else 0
        finally:
            storage._lock.__exit__()
        if commit:
            later: list[int] | None = getattr(storage._local, "sync_later", None)
            if later is None:
                storage._group_commit.wait_synced(commit)
            else:
                later.append(commit)
