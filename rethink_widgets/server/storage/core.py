"""The storage's file and connections, the write lock, and the listeners told of what changes.

Writes are serialized through one writer connection (WAL mode, so readers never wait for it); every thread reads
through a connection of its own. After each commit the changes go to the commit listeners, in commit order, while the
write lock is still held (so feeds may hear of a hard write just before it is on disk, as in RethinkDB); a dropped
table is announced to the drop listeners. After each change of the catalog (databases, tables, their configuration,
indexes, users) the catalog listeners run, still under the lock, so the system tables that show the catalog can
publish their own changes in order. `snapshot()` gives a read view fixed at one commit, for changefeeds that must join
an initial read with the writes that follow it."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.activity import Activity
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.storage.checkpoints import LOG_FILE_LIMIT, Checkpointer
from rethink_widgets.server.storage.files import DATA_FILE, private_directory, private_files
from rethink_widgets.server.storage.group_commit import GroupCommit
from rethink_widgets.server.storage.records import CommittedChange, IndexCompiler, IndexFunction, IndexInfo, TableInfo
from rethink_widgets.server.storage.texts import json_dumps
from rethink_widgets.server.storage.write_lock import WriteLock

if TYPE_CHECKING:
    from rethink_widgets.server.storage.transaction import Transaction

_PROGRESS_STEPS = 1_000_000  # SQLite steps between looks at a query's stop signal (about 10 ms of work)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dbs (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS tables (id TEXT PRIMARY KEY, db TEXT NOT NULL, name TEXT NOT NULL,
    primary_key TEXT NOT NULL, durability TEXT NOT NULL, sql TEXT NOT NULL, UNIQUE (db, name));
CREATE TABLE IF NOT EXISTS indexes (table_id TEXT NOT NULL, name TEXT NOT NULL, function TEXT NOT NULL,
    multi INTEGER NOT NULL, geo INTEGER NOT NULL, sql TEXT NOT NULL, PRIMARY KEY (table_id, name));
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, credentials TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS permissions (user TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL,
    permissions TEXT NOT NULL, PRIMARY KEY (user, kind, scope));
"""

# Server and cluster settings kept as JSON in `meta`, with their defaults.
SETTINGS = {"tags": ["default"], "cache_size_mb": "auto", "auth_key": None, "heartbeat_timeout_secs": 10}

# Table settings added after the first release, with their defaults for tables made before them.
_TABLE_COLUMNS = {
    "shards": "INTEGER NOT NULL DEFAULT 1", "write_acks": "TEXT NOT NULL DEFAULT 'majority'",
    "write_hook": "TEXT",  # the hook's FUNC term as JSON, or NULL
}  # fmt: skip

# Index columns added after the first release: `built` (with background builds) is the primary key of the last row a
# build has indexed; `key_format` is how a geospatial index's keys are made (records.GEO_KEY_FORMAT).
_INDEX_COLUMNS = {"ready": "INTEGER NOT NULL DEFAULT 1", "built": "BLOB", "key_format": "INTEGER NOT NULL DEFAULT 0"}


def _server_name() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "rethink_widgets"


