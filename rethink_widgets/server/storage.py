"""Durable storage in one SQLite file: databases, tables, secondary indexes, users, permissions and server settings.

Each ReQL table is a SQLite table keyed by `keys.encode(primary key)`, so SQLite's BLOB order is ReQL's order; each
secondary index is a SQLite table of (index key, primary key) pairs, so `between`, `get_all` and `order_by(index)`
read only the range they need. An index on a table of more than one chunk of rows is built in the background, as
RethinkDB builds it: one builder thread indexes a chunk of rows per transaction, in primary key order, and records
how far it got (so a restart resumes the build), while every write keeps the index right for every row, the rows the
builder has reached and the rest alike; the index is `ready` once the builder has read the whole table.

Scans fetch pages by key, each page a fresh statement on the calling thread's own connection, so no cursor outlives a
page and `limit(10)` reads a few rows.

Writes are serialized through one writer connection (WAL mode, so readers never wait for it). Every commit survives a
killed process; a transaction with `durability="hard"` returns only once it is on disk, and concurrent hard transactions
share the fsync that puts them there (group commit, see group_commit.py), which they wait for once they have let go of
the write lock (or, inside `syncing_later`, not at all: `when_synced` tells when); a thread of its own copies the log
into the database file (checkpoints.py). A soft insert may be acknowledged before it is stored and committed
(`insert_new`), and any soft transaction given `Transaction.acknowledge` before its commit, as RethinkDB acknowledges a
soft write once it holds it in memory: until its commit is made (at once, by the thread that acknowledged it, still
holding the write lock) reads and new changefeeds wait for it, so none that begins after the acknowledgement misses the
write.
After each commit the changes go to the commit listeners, in commit order, while the write lock is still held (so
feeds may hear of a hard write just before it is on disk, as in RethinkDB); a dropped table is announced to the drop
listeners. After each change of the catalog (databases, tables, their configuration, indexes, users) the catalog
listeners run, still under the lock, so the system tables that show the catalog can publish their own changes in
order. A change of the catalog checks what it needs (a free name, a database, table or index still there) inside its
own transaction, so that of concurrent conflicting changes one succeeds and the others raise AlreadyExists or
DoesNotExist, which evaluation turns into RethinkDB's errors; a write to a table dropped meanwhile raises DoesNotExist
too. `snapshot()` gives a read view fixed at one commit, for changefeeds that must join an initial read with the
writes that follow it.

Reads and writes are counted per table in `activity` (see activity.py), which the `stats` system table shows.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.activity import Activity
from rethink_widgets.server.checkpoints import LOG_FILE_LIMIT, Checkpointer
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.group_commit import GroupCommit, Synced
from rethink_widgets.server.wire import finite

log = logging.getLogger(__name__)
DATA_FILE = "data.sqlite"
# The system database: it has no row in `dbs`, but a table of its own (the scratch table) lives here too.
SYSTEM_DB = "rethinkdb"
IndexFunction = Callable[[dict[str, Any]], list[Any]]
IndexCompiler = Callable[[Any, bool], IndexFunction]
_FIRST_PAGE, _MAX_PAGE = 16, 1024
_LOCK_POLL_SECONDS = 0.05
_PROGRESS_STEPS = 1_000_000  # SQLite steps between looks at a query's stop signal (about 10 ms of work)
# Rows an index build reads per transaction: a write waits a millisecond or two for the lock, not the whole build
# (benchmarks/server.py measures insert latencies during a build; bigger chunks build no faster but stall longer).
_BUILD_CHUNK = 250
# The builder's rest between chunks, so that waiting writes take the lock before its next chunk.
_BUILD_PAUSE = 0.001

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
# A permission scope: ("global", ""), ("db", database id) or ("table", table id).
Scope = tuple[str, str]
# Server and cluster settings kept as JSON in `meta`, with their defaults.
_SETTINGS = {"tags": ["default"], "cache_size_mb": "auto", "auth_key": None, "heartbeat_timeout_secs": 10}
# Table settings added after the first release, with their defaults for tables made before them.
_TABLE_COLUMNS = {
    "shards": "INTEGER NOT NULL DEFAULT 1", "write_acks": "TEXT NOT NULL DEFAULT 'majority'",
    "write_hook": "TEXT",  # the hook's FUNC term as JSON, or NULL
}  # fmt: skip
# Index columns added with background builds: `built` is the primary key of the last row a build has indexed.
_INDEX_COLUMNS = {"ready": "INTEGER NOT NULL DEFAULT 1", "built": "BLOB"}
_READ_AHEAD = 50  # keys a statement of Transaction.read_ahead reads (one statement text: SQLite compiles it once)
_MANY = 64  # keys a statement of Storage.get_many reads


@dataclass
class IndexInfo:
    name: str
    function: Any
    multi: bool
    geo: bool
    sql: str
    ready: bool = True
    built: bytes | None = None  # while building: the encoded primary key of the last row indexed
    progress: float = 0.0  # while building: the fraction of the table's rows indexed


@dataclass
class _Build:
    """An index being built, with its own compiled function (the writers' one may be running on another thread)."""

    table: TableInfo
    index: IndexInfo
    compute: IndexFunction
    done: int = -1  # rows indexed, counted when the builder first reaches it
    total: int = 0


@dataclass
class TableInfo:
    id: str
    db: str
    name: str
    primary_key: str
    durability: str
    sql: str
    shards: int = 1
    write_acks: str = "majority"
    write_hook: Any = None  # the FUNC term of the table's write hook, as the driver sent it
    indexes: dict[str, IndexInfo] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.db}.{self.name}"


