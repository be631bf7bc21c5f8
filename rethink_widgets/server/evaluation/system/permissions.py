"""User permissions: checking them, and merging a change of them (the `grant` term is in grant.py, the
`rethinkdb.permissions` table in access_tables.py).

A user holds `read`, `write` and `config` permissions on three scopes, table, database and global (`connect` only
globally); each is true, false or unset, and the narrowest scope that sets one decides, unset everywhere meaning
no. The system database is the exception: global permissions do not reach it, only those granted on it or on its
tables. `admin` has every permission, always. Writing needs `read` as well as `write`, as in RethinkDB.

Queries of users other than `admin` see each table through `GuardedStorage`, which checks `read` before every read
and `write` before every write of that table, when the read or the write happens. An open changefeed is checked
again whenever permissions or users change (see changefeeds.py), so losing `read` ends it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlPermissionError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system.catalog import system_id
from rethink_widgets.server.evaluation.values import TableStorage
from rethink_widgets.server.storage import SYSTEM_DB, Scope, Storage, TableInfo, TextPage, Transaction
from rethink_widgets.server.storage.records import KeyRange

ADMIN = "admin"
SYSTEM_DB_ID = system_id(SYSTEM_DB)
GLOBAL: Scope = ("global", "")
_TABLE_PERMISSIONS = ("read", "write", "config")
ADMIN_PERMISSIONS = {"config": True, "connect": True, "read": True, "write": True}


def allowed(
    storage: Storage, user: str, permission: str, db_id: str | None = None, table_id: str | None = None
) -> bool:
    """Whether `user` holds `permission` on a table (both ids), a database (`db_id`) or globally (neither)."""
    if user == ADMIN:
        return True
    scopes: list[Scope] = []
    if table_id is not None:
        scopes.append(("table", table_id))
    if db_id is not None:
        scopes.append(("db", db_id))
    if db_id != SYSTEM_DB_ID:
        scopes.append(GLOBAL)
    for scope in scopes:
        value = storage.permissions_of(user, scope).get(permission)
        if value is not None:
            return value
    return False


def require(
    storage: Storage, user: str, permission: str, db_id: str | None = None, table_id: str | None = None
) -> None:
    needed = ("read", "write") if permission == "write" else (permission,)
    if not all(allowed(storage, user, p, db_id, table_id) for p in needed):
        raise denied(user, permission)


def denied(user: str, permission: str) -> ReqlPermissionError:
    return ReqlPermissionError(f"User `{user}` does not have the required `{permission}` permission.")


def require_config(ctx: Context, db: str | None = None, info: TableInfo | None = None) -> None:
    """`config` on a table (`info`), a database (`db`, by name) or globally (neither)."""
    if info is not None:
        require(ctx.storage, ctx.user, "config", db_id_of(ctx.storage, info.db), info.id)
    elif db is not None:
        require(ctx.storage, ctx.user, "config", db_id_of(ctx.storage, db))
    else:
        require(ctx.storage, ctx.user, "config")


def require_read(ctx: Context, info: TableInfo) -> None:
    """`read` on a table, checked up front by what reads later, out of sight of `GuardedStorage` (changefeeds)."""
    require(ctx.storage, ctx.user, "read", *permission_ids(ctx.storage, info))


def permission_ids(storage: Storage, info: TableInfo) -> tuple[str | None, str]:
    """The database and table ids a table's permissions are kept under."""
    if info.db == SYSTEM_DB:
        # A system table's id depends on its identifier format; its permissions follow its name.
        return SYSTEM_DB_ID, system_id(info.name)
    return storage.db_id(info.db), info.id


def db_id_of(storage: Storage, name: str) -> str | None:
    return SYSTEM_DB_ID if name == SYSTEM_DB else storage.db_id(name)


def storage_for(ctx: Context, info: TableInfo) -> TableStorage:
    """The storage as this query's user may use it on one table."""
    if ctx.user == ADMIN:
        return ctx.storage
    return GuardedStorage(ctx.storage, ctx.user, info)


class GuardedStorage:
    """A storage whose reads and writes of one table first check the user's permission on it."""

    def __init__(self, storage: Storage, user: str, info: TableInfo) -> None:
        self._storage = storage
        self._user = user
        self._info = info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def _check(self, permission: str) -> None:
        require(self._storage, self._user, permission, *permission_ids(self._storage, self._info))

    def get(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        self._check("read")
        return self._storage.get(table, key)

    def get_many(self, table: TableInfo, key_list: list[Any]) -> list[dict[str, Any] | None]:
        self._check("read")
        return self._storage.get_many(table, key_list)

    def count(self, table: TableInfo) -> int:
        self._check("read")
        return self._storage.count(table)

    def scan(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Iterator[dict[str, Any]]:
        self._check("read")
        return self._storage.scan(table, span)

    def scan_text_pages(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Iterator[TextPage]:
        self._check("read")
        return self._storage.scan_text_pages(table, span)

    def index_scan(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        self._check("read")
        return self._storage.index_scan(table, index, span)

    def index_scan_text_pages(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[TextPage]:
        self._check("read")
        return self._storage.index_scan_text_pages(table, index, span)

    def index_get_all(self, table: TableInfo, index: str, value: Any) -> Iterator[dict[str, Any]]:
        self._check("read")
        return self._storage.index_get_all(table, index, value)

    def index_key_ranges(
        self, table: TableInfo, index: str, ranges: list[KeyRange]
    ) -> Iterator[tuple[bytes, bytes, Any]]:
        self._check("read")
        return self._storage.index_key_ranges(table, index, ranges)

    def index_documents(
        self, table: TableInfo, index: str, entries: list[tuple[bytes, bytes]]
    ) -> list[dict[str, Any] | None]:
        self._check("read")
        return self._storage.index_documents(table, index, entries)

    def transaction(self, durability: str = "hard") -> contextlib.AbstractContextManager[Transaction]:
        self._check("write")
        return self._storage.transaction(durability)

    def sync(self, table: TableInfo) -> None:
        self._check("write")  # `sync` is a write in RethinkDB
        self._storage.sync(table)


def merge(old: dict[str, bool], changes: Any, is_global: bool) -> dict[str, bool]:
    """`old` with the permissions `changes` sets (true or false) or unsets (null), checked as RethinkDB does."""
    if not isinstance(changes, dict):
        raise ReqlOpFailedError(f"Expected an object, got {datums.printed(changes)}.")
    new = dict(old)
    for name in (*_TABLE_PERMISSIONS, "connect"):
        if name not in changes:
            continue
        if name == "connect" and not is_global:
            raise ReqlOpFailedError("The `connect` permission is only valid at the global scope.")
        value = changes[name]
        if value is None:
            new.pop(name, None)
        elif isinstance(value, bool):
            new[name] = value
        else:
            raise ReqlOpFailedError(f"Expected a boolean or null for `{name}`, got {datums.printed(value)}.")
    extra = sorted(set(changes) - {*_TABLE_PERMISSIONS, "connect"})
    if extra:
        raise ReqlOpFailedError(f"Unexpected key(s) `{'`, `'.join(extra)}`.")
    return new