class StorageCore:
    """What every layer of Storage stands on: the file, its connections and the catalog as loaded."""

    def __init__(
        self,
        directory: Path,
        index_compiler: IndexCompiler,
        initial_credentials: dict[str, Any] | None = None,
    ) -> None:
        private_directory(directory)
        self.path = directory / DATA_FILE
        private_files(self.path)
        self._index_compiler = index_compiler
        self._index_functions: dict[tuple[str, str], IndexFunction] = {}
        self._local = threading.local()
        self._lock = WriteLock()
        self._listeners: list[Callable[[list[CommittedChange]], None]] = []
        self._drop_listeners: list[Callable[[TableInfo], None]] = []
        self._catalog_listeners: list[Callable[[], None]] = []
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        # Commits are not fsynced by SQLite: hard ones wait for the group commit's fsync (checkpoints still sync).
        self._writer.execute("PRAGMA synchronous=NORMAL")
        self._writer.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's work
        self._writer.execute(f"PRAGMA journal_size_limit={LOG_FILE_LIMIT}")
        # Writes land on pages all over a table (generated keys are random): a bigger cache than SQLite's 2 MB keeps
        # them in memory (measured: a third less time per row written into a table of 100,000 rows).
        self._writer.execute("PRAGMA cache_size=-32768")
        self._writer.executescript(_SCHEMA)
        self._group_commit = GroupCommit(self.path.with_name(self.path.name + "-wal"))
        self._checkpointer = Checkpointer(self._connect, self._lock)
        self._add_columns("tables", _TABLE_COLUMNS)
        self._add_columns("indexes", _INDEX_COLUMNS)
        self._active: Transaction | None = None
        self._settled = threading.Event()  # clear while a write acknowledged before its commit is not committed
        self._settled.set()
        self._settling = 0  # the thread that clears it: its commit listeners may read (limit feeds), never wait
        self.activity = Activity()
        with self._lock:
            self._initialize(initial_credentials)
        self._load_catalog()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute("PRAGMA busy_timeout=60000")
        # A long statement (a count of a big table) looks at its query's stop signal now and then.
        conn.set_progress_handler(interrupts.interrupted, _PROGRESS_STEPS)
        return conn

    def _add_columns(self, table: str, columns: dict[str, str]) -> None:
        present = {row[1] for row in self._writer.execute(f"PRAGMA table_info({table})")}
        for name, definition in columns.items():
            if name not in present:
                self._writer.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def _initialize(self, initial_credentials: dict[str, Any] | None) -> None:
        w = self._writer
        if w.execute("SELECT 1 FROM meta WHERE name = 'server_id'").fetchone():
            return
        with self._atomic("hard"):
            w.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("server_id", str(uuid.uuid4())), ("server_name", _server_name()), ("next_sql", "1")],
            )
            w.execute("INSERT INTO dbs VALUES (?, 'test')", (str(uuid.uuid4()),))
            if initial_credentials is not None:
                w.execute("INSERT INTO users VALUES ('admin', ?)", (json_dumps(initial_credentials),))

    def _load_catalog(self) -> None:
        w = self._writer
        meta = dict(w.execute("SELECT name, value FROM meta").fetchall())
        self.server_id: str = meta["server_id"]
        self.server_name: str = meta["server_name"]
        self._dbs: dict[str, str] = {name: id_ for id_, name in w.execute("SELECT id, name FROM dbs")}
        self._tables: dict[str, TableInfo] = {}
        # Tables found by name before, checked before use (a name stays unique, but a table may be renamed or go).
        self._named: dict[tuple[str, str], TableInfo] = {}
        columns = "id, db, name, primary_key, durability, sql, shards, write_acks, write_hook"
        for *row, hook in w.execute(f"SELECT {columns} FROM tables"):
            hook_term = json.loads(hook) if hook is not None else None
            self._tables[row[0]] = TableInfo(*row, hook_term)  # type: ignore[call-arg]  # mypy cannot count *row
        for table_id, name, function, multi, geo, sql, ready, built in w.execute(
            "SELECT table_id, name, function, multi, geo, sql, ready, built FROM indexes"
        ):
            index = IndexInfo(name, json.loads(function), bool(multi), bool(geo), sql, bool(ready), built)
            self._tables[table_id].indexes[name] = index
        self._users: dict[str, dict[str, Any]] = {
            name: json.loads(creds) for name, creds in w.execute("SELECT name, credentials FROM users")
        }
        self._permissions: dict[tuple[str, str, str], dict[str, bool]] = {
            (user, kind, scope): json.loads(value)
            for user, kind, scope, value in w.execute("SELECT user, kind, scope, permissions FROM permissions")
        }
        self._settings = {
            name: json.loads(meta.get(f"setting:{name}", json_dumps(value))) for name, value in SETTINGS.items()
        }

    def close(self) -> None:
        self._checkpointer.close()
        with self._lock, self._readers_lock:
            self._writer.close()
            self._group_commit.close()
            for reader in list(self._readers):
                reader.close()

    def add_commit_listener(self, listener: Callable[[list[CommittedChange]], None]) -> None:
        """Call `listener` with each commit's changes, in commit order, on the writing thread."""
        self._listeners.append(listener)

    def add_drop_listener(self, listener: Callable[[TableInfo], None]) -> None:
        """Call `listener` with each table that is dropped (alone or with its database)."""
        self._drop_listeners.append(listener)

    def add_catalog_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each change of the catalog, in order, while no other change can start."""
        self._catalog_listeners.append(listener)

    def publish(self, changes: list[CommittedChange]) -> None:
        """Hand changes that no transaction made (those of the system tables) to the commit listeners."""
        with self._lock, interrupts.shielded():
            for listener in self._listeners:
                listener(changes)

    def snapshot(self, on_fixed: Callable[[Snapshot], None]) -> Snapshot:
        """A read view of the data as it is now; `on_fixed(view)` runs at that instant, before any later commit."""
        conn = self._connect()
        conn.execute("PRAGMA query_only=1")
        snapshot = Snapshot(self, conn)
        with self._lock:
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM meta").fetchall()  # the first read fixes the view
            try:
                on_fixed(snapshot)
            except BaseException:
                snapshot.close()
                raise
        return snapshot

    @contextlib.contextmanager
    def _atomic(self, durability: str, rows: int = 1) -> Iterator[None]:
        """One transaction on the writer, of about `rows` rows, that changes no document (so no commit listener hears
        of it)."""
        with self._lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")
            self._checkpointer.wrote(rows)
            if durability == "hard":  # a change of the catalog is rare: it waits holding the lock
                self._group_commit.wait_synced(self._group_commit.committed())

    def index_function(self, table: TableInfo, index: IndexInfo) -> IndexFunction:
        """An index's function, compiled once (until the index goes)."""
        found = self._index_functions.get((table.id, index.name))
        if found is None:
            found = self._index_compiler(index.function, index.multi, index.geo)
            self._index_functions[(table.id, index.name)] = found
        return found

    def index_values(self, table: TableInfo, index: str, doc: dict[str, Any]) -> list[Any]:
        """The values `doc` has in a secondary index (none when the index skips it)."""
        return [value for _key, value in self.index_function(table, table.indexes[index])(doc)]

    @contextlib.contextmanager
    def reading_through(self, conn: sqlite3.Connection | None) -> Iterator[None]:
        """Reads on this thread go through `conn` (a snapshot's connection) inside the block; None: the usual one."""
        local = self._local
        previous, local.pinned = getattr(local, "pinned", None), conn
        try:
            yield
        finally:
            local.pinned = previous

    def _reader(self) -> sqlite3.Connection:
        pinned: sqlite3.Connection | None = getattr(self._local, "pinned", None)
        if pinned is not None:
            return pinned  # (a view fixed before: nothing to wait for)
        self.settle()
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            reader = self._local.reader = _Reader(conn)
            with self._readers_lock:  # not the write lock: a reader must never wait behind a long write
                self._readers.add(reader)
        return reader.conn

    def settle(self) -> None:
        """Wait until a write acknowledged before its commit (see `insert_new`) has committed; on the event loop, a
        query that would wait goes to a worker thread instead (see inline.py)."""
        if not self._settled.is_set() and threading.get_ident() != self._settling:
            with interrupts.blocked():
                self._settled.wait()

    def _query(self, table: TableInfo, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        interrupts.check()  # every read (an eq_join's lookups, a scan's pages)
        try:
            return self._reader().execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            interrupts.raise_if_interrupted()  # the progress handler stopped the statement
            with self._lock:  # a drop that committed has left the catalog once the lock is free
                dropped = table.id not in self._tables
            if dropped:
                raise ReqlOpFailedError(f"Table `{table.qualified_name}` was dropped while being read.") from None
            raise ReqlOpFailedError(f"Storage error: {error}") from error


class _Reader:
    """A thread's connection for reads, closed when its thread ends: the worker thread of a long query retires after
    it (workers.py), and its connection, page cache and all, would stay open, one more for every batch of a scan."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __del__(self) -> None:  # the thread's locals go when it ends
        self.close()


class Snapshot:
    """A read view fixed at one commit: reads inside `reading()` on any thread see the data as it was then."""

    def __init__(self, storage: StorageCore, conn: sqlite3.Connection) -> None:
        self._storage = storage
        self._conn: sqlite3.Connection | None = conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._storage.reading_through(self._conn):
            yield

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")
                conn.close()
