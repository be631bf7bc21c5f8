"""Databases, tables, indexes, users, permissions and server settings.

A change of the catalog checks what it needs (a free name, a database, table or index still there) inside its own
transaction, so that of concurrent conflicting changes one succeeds and the others raise AlreadyExists or
DoesNotExist, which evaluation turns into RethinkDB's errors. The catalog in memory follows once the change commits."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.storage.core import SETTINGS
from rethink_widgets.server.storage.index_builds import IndexBuilds
from rethink_widgets.server.storage.records import (
    GEO_KEY_FORMAT,
    SYSTEM_DB,
    AlreadyExists,
    DoesNotExist,
    IndexInfo,
    Scope,
    TableInfo,
)
from rethink_widgets.server.storage.texts import json_dumps


class Catalog(IndexBuilds):
    """The catalog: read from memory, changed through the writer (see `_catalog_change`)."""

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

    def _next_sql(self, prefix: str) -> str:
        (number,) = self._writer.execute("SELECT value FROM meta WHERE name = 'next_sql'").fetchone()
        self._writer.execute("UPDATE meta SET value = ? WHERE name = 'next_sql'", (str(int(number) + 1),))
        return f"{prefix}{number}"

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
                stored = json_dumps(value) if column == "write_hook" and value is not None else value
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
            compute = self._index_compiler(function, multi, geo)
            index.ready = self._index_at_once(table, index, compute)
            self._writer.execute(
                "INSERT INTO indexes (table_id, name, function, multi, geo, sql, ready, key_format) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    table.id,
                    name,
                    json_dumps(function),
                    int(multi),
                    int(geo),
                    index.sql,
                    int(index.ready),
                    GEO_KEY_FORMAT,
                ),
            )
            done.append(lambda: table.indexes.__setitem__(name, index))
            if not index.ready:
                done.append(lambda: self._start_build(table, index, compute))

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

    def users(self) -> dict[str, dict[str, Any]]:
        return dict(self._users)

    def user_put(self, name: str, credentials: dict[str, Any]) -> None:
        with self._catalog_change() as done:
            self._writer.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (name, json_dumps(credentials)))
            done.append(lambda: self._users.__setitem__(name, credentials))

    def user_delete(self, name: str) -> None:
        with self._catalog_change() as done:
            self._writer.execute("DELETE FROM users WHERE name = ?", (name,))
            self._writer.execute("DELETE FROM permissions WHERE user = ?", (name,))
            done.append(lambda: self._users.pop(name, None))
            done.append(lambda: self._forget_permissions(user=name))

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
                    "INSERT OR REPLACE INTO permissions VALUES (?, ?, ?, ?)", (*key, json_dumps(permissions))
                )
                done.append(lambda: self._permissions.__setitem__(key, dict(permissions)))
            else:
                self._writer.execute("DELETE FROM permissions WHERE user = ? AND kind = ? AND scope = ?", key)
                done.append(lambda: self._permissions.pop(key, None))

    def _forget_permissions(self, scope: str | None = None, user: str | None = None) -> None:
        for key in [k for k in self._permissions if k[2] == scope or k[0] == user]:
            del self._permissions[key]

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
                if key not in SETTINGS:
                    raise ValueError(f"no setting {key}")
                self._writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"setting:{key}", json_dumps(value)))
            done.append(lambda: self._settings.update(settings))