class CatalogConflict(Exception):
    """A change of the catalog that the catalog refuses as it is when the change is made, under the write lock.

    `kind` is "database", "table" or "index"; `name` is the database's name, the table's `db.name` or the index's
    name, and `table` the `db.name` of an index's table.
    """

    def __init__(self, kind: str, name: str, table: str = "") -> None:
        super().__init__(f"{kind} {name}" + (f" on table {table}" if table else ""))
        self.kind = kind
        self.name = name
        self.table = table


class AlreadyExists(CatalogConflict):
    """What the change would create (or rename to) exists already."""


class DoesNotExist(CatalogConflict):
    """What the change works on is gone (or was never there)."""


class TextPage(NamedTuple):
    """The JSON texts stored for a page of documents, in order, joined by ROW_SEPARATOR."""

    text: str
    row_count: int


class CommittedChange(NamedTuple):
    """One document changed by a commit (`old` None: inserted; `new` None: deleted), as commit listeners get it.
    (A named tuple: made for every document written, in a third of the time a frozen dataclass takes.)"""

    table_id: str
    key: Any
    old: dict[str, Any] | None
    new: dict[str, Any] | None


def private_directory(directory: Path) -> None:
    """Create the data directory for its user alone (0700). One that exists is left as its user made it: sharing it
    may be deliberate, and the files the server keeps in it are private anyway."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        if not directory.is_dir():
            raise
        return
    directory.chmod(0o700)  # whatever the umask took away


def private_file(path: Path) -> None:
    """Make the file at `path` its user's alone (0600), creating it empty if missing. One another user owns is left
    alone (the server then fails on it, or works with it, as that user allowed)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with contextlib.suppress(PermissionError):
        path.chmod(0o600)


def private_files(database: Path) -> None:
    """The database file 0600 before SQLite opens it (SQLite gives its WAL and SHM files the database file's mode
    when it creates them), and WAL and SHM files an older version left readable by all made 0600 too."""
    private_file(database)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            database.with_name(database.name + suffix).chmod(0o600)


# json.dumps with these options would make a new encoder for every document.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
# (What is no JSON, a dataclass or a datetime say, orjson must refuse as Python's json module does.)
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_UNREAD = object()
REPLY_READY = " "  # begins a row's stored text written by orjson, keys sorted (see `_row_text`)
ROW_SEPARATOR = "\x1e"  # keeps rows apart in one text: JSON writes every control character escaped
_LONG_DIGITS = re.compile("[0-9]{19}")  # (every integer orjson reads as a double has at least 19 digits)


def _page_where(column: str, span: keys.Span, after: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (and its parameters) of a page of a span of `column` ("key", or "ikey" for an index's rows,
    ordered by (ikey, pkey)), after the last row of the page before (`after`: its key, or ikey and pkey)."""
    lower, upper, lower_open, upper_open, reverse = span
    low = (f"{column} {'>' if lower_open else '>='} ?", keys.encode(lower))
    high = (f"{column} {'<' if upper_open else '<='} ?", keys.encode(upper))
    start, end = (high, low) if reverse else (low, high)
    if not after:
        return f"{start[0]} AND {end[0]}", (start[1], end[1])
    # A later page starts after the last row seen, in place of the starting bound: with both, SQLite may seek by
    # the bound and step over every row read so far, on every page.
    position = "(i.ikey, i.pkey)" if column == "ikey" else "key"
    resume = f"{position} {'<' if reverse else '>'} " + ("(?, ?)" if column == "ikey" else "?")
    return f"{resume} AND {end[0]}", (*after, end[1])


class _NotAdded(Exception):
    """Documents `add_all` could not all add: their transaction rolls back."""


def _document_text(doc: Any) -> str:
    """A document's stored text: JSON that reads back as the same document. orjson writes it, unless Python's json
    module would write it otherwise or refuse it (integers beyond 64 bits, keys that are no strings, NaN, which
    orjson writes as null): then that module does, raising TypeError for what is no JSON (r.minval, r.maxval) and
    ValueError for NaN as it always did."""
    try:
        text = orjson.dumps(doc, option=_ORJSON_OPTIONS)
    except TypeError:
        return _dumps(doc)
    return _dumps(doc) if b"null" in text and not finite(doc) else text.decode()


def _row_text(doc: dict[str, Any]) -> str:
    """A table row's stored text: as `_document_text`, but when orjson writes it, with its keys sorted and after a
    space (REPLY_READY), which marks the text a reply can send as it is, but for a few numbers (row_texts.py). A
    space before JSON is still JSON: readers that do not look for the mark read the same document."""
    try:
        text = orjson.dumps(doc, option=_ORJSON_OPTIONS | orjson.OPT_SORT_KEYS)
    except TypeError:
        return _dumps(doc)
    return _dumps(doc) if b"null" in text and not finite(doc) else REPLY_READY + text.decode()


def _document(text: str) -> Any:
    """A document from its stored text, as Python's json module reads it. orjson reads it, unless it may hold an
    integer beyond 64 bits, which orjson reads as a double (the server wrote the text: it holds no NaN, no lone
    surrogate)."""
    return json.loads(text) if _LONG_DIGITS.search(text) else orjson.loads(text)


def _server_name() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "rethink_widgets"


class _WriteLock:
    """The storage's (re-entrant) write lock. A query holding it never waits its turn: writers would wait too."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        # A query stopped while it waits for the lock gives up waiting; one stopped meanwhile writes nothing.
        if not self._lock.acquire(blocking=False):
            with interrupts.blocked():
                while not self._lock.acquire(timeout=_LOCK_POLL_SECONDS):
                    interrupts.raise_if_interrupted()
        try:
            interrupts.raise_if_interrupted()
        except BaseException:
            self._lock.release()
            raise
        interrupts.entered_write_lock()

    def __exit__(self, *exc: object) -> None:
        interrupts.left_write_lock()
        self._lock.release()


class Storage:
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
        self._lock = _WriteLock()
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
        # `_builds` and `_closing` change under `_build_state`, which index waiters wait on (never the write lock);
        # it is taken under the write lock, never the other way round.
        self._build_state = threading.Condition()
        self._closing = False
        with self._lock:
            self._initialize(initial_credentials)
        self._load_catalog()
        self._builds = [
            _Build(table, index, index_compiler(index.function, index.multi))
            for table in self._tables.values()
            for index in table.indexes.values()
            if not index.ready
        ]
        self._builder = threading.Thread(target=self._build_indexes, name="index-builder", daemon=True)
        self._builder.start()

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
                w.execute("INSERT INTO users VALUES ('admin', ?)", (_dumps(initial_credentials),))

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
            name: json.loads(meta.get(f"setting:{name}", _dumps(value))) for name, value in _SETTINGS.items()
        }

    def stop_building(self) -> None:
        """Stop index builds where they are (they resume when storage opens again) and wake their waiters."""
        with self._build_state:
            self._closing = True
            self._build_state.notify_all()
        if threading.current_thread() is not self._builder:
            self._builder.join()

    @property
    def closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self.stop_building()
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

    # ---------------------------------------------------------------- catalog

    def db_list(self) -> list[str]:
        return sorted(self._dbs)

    def db_id(self, name: str) -> str | None:
        return self._dbs.get(name)

    def db_create(self, name: str, db_id: str | None = None) -> dict[str, str]:
        with self._catalog_change() as done:
            if name in self._dbs or name == SYSTEM_DB:
                raise AlreadyExists("database", name)
            db_id = db_id or str(uuid.uuid4())
            self._writer.execute("INSERT INTO dbs VALUES (?, ?)", (db_id, name))
            done.append(lambda: self._dbs.__setitem__(name, db_id))
        return {"id": db_id, "name": name}

    def db_drop(self, name: str) -> tuple[dict[str, str], list[TableInfo]]:
        with self._catalog_change() as done:
            db_id = self._require_db(name)
            dropped = [t for t in self._tables.values() if t.db == name]
            for table in dropped:
                self._drop_sql(table)
                done.append(functools.partial(self._forget, table))
            self._writer.execute("DELETE FROM dbs WHERE name = ?", (name,))
            self._writer.execute("DELETE FROM permissions WHERE scope = ?", (db_id,))
            done.append(functools.partial(self._dbs.pop, name))
            done.append(functools.partial(self._forget_permissions, db_id))
        return {"id": db_id, "name": name}, dropped

    def db_rename(self, old: str, new: str) -> None:
        with self._catalog_change() as done:
            self._require_db(old)
            if new in self._dbs or new == SYSTEM_DB:
                raise AlreadyExists("database", new)
            self._writer.execute("UPDATE dbs SET name = ? WHERE name = ?", (new, old))
            self._writer.execute("UPDATE tables SET db = ? WHERE db = ?", (new, old))
            done.append(lambda: self._dbs.__setitem__(new, self._dbs.pop(old)))
            for table in self._tables.values():
                if table.db == old:
                    done.append(functools.partial(setattr, table, "db", new))

    def _require_db(self, name: str) -> str:
        """The id of a database (under the write lock)."""
        db_id = self._dbs.get(name)
        if db_id is None:
            raise DoesNotExist("database", name)
        return db_id

    def table_list(self, db: str) -> list[str]:
        return sorted(t.name for t in self.tables() if t.db == db)

    def table(self, db: str, name: str) -> TableInfo | None:
        known = self._named.get((db, name))  # (every query names a table: most find it here)
        if known is not None and known.db == db and known.name == name and self._tables.get(known.id) is known:
            return known
        # A copy of the catalog's tables: another thread may add or drop one meanwhile.
        for table in self.tables():
            if table.db == db and table.name == name:
                self._named[db, name] = table
                return table
        return None

    def table_by_id(self, table_id: str) -> TableInfo | None:
        return self._tables.get(table_id)

    def tables(self) -> list[TableInfo]:
        return list(self._tables.values())

    def require_table(self, table: TableInfo) -> None:
        """That a table is still there (under the write lock): a query may hold it while another drops it."""
        if self._tables.get(table.id) is not table:
            raise DoesNotExist("table", table.qualified_name)

    def table_create(  # noqa: PLR0917
        self,
        db: str,
        name: str,
        primary_key: str = "id",
        durability: str = "hard",
        shards: int = 1,
        write_acks: str = "majority",
        table_id: str | None = None,
    ) -> TableInfo:
        with self._catalog_change() as done:
            if db != SYSTEM_DB:
                self._require_db(db)
            if self.table(db, name) is not None:
                raise AlreadyExists("table", f"{db}.{name}")
            table_id = table_id or str(uuid.uuid4())
            table = TableInfo(table_id, db, name, primary_key, durability, self._next_sql("t"), shards, write_acks)
            self._writer.execute(f"CREATE TABLE {table.sql} (key BLOB PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID")
            self._writer.execute(
                "INSERT INTO tables (id, db, name, primary_key, durability, sql, shards, write_acks) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (table.id, db, name, primary_key, durability, table.sql, shards, table.write_acks),
            )
            done.append(lambda: self._tables.__setitem__(table.id, table))
        return table

    def table_configure(self, table: TableInfo, **settings: Any) -> None:
        """Change a table's `name`, `db`, `durability`, `shards`, `write_acks` or `write_hook`."""
        with self._catalog_change() as done:
            self.require_table(table)
            if "name" in settings or "db" in settings:
                db, name = settings.get("db", table.db), settings.get("name", table.name)
                self._require_db(db)
                if self.table(db, name) not in (None, table):
                    raise AlreadyExists("table", f"{db}.{name}")
            for column, value in settings.items():
                if column not in ("name", "db", "durability", "shards", "write_acks", "write_hook"):
                    raise ValueError(f"no table setting {column}")
                stored = _dumps(value) if column == "write_hook" and value is not None else value
                self._writer.execute(f"UPDATE tables SET {column} = ? WHERE id = ?", (stored, table.id))
                done.append(functools.partial(setattr, table, column, value))

    def table_drop(self, table: TableInfo) -> None:
        """Drop the table (by id, as RethinkDB does: if it was renamed meanwhile, it goes under its new name)."""
        with self._catalog_change() as done:
            self.require_table(table)
            self._drop_sql(table)
            done.append(functools.partial(self._forget, table))

    def _drop_sql(self, table: TableInfo) -> None:
        w = self._writer
        for index in table.indexes.values():
            w.execute(f"DROP TABLE {index.sql}")
        w.execute(f"DROP TABLE {table.sql}")
        w.execute("DELETE FROM indexes WHERE table_id = ?", (table.id,))
        w.execute("DELETE FROM tables WHERE id = ?", (table.id,))
        w.execute("DELETE FROM permissions WHERE scope = ?", (table.id,))

    def _forget(self, table: TableInfo) -> None:
        self._tables.pop(table.id, None)
        self._forget_permissions(table.id)
        self.activity.reads.pop(table.id, None)
        self.activity.writes.pop(table.id, None)
        for name in table.indexes:
            self._index_functions.pop((table.id, name), None)
        for listener in self._drop_listeners:
            listener(table)

    def index_create(self, table: TableInfo, name: str, function: Any, multi: bool = False, geo: bool = False) -> None:
        """Add an index; it is ready at once on a table of one chunk of rows, else the builder builds it."""
        index = IndexInfo(name, function, multi, geo, "")
        with self._catalog_change() as done:
            self.require_table(table)
            if name in table.indexes:
                raise AlreadyExists("index", name, table.qualified_name)
            index.sql = self._next_sql("i")
            self._writer.execute(
                f"CREATE TABLE {index.sql} (ikey BLOB NOT NULL, pkey BLOB NOT NULL, value TEXT NOT NULL, "
                "PRIMARY KEY (ikey, pkey)) WITHOUT ROWID"
            )
            rows = self._writer.execute(
                f"SELECT key, doc FROM {table.sql} ORDER BY key LIMIT ?", (_BUILD_CHUNK + 1,)
            ).fetchall()
            compute = self._index_compiler(function, multi)
            index.ready = len(rows) <= _BUILD_CHUNK
            if index.ready:
                entries = [entry for key, doc in rows for entry in _index_entries(compute, json.loads(doc), key)]
                self._writer.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", entries)
            self._writer.execute(
                "INSERT INTO indexes (table_id, name, function, multi, geo, sql, ready) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (table.id, name, _dumps(function), int(multi), int(geo), index.sql, int(index.ready)),
            )
            done.append(lambda: table.indexes.__setitem__(name, index))
            if not index.ready:
                done.append(lambda: self._start_build(_Build(table, index, compute)))

    def index_await(self, table: TableInfo, names: list[str]) -> None:
        """Wait (holding no lock) until each named index is ready or gone, the table is dropped or storage closes."""

        def settled() -> bool:
            if self._closing or table.id not in self._tables:
                return True
            return all(name not in table.indexes or table.indexes[name].ready for name in names)

        with self._build_state, interrupts.blocked():
            while not self._build_state.wait_for(settled, _LOCK_POLL_SECONDS):
                interrupts.raise_if_interrupted()

    def _start_build(self, build: _Build) -> None:
        with self._build_state:
            self._builds.append(build)
            self._build_state.notify_all()

    def _build_indexes(self) -> None:
        """The builder thread: a chunk at a time of the oldest build, until storage closes."""
        while True:
            with self._build_state:
                self._build_state.wait_for(lambda: self._closing or bool(self._builds))
                if self._closing:
                    return
                build = self._builds[0]
            try:
                over = self._build_chunk(build)
            except Exception:  # the thread must outlive a failing chunk: the build retries it
                log.exception("building index %s of table %s", build.index.name, build.table.qualified_name)
                time.sleep(1)
                continue
            if over:
                with self._build_state:
                    self._builds.remove(build)
                    self._build_state.notify_all()
            time.sleep(_BUILD_PAUSE)

    def _build_chunk(self, build: _Build) -> bool:
        """Index the next chunk of a build's rows; True once the build is over (done, or its index dropped)."""
        table, index = build.table, build.index
        after = index.built or b""  # every encoded key sorts after the empty BLOB
        try:
            if build.done < 0:
                build.done = (
                    self._reader().execute(f"SELECT count(*) FROM {table.sql} WHERE key <= ?", (after,)).fetchone()[0]
                )
                build.total = self._reader().execute(f"SELECT count(*) FROM {table.sql}").fetchone()[0]
            read = (
                self._reader()
                .execute(f"SELECT key, doc FROM {table.sql} WHERE key > ? ORDER BY key LIMIT ?", (after, _BUILD_CHUNK))
                .fetchall()
            )
        except sqlite3.OperationalError:
            if self._building(build):
                raise
            return True
        # The index values are computed here, outside the write lock; under it only rows written since are computed.
        computed = {key: (doc, _index_entries(build.compute, json.loads(doc), key)) for key, doc in read}
        last = read[-1][0] if len(read) == _BUILD_CHUNK else None
        with self._lock:
            if not self._building(build):
                return True
            bound, params = ("key > ? AND key <= ?", (after, last)) if last is not None else ("key > ?", (after,))
            entries = []
            rows = self._writer.execute(f"SELECT key, doc FROM {table.sql} WHERE {bound}", params).fetchall()
            for key, doc in rows:
                known = computed.get(key)
                entries.extend(
                    known[1] if known and known[0] == doc else _index_entries(build.compute, json.loads(doc), key)
                )
            with self._atomic("soft" if last is not None else "hard", len(entries)):
                self._writer.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", entries)
                self._writer.execute(
                    "UPDATE indexes SET built = ?, ready = ? WHERE sql = ?", (last, int(last is None), index.sql)
                )
            build.done += len(rows)
            # The table may grow while it is built: the fraction stays below 1 until the last chunk.
            index.progress = build.done / max(build.total, build.done + 1)
            index.built, index.ready = last, last is None
        return index.ready

    def _building(self, build: _Build) -> bool:
        """Whether a build's index is still there: neither it nor its table was dropped (or renamed over)."""
        table = build.table
        return self._tables.get(table.id) is table and table.indexes.get(build.index.name) is build.index

    def index_drop(self, table: TableInfo, name: str) -> None:
        with self._catalog_change() as done:
            self._require_index(table, name)
            index = table.indexes[name]
            self._writer.execute(f"DROP TABLE {index.sql}")
            self._writer.execute("DELETE FROM indexes WHERE table_id = ? AND name = ?", (table.id, name))
            done.append(lambda: self._forget_index(table, name))

    def index_rename(self, table: TableInfo, old: str, new: str, overwrite: bool = False) -> None:
        with self._catalog_change() as done:
            self._require_index(table, old)
            if new in table.indexes and new != old:
                if not overwrite:
                    raise AlreadyExists("index", new, table.qualified_name)
                self._writer.execute(f"DROP TABLE {table.indexes[new].sql}")
                self._writer.execute("DELETE FROM indexes WHERE table_id = ? AND name = ?", (table.id, new))
            self._writer.execute("UPDATE indexes SET name = ? WHERE table_id = ? AND name = ?", (new, table.id, old))
            done.append(lambda: self._renamed_index(table, old, new))

    def _require_index(self, table: TableInfo, name: str) -> None:
        self.require_table(table)
        if name not in table.indexes:
            raise DoesNotExist("index", name, table.qualified_name)

    def _forget_index(self, table: TableInfo, name: str) -> None:
        table.indexes.pop(name, None)
        self._index_functions.pop((table.id, name), None)

    def _renamed_index(self, table: TableInfo, old: str, new: str) -> None:
        index = table.indexes.pop(old)
        self._forget_index(table, new)
        self._index_functions.pop((table.id, old), None)
        index.name = new
        table.indexes[new] = index

    def _next_sql(self, prefix: str) -> str:
        (number,) = self._writer.execute("SELECT value FROM meta WHERE name = 'next_sql'").fetchone()
        self._writer.execute("UPDATE meta SET value = ? WHERE name = 'next_sql'", (str(int(number) + 1),))
        return f"{prefix}{number}"

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

    @contextlib.contextmanager
    def _catalog_change(self) -> Iterator[list[Callable[[], Any]]]:
        """One atomic change of the catalog; the in-memory catalog follows (the actions listed) once it commits."""
        with self._lock:
            done: list[Callable[[], Any]] = []
            with self._atomic("hard"):
                yield done
            with interrupts.shielded():  # committed: the in-memory catalog and listeners must follow
                for action in done:
                    action()
                with self._build_state:  # an index waiter's index or table may be gone now
                    self._build_state.notify_all()
                for listener in self._catalog_listeners:
                    listener()

    def index_function(self, table: TableInfo, index: IndexInfo) -> IndexFunction:
        """An index's function, compiled once (until the index goes)."""
        found = self._index_functions.get((table.id, index.name))
        if found is None:
            found = self._index_compiler(index.function, index.multi)
            self._index_functions[(table.id, index.name)] = found
        return found

    # ---------------------------------------------------------------- reads

    def index_values(self, table: TableInfo, index: str, doc: dict[str, Any]) -> list[Any]:
        """The values `doc` has in a secondary index (none when the index skips it)."""
        return self.index_function(table, table.indexes[index])(doc)

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

    def get(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        text = self.get_text(table, key)
        return _document(text) if text is not None else None

    def get_text(self, table: TableInfo, key: Any) -> str | None:
        """The stored JSON text of the document with this key (None: there is none)."""
        rows = self._query(table, f"SELECT doc FROM {table.sql} WHERE key = ?", (keys.encode(key),))
        self.activity.reads[table.id].add(len(rows))
        return rows[0][0] if rows else None

    def get_many(self, table: TableInfo, key_list: list[Any]) -> list[dict[str, Any] | None]:
        """The documents of these keys (None where there is none), in their order, `_MANY` keys to a statement (a
        tenth of the time per key that a statement per key takes); a key asked twice gives the same document."""
        wanted = [keys.encode(key) for key in key_list]
        distinct = list(dict.fromkeys(wanted))
        sql = f"SELECT key, doc FROM {table.sql} WHERE key IN ({', '.join('?' * _MANY)})"
        found: dict[bytes, Any] = {}
        for start in range(0, len(distinct), _MANY):
            group = distinct[start : start + _MANY]
            group += group[:1] * (_MANY - len(group))  # one statement text, which SQLite compiles once
            found.update(self._query(table, sql, tuple(group)))
        self.activity.reads[table.id].add(len(found))
        documents = {pkey: _document(text) for pkey, text in found.items()}
        return [documents.get(pkey) for pkey in wanted]

    def count(self, table: TableInfo) -> int:
        count: int = self._query(table, f"SELECT count(*) FROM {table.sql}")[0][0]
        return count

    def scan(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Generator[dict[str, Any], None, None]:
        """Documents of a span of primary keys (all by default), in its order."""
        for page in self._pages(table, table.sql, "key", span):
            for _key, doc in page:
                interrupts.check()
                yield _document(doc)

    def scan_text_pages(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Iterator[TextPage]:
        """`scan`, page by page, as the JSON texts stored for the documents (the server wrote them, keys in the order
        the document had), for readers that need no document: SQLite joins a page's texts into one (see TextPage),
        so that a page costs no Python object per row."""
        order = "DESC" if span.reverse else "ASC"
        last = "min(key)" if span.reverse else "max(key)"
        after: tuple[Any, ...]
        page, after = _FIRST_PAGE, ()
        while True:
            where, params = _page_where("key", span, after)
            rows = f"SELECT key, doc FROM {table.sql} WHERE {where} ORDER BY key {order} LIMIT ?"
            # The subquery has a LIMIT, so SQLite runs it apart, in its order, and group_concat takes its rows in that
            # order. (SQLite does not promise it; 3.44 can say ORDER BY inside the aggregate. Tests of descending
            # scans across pages would see it change.)
            sql = f"SELECT group_concat(doc, char({ord(ROW_SEPARATOR)})), count(*), {last} FROM ({rows})"
            try:
                text, count, last_key = self._query(table, sql, (*params, page))[0]
            except sqlite3.DataError:  # longer than SQLite makes a string (a billion bytes): joined here instead
                found = self._query(table, rows, (*params, page))
                text, count, last_key = ROW_SEPARATOR.join([doc for _key, doc in found]), len(found), found[-1][0]
            self.activity.reads[table.id].add(count)
            if count:
                interrupts.check_many(count)
                yield TextPage(text, count)
            if count < page:
                return
            after = (last_key,)
            page = min(page * 4, _MAX_PAGE)

    def index_scan(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(index value, document) pairs in index order, then primary key order."""
        source = f"{table.indexes[index].sql} AS i JOIN {table.sql} AS t ON t.key = i.pkey"
        for page in self._pages(table, source, "ikey", span, "i.value, t.doc"):
            for _ikey, _pkey, value, doc in page:
                interrupts.check()
                yield _document(value), _document(doc)

    def index_scan_text_pages(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[TextPage]:
        """The stored texts of `index_scan`'s documents, page by page (see `scan_text_pages`)."""
        source = f"{table.indexes[index].sql} AS i JOIN {table.sql} AS t ON t.key = i.pkey"
        for page in self._pages(table, source, "ikey", span, "t.doc"):
            if page:
                interrupts.check_many(len(page))
                yield TextPage(ROW_SEPARATOR.join([doc for _ikey, _pkey, doc in page]), len(page))

    def index_get_all(self, table: TableInfo, index: str, value: Any) -> Iterator[dict[str, Any]]:
        for _value, doc in self.index_scan(table, index, keys.Span(value, value, upper_open=False)):
            yield doc

    def _pages(
        self, table: TableInfo, source: str, column: str, span: keys.Span, columns: str = "doc"
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Pages of rows: (key, *columns) for the table's own rows, (ikey, pkey, *columns) for an index's."""
        # Index rows are paged by (ikey, pkey): one index key can hold many documents.
        order = "DESC" if span.reverse else "ASC"
        select = f"SELECT {'key' if column == 'key' else 'i.ikey, i.pkey'}, {columns} FROM {source}"
        order_by = "i.ikey " + order + ", i.pkey " + order if column == "ikey" else f"key {order}"
        after: tuple[Any, ...]
        page, after = _FIRST_PAGE, ()
        while True:
            where, params = _page_where(column, span, after)
            rows = self._query(table, f"{select} WHERE {where} ORDER BY {order_by} LIMIT ?", (*params, page))
            self.activity.reads[table.id].add(len(rows))
            yield rows
            if len(rows) < page:
                return
            last = rows[-1]
            after = (last[0],) if column == "key" else (last[0], last[1])
            page = min(page * 4, _MAX_PAGE)

    # ---------------------------------------------------------------- writes

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
        except _NotAdded:  # (what was added is rolled back)
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

    # ---------------------------------------------------------------- users

    def users(self) -> dict[str, dict[str, Any]]:
        return dict(self._users)

    def user_put(self, name: str, credentials: dict[str, Any]) -> None:
        with self._catalog_change() as done:
            self._writer.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (name, _dumps(credentials)))
            done.append(lambda: self._users.__setitem__(name, credentials))

    def user_delete(self, name: str) -> None:
        with self._catalog_change() as done:
            self._writer.execute("DELETE FROM users WHERE name = ?", (name,))
            self._writer.execute("DELETE FROM permissions WHERE user = ?", (name,))
            done.append(lambda: self._users.pop(name, None))
            done.append(lambda: self._forget_permissions(user=name))

    # ---------------------------------------------------------------- permissions

    def permissions(self) -> dict[tuple[str, str, str], dict[str, bool]]:
        """Every user's permissions by (user, scope kind, scope id); a scope with none set is absent."""
        return {key: dict(value) for key, value in self._permissions.items()}

    def permissions_of(self, user: str, scope: Scope) -> dict[str, bool]:
        return dict(self._permissions.get((user, *scope), {}))

    def permissions_put(self, user: str, scope: Scope, permissions: dict[str, bool]) -> None:
        """Set a user's permissions on a scope; none at all removes the scope."""
        key = (user, *scope)
        with self._catalog_change() as done:
            if permissions:
                self._writer.execute(
                    "INSERT OR REPLACE INTO permissions VALUES (?, ?, ?, ?)", (*key, _dumps(permissions))
                )
                done.append(lambda: self._permissions.__setitem__(key, dict(permissions)))
            else:
                self._writer.execute("DELETE FROM permissions WHERE user = ? AND kind = ? AND scope = ?", key)
                done.append(lambda: self._permissions.pop(key, None))

    def _forget_permissions(self, scope: str | None = None, user: str | None = None) -> None:
        for key in [k for k in self._permissions if k[2] == scope or k[0] == user]:
            del self._permissions[key]

    # ---------------------------------------------------------------- server settings

    def settings(self) -> dict[str, Any]:
        """This server's tags and cache size, and the cluster's auth key and heartbeat timeout."""
        return dict(self._settings)

    def configure(self, name: str | None = None, **settings: Any) -> None:
        """Rename this server and change its settings (see `settings`)."""
        with self._catalog_change() as done:
            if name is not None:
                self._writer.execute("UPDATE meta SET value = ? WHERE name = 'server_name'", (name,))
                done.append(functools.partial(setattr, self, "server_name", name))
            for key, value in settings.items():
                if key not in _SETTINGS:
                    raise ValueError(f"no setting {key}")
                self._writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"setting:{key}", _dumps(value)))
            done.append(lambda: self._settings.update(settings))


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

    def __init__(self, storage: Storage, conn: sqlite3.Connection) -> None:
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

    def __init__(self, storage: Storage, durability: str, acknowledge: Callable[[], None] | None = None) -> None:
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


def _index_entries(compute: IndexFunction, doc: dict[str, Any], pkey: bytes) -> list[tuple[bytes, bytes, str]]:
    return [(keys.encode(value), pkey, _document_text(value)) for value in compute(doc)]


class Transaction:
    """Reads and writes inside one atomic write; `changes` lists what it did, in order.

    A table dropped before the transaction began raises DoesNotExist (the transaction holds the write lock, so none
    is dropped while it runs)."""

    def __init__(self, storage: Storage, writer: sqlite3.Connection) -> None:
        self._storage = storage
        self._conn = writer
        self.changes: list[CommittedChange] = []
        # Answers a soft write before its commit (see insert_new; evaluation sets it for a write of one document).
        self.acknowledge: Callable[[], None] | None = None
        self.acknowledged = False
        # The stored text (None: no document) of each row this transaction has read or written, by (table, key):
        # a write usually reads its row just before it replaces it. Text, not documents, which callers may change.
        self._rows: dict[tuple[str, bytes], str | None] = {}

    def get(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        self._storage.require_table(table)
        text = self._row(table, keys.encode(key))
        return _document(text) if text is not None else None

    def read_ahead(self, table: TableInfo, key_list: list[Any]) -> None:
        """Read the rows of `key_list` not read yet, _READ_AHEAD to a statement (a third of the time per row that a
        statement per row takes); what is left over is read as it is needed."""
        if len(key_list) < _READ_AHEAD:
            return
        self._storage.require_table(table)
        wanted = list({pkey for pkey in map(keys.encode, key_list) if (table.sql, pkey) not in self._rows})
        sql = f"SELECT key, doc FROM {table.sql} WHERE key IN ({', '.join('?' * _READ_AHEAD)})"
        for start in range(0, len(wanted) - _READ_AHEAD + 1, _READ_AHEAD):
            group = wanted[start : start + _READ_AHEAD]
            found = dict(self._conn.execute(sql, group).fetchall())
            for pkey in group:
                self._rows[table.sql, pkey] = found.get(pkey)

    def _row(self, table: TableInfo, pkey: bytes) -> str | None:
        where = (table.sql, pkey)
        if where not in self._rows:
            row = self._conn.execute(f"SELECT doc FROM {table.sql} WHERE key = ?", (pkey,)).fetchone()
            self._rows[where] = row[0] if row else None
        return self._rows[where]

    def put(self, table: TableInfo, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a document (replacing any with its key); returns the old one."""
        interrupts.check()  # a long write stops between documents (and rolls back)
        self._storage.require_table(table)
        key = doc[table.primary_key]
        pkey = keys.encode(key)
        text = self._row(table, pkey)
        old = _document(text) if text is not None else None
        text = _row_text(doc)
        self._conn.execute(f"INSERT OR REPLACE INTO {table.sql} VALUES (?, ?)", (pkey, text))
        self._stored(table, pkey, text, key, old, doc)
        return old

    def add(self, table: TableInfo, doc: dict[str, Any]) -> bool:
        """Store a document if no document has its key (one statement where `get` and `put` take two); False if
        one has, or if the document is no JSON (then nothing is stored: `get` and `put` say what is there, or why
        it cannot be stored)."""
        interrupts.check()
        self._storage.require_table(table)
        key = doc[table.primary_key]
        pkey = keys.encode(key)
        try:
            text = _row_text(doc)
        except (TypeError, ValueError):
            return False
        known = self._rows.get((table.sql, pkey), _UNREAD)
        if known is _UNREAD:
            added = self._conn.execute(f"INSERT INTO {table.sql} VALUES (?, ?) ON CONFLICT DO NOTHING", (pkey, text))
            if added.rowcount == 0:
                return False
        elif known is None:
            self._conn.execute(f"INSERT INTO {table.sql} VALUES (?, ?)", (pkey, text))
        else:
            return False
        self._stored(table, pkey, text, key, None, doc)
        return True

    def add_all(self, table: TableInfo, docs: list[dict[str, Any]], fresh_keys: bool = False) -> None:
        """Store documents, in one statement, if no document has the key of one. Raises _NotAdded if one has (or two
        of them share one), or if one is no JSON: then some may have been stored, and the transaction must roll
        back. `fresh_keys`: see Storage.insert_new."""
        interrupts.check()
        self._storage.require_table(table)
        pk = table.primary_key
        try:
            pkeys = [keys.encode(doc[pk]) for doc in docs]
        except (TypeError, ValueError):
            raise _NotAdded from None
        # Index functions (the user's, which may run long or be stopped) run before the write can be answered; the
        # rows' texts, which only fail for what is no JSON (never in a query's literal documents), after it.
        entries = [(index.sql, self._new_entries(table, index, docs, pkeys)) for index in table.indexes.values()]
        if fresh_keys:
            self.acknowledge_now()
        if self.acknowledged:
            with interrupts.shielded():  # (answered: nothing may stop it now)
                self._add_rows(table, self._rows_of(docs, pkeys), entries)
        else:
            self._add_rows(table, self._rows_of(docs, pkeys), entries)
        table_id = table.id
        self.changes.extend(CommittedChange(table_id, doc[pk], None, doc) for doc in docs)

    @staticmethod
    def _rows_of(docs: list[dict[str, Any]], pkeys: list[bytes]) -> list[tuple[bytes, str]]:
        try:
            return [(pkey, _row_text(doc)) for pkey, doc in zip(pkeys, docs, strict=True)]
        except (TypeError, ValueError):
            raise _NotAdded from None

    def _new_entries(
        self, table: TableInfo, index: IndexInfo, docs: list[dict[str, Any]], pkeys: list[bytes]
    ) -> list[tuple[bytes, bytes, str]]:
        compute = self._storage.index_function(table, index)
        return [entry for doc, pkey in zip(docs, pkeys, strict=True) for entry in _index_entries(compute, doc, pkey)]

    def _add_rows(
        self, table: TableInfo, rows: list[tuple[bytes, str]], entries: list[tuple[str, list[tuple[bytes, bytes, str]]]]
    ) -> None:
        """Store new rows and their index entries (see `add_all`)."""
        sql = f"INSERT INTO {table.sql} VALUES (?, ?) ON CONFLICT DO NOTHING"
        # (executemany costs a few microseconds more for one row, and most inserts are of one document)
        added = self._conn.execute(sql, rows[0]) if len(rows) == 1 else self._conn.executemany(sql, rows)
        if added.rowcount != len(rows):
            raise _NotAdded
        if self._rows:  # (a row read before, missing then, must not be remembered missing; others are read anew)
            self._rows.update(((table.sql, pkey), text) for pkey, text in rows)
        for index_sql, index_entries in entries:
            if index_entries:
                self._conn.executemany(f"INSERT OR IGNORE INTO {index_sql} VALUES (?, ?, ?)", index_entries)

    def acknowledge_now(self) -> None:
        """Answer the write before its commit, if it is answered so and was not yet: from now on, reads on other
        threads wait for the commit (see Storage.settle)."""
        if self.acknowledge is None or self.acknowledged:
            return
        storage = self._storage
        storage._settling = threading.get_ident()
        storage._settled.clear()
        self.acknowledged = True
        try:
            self.acknowledge()
        except Exception:  # (the write goes on: its feeds must hear of it, as of any other)
            log.exception("answering a write before its commit")

    def _stored(  # noqa: PLR0917
        self, table: TableInfo, pkey: bytes, text: str, key: Any, old: dict[str, Any] | None, doc: dict[str, Any]
    ) -> None:
        """What follows a document's row written: its index entries, and the change to announce once committed."""
        self._rows[table.sql, pkey] = text
        self._reindex(table, pkey, old, doc)
        self.changes.append(CommittedChange(table.id, key, old, doc))

    def delete(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        interrupts.check()
        self._storage.require_table(table)
        pkey = keys.encode(key)
        row = self._conn.execute(f"DELETE FROM {table.sql} WHERE key = ? RETURNING doc", (pkey,)).fetchone()
        self._rows[table.sql, pkey] = None
        if row is None:
            return None
        old: dict[str, Any] = _document(row[0])
        self._reindex(table, pkey, old, None)
        self.changes.append(CommittedChange(table.id, key, old, None))
        return old

    def _reindex(self, table: TableInfo, pkey: bytes, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for index in table.indexes.values():
            compute = self._storage.index_function(table, index)
            before = _index_entries(compute, old, pkey) if old is not None else []
            after = _index_entries(compute, new, pkey) if new is not None else []
            if before == after:
                continue
            if before:  # (none for a document inserted)
                self._conn.executemany(f"DELETE FROM {index.sql} WHERE ikey = ? AND pkey = ?", [e[:2] for e in before])
            if after:  # (none for a document deleted)
                self._conn.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", after)
