"""The system database's catalog tables, its registry of tables, and the changes of system tables for changefeeds.

`db_config` and `table_config` hold one row per database and table: inserting a row creates one, updating it renames
or reconfigures it, deleting it drops it. `table_status` is read only. `permissions` has a row per user and scope with
permissions set; writing it grants and revokes them as `grant` does. `_debug_scratch` is an ordinary table kept in
the system database. `SystemFeeds` follows every change of the catalog and publishes the rows it changed, so
changefeeds on system tables see the same changes as queries that read them.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.catalog import (
    SYSTEM_TABLE_NAMES,
    conflicts_as_errors,
    db_config_row,
    op_failed,
    system_id,
    table_config_row,
    table_status_row,
    user_tables,
    write_hook_row,
)
from rethink_widgets.server.evaluation.permissions import (
    ADMIN,
    ADMIN_PERMISSIONS,
    GLOBAL,
    SYSTEM_DB_ID,
    db_id_of,
    merge,
    require,
)
from rethink_widgets.server.evaluation.system import (
    ClusterConfigTable,
    CurrentIssuesTable,
    JobsTable,
    LogsTable,
    ServerConfigTable,
    ServerStatusTable,
    StatsTable,
    SystemTable,
    UsersTable,
    check_keys,
    check_user,
    checked_name,
)
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import (
    SYSTEM_DB,
    AlreadyExists,
    CatalogConflict,
    CommittedChange,
    Scope,
    Storage,
    TableInfo,
)

SCRATCH = "_debug_scratch"
_CONFIG_FIELDS = ("name", "db", "id", "indexes", "primary_key", "shards", "write_acks", "durability", "write_hook")


class DbConfigTable(SystemTable):
    name = "db_config"

    def rows(self) -> list[dict[str, Any]]:
        return [db_config_row(self.storage, name) for name in self.storage.db_list()]

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        check_keys(doc, {"id", "name"})
        name = checked_name(doc.get("name"), "name", "database name")
        old = self.get(doc["id"])
        if old is not None and old["name"] == name:
            return old
        if name in self.storage.db_list() or name == SYSTEM_DB:
            raise ReqlOpFailedError(f"Database `{name}` already exists.")
        require(self.storage, self.user, "config")  # as db_create and db_drop need
        with conflicts_as_errors():
            if old is None:
                self.storage.db_create(name, _uuid(doc["id"]))
            else:
                self.storage.db_rename(old["name"], name)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        if old is not None:
            require(self.storage, self.user, "config")
            with conflicts_as_errors():
                self.storage.db_drop(old["name"])
        return old


class TableStatusTable(SystemTable):
    name = "table_status"

    def rows(self) -> list[dict[str, Any]]:
        return [table_status_row(self.storage, info, self.by_id) for info in user_tables(self.storage)]


class TableConfigTable(SystemTable):
    name = "table_config"

    def rows(self) -> list[dict[str, Any]]:
        return [table_config_row(self.storage, info, self.by_id) for info in user_tables(self.storage)]

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        info = self.storage.table_by_id(doc["id"]) if isinstance(doc["id"], str) else None
        if info is None or info.db == SYSTEM_DB:
            self._create(doc)
            return None
        old = table_config_row(self.storage, info, self.by_id)
        self._modify(info, doc)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        info = self.storage.table_by_id(key) if old is not None else None
        if info is None:  # (or dropped by another client meanwhile)
            return None
        require(self.storage, self.user, "config", db_id_of(self.storage, info.db))  # as table_drop needs
        with conflicts_as_errors():
            self.storage.table_drop(info)
        return old

    def _create(self, doc: dict[str, Any]) -> None:
        check_keys(doc, set(_CONFIG_FIELDS))
        if doc.get("indexes", []) != []:
            raise ReqlOpFailedError("The `indexes` field is read-only and can't be used to create indexes.")
        settings = self._settings(doc)
        name, db = settings.pop("name"), settings.pop("db")
        if self.storage.table(db, name) is not None:
            raise ReqlOpFailedError(f"Table `{db}.{name}` already exists.")
        require(self.storage, self.user, "config", db_id_of(self.storage, db))  # as table_create needs
        primary_key = doc.get("primary_key", "id")
        if not isinstance(primary_key, str):
            raise ReqlOpFailedError(f"In `primary_key`: Expected a string; got {datums.printed(primary_key)}")
        with conflicts_as_errors():
            self.storage.table_create(db, name, primary_key, table_id=_uuid(doc["id"]), **settings)

    def _modify(self, info: TableInfo, doc: dict[str, Any]) -> None:
        for field in _CONFIG_FIELDS:
            if field not in doc:
                raise ReqlOpFailedError(f"Expected a field named `{field}`.")
        check_keys(doc, set(_CONFIG_FIELDS))
        if set(doc["indexes"]) != set(info.indexes) or not isinstance(doc["indexes"], list):
            raise ReqlOpFailedError("The `indexes` field is read-only and can't be used to create or drop indexes.")
        if doc["primary_key"] != info.primary_key:
            raise ReqlOpFailedError("It's illegal to change a table's primary key")
        settings = self._settings(doc, write_hook_row(self.storage, info))
        name, db = settings["name"], settings["db"]
        if (db, name) != (info.db, info.name) and self.storage.table(db, name) is not None:
            raise _rename_conflict(info, db, name)
        changed = {key: value for key, value in settings.items() if getattr(info, key) != value}
        if changed:
            require(self.storage, self.user, "config", db_id_of(self.storage, info.db), info.id)
            if "db" in changed:  # moving it: the database it goes to must allow it too
                require(self.storage, self.user, "config", db_id_of(self.storage, changed["db"]))
            try:
                self.storage.table_configure(info, **changed)
            except AlreadyExists:  # another client took the name meanwhile
                raise _rename_conflict(info, db, name) from None
            except CatalogConflict as conflict:
                raise op_failed(conflict) from None

    def _settings(self, doc: dict[str, Any], write_hook: dict[str, Any] | None = None) -> dict[str, Any]:
        """The table settings a row asks for (name, db, durability, write_acks, shards), checked.

        The row's `write_hook` must be the table's own (`write_hook`): set_write_hook is the only way to change it.
        """
        if doc.get("write_hook") != write_hook:
            raise ReqlOpFailedError(
                "The `write_hook` field is read-only and can't be used to create or drop a write hook function."
            )
        settings: dict[str, str | int] = {
            "name": checked_name(doc.get("name"), "name", "table name"),
            "db": self._db(doc.get("db")),
        }
        for field, options in (("durability", ("soft", "hard")), ("write_acks", ("single", "majority"))):
            value = doc.get(field, options[1])
            if value not in options:
                wanted = " or ".join(f'"{option}"' for option in options)
                raise ReqlOpFailedError(f"In `{field}`: Expected {wanted}, got: {datums.printed(value)}")
            settings[field] = value
        settings["shards"] = len(self._shards(doc.get("shards", [None])))
        return settings

    def _db(self, value: Any) -> str:
        if self.by_id:
            names = {self.storage.db_id(name): name for name in self.storage.db_list()}
            if value not in names:
                raise ReqlOpFailedError(f"There is no database with UUID `{datums.printed(value)}`.")
            return names[value]
        name = checked_name(value, "name", "database name")
        if self.storage.db_id(name) is None:
            raise ReqlOpFailedError(f"Database `{name}` does not exist.")
        return name

    def _shards(self, shards: Any) -> list[Any]:
        if not isinstance(shards, list):
            raise ReqlOpFailedError(f"In `shards`: Expected an array, got {datums.printed(shards)}")
        if not shards:
            raise ReqlOpFailedError("In `shards`: You must specify at least one shard.")
        for shard in shards:
            if shard is not None:  # None: a new table's default shard
                self._check_shard(shard)
        return shards

    def _check_shard(self, shard: Any) -> None:
        server = self.storage.server_id if self.by_id else self.storage.server_name
        if not isinstance(shard, dict):
            raise ReqlOpFailedError(f"In `shards`: Expected an object, got {datums.printed(shard)}")
        for field in ("replicas", "primary_replica"):
            if field not in shard:
                raise ReqlOpFailedError(f"In `shards`: Expected a field named `{field}`.")
        check_keys(shard, {"replicas", "nonvoting_replicas", "primary_replica"})
        for field in ("replicas", "nonvoting_replicas"):
            for replica in shard.get(field, []):
                if replica != server:
                    raise ReqlOpFailedError(
                        f"In `shards`: In `{field}`: Server `{replica}` does not exist or is not connected."
                    )
        if not shard["replicas"]:
            raise ReqlOpFailedError("In `shards`: You must specify at least one replica for each shard.")
        if shard["primary_replica"] != server:
            raise ReqlOpFailedError(
                f"In `shards`: In `primary_replica`: Server `{shard['primary_replica']}` does not exist or is not "
                "connected."
            )
        if shard.get("nonvoting_replicas"):
            raise ReqlOpFailedError(f"In `shards`: The primary replica (`{server}`) must not be a nonvoting replica.")


def _rename_conflict(info: TableInfo, db: str, name: str) -> ReqlOpFailedError:
    return ReqlOpFailedError(
        f"Can't rename table `{info.db}.{info.name}` to `{db}.{name}` because table `{db}.{name}` already exists."
    )


def _uuid(value: Any) -> str:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(value))
    raise ReqlOpFailedError(f"In `id`: Expected a UUID; got {datums.printed(value)}")


_SYSTEM_TABLE_IDS = {system_id(name): name for name in SYSTEM_TABLE_NAMES}


class PermissionsTable(SystemTable):
    """One row per user and scope with permissions set; the key is [user], [user, db id] or [user, db id, table id]."""

    name = "permissions"
    generates_keys = False  # a key names a user and a scope

    def rows(self) -> list[dict[str, Any]]:
        rows = [{"id": [ADMIN], "permissions": dict(ADMIN_PERMISSIONS), "user": ADMIN}]
        for (user, kind, scope), permissions in self.storage.permissions().items():
            key = self._key(user, (kind, scope))
            if key is not None:
                rows.append(self._row(key, permissions))
        return rows

    def _key(self, user: str, scope: Scope) -> list[str] | None:
        kind, scope_id = scope
        if kind == "global":
            return [user]
        if kind == "db":
            return [user, scope_id]
        db_id = self._table_db(scope_id)
        return None if db_id is None else [user, db_id, scope_id]

    def _table_db(self, table_id: str) -> str | None:
        info = self.storage.table_by_id(table_id)
        if info is not None:
            return db_id_of(self.storage, info.db)
        return SYSTEM_DB_ID if table_id in _SYSTEM_TABLE_IDS else None

    def _row(self, key: list[str], permissions: dict[str, bool]) -> dict[str, Any]:
        row: dict[str, Any] = {"id": key, "permissions": permissions, "user": key[0]}
        if len(key) > 1:
            row["database"] = key[1] if self.by_id else self._db_name(key[1])
        if len(key) > 2:
            row["table"] = key[2] if self.by_id else self._table_name(key[2])
        return row

    def _db_name(self, db_id: str) -> str:
        names = {self.storage.db_id(name): name for name in self.storage.db_list()}
        return SYSTEM_DB if db_id == SYSTEM_DB_ID else names.get(db_id, "__deleted_database__")

    def _table_name(self, table_id: str) -> str:
        info = self.storage.table_by_id(table_id)
        return info.name if info is not None else _SYSTEM_TABLE_IDS[table_id]

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        key = doc["id"]
        user, scope = self._parse_key(key)
        old = self.get(key)
        fields = set(doc) - {"id", "user"}
        for field, position in (("database", 1), ("table", 2)):
            if field in doc and len(key) > position:
                fields.discard(field)
                wanted = self._row(key, {})[field]
                if doc[field] != wanted:
                    raise ReqlOpFailedError(f"The key `{field}` does not match the primary key.")
        if "permissions" not in doc:
            raise ReqlOpFailedError("Expected a field `permissions`.")
        fields.discard("permissions")
        new = merge(self.storage.permissions_of(user, scope), doc["permissions"], scope == GLOBAL)
        if fields:
            raise ReqlOpFailedError(f"Unexpected key(s) `{'`, `'.join(sorted(fields))}`.")
        self.storage.permissions_put(user, scope, new)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        user, scope = self._parse_key(key)
        self.storage.permissions_put(user, scope, {})
        return old

    def _parse_key(self, key: Any) -> tuple[str, Scope]:
        if not isinstance(key, list) or not 1 <= len(key) <= 3:
            raise ReqlOpFailedError(
                f"Expected an array of one to three items in the primary key, got {datums.printed(key)}."
            )
        user = key[0]
        if not isinstance(user, str):
            raise ReqlOpFailedError(f"Expected a string as the username, got {datums.printed(user)}.")
        scope = GLOBAL
        if len(key) > 1:
            db_id = key[1]
            if not isinstance(db_id, str) or (db_id != SYSTEM_DB_ID and db_id not in self._db_ids()):
                raise ReqlOpFailedError(_no_such("database", db_id))
            scope = ("db", db_id)
        if len(key) > 2:
            table_id = key[2]
            if not isinstance(table_id, str) or self._table_db(table_id) != key[1]:
                raise ReqlOpFailedError(_no_such("table", table_id))
            scope = ("table", table_id)
        check_user(self.storage, user)
        if user == ADMIN:
            raise ReqlOpFailedError(f"The permissions of the user `{user}` can't be modified.")
        return user, scope

    def _db_ids(self) -> set[str | None]:
        return {self.storage.db_id(name) for name in self.storage.db_list()}


def _no_such(kind: str, value: Any) -> str:
    if isinstance(value, str) and _is_uuid(value):
        return f"No {kind} with UUID `{value}` exists."
    return f"Expected a UUID as the {kind}, got {datums.printed(value)}."


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


# ---------------------------------------------------------------- the system database

_SYSTEM_TABLES: dict[str, type[SystemTable]] = {
    cls.name: cls
    for cls in (
        ClusterConfigTable, CurrentIssuesTable, DbConfigTable, JobsTable, LogsTable, PermissionsTable,
        ServerConfigTable, ServerStatusTable, StatsTable, TableConfigTable, TableStatusTable, UsersTable,
    )
}  # fmt: skip
SYSTEM_TABLES = tuple(sorted(_SYSTEM_TABLES))
assert SYSTEM_TABLES == SYSTEM_TABLE_NAMES


def system_table(storage: Storage, name: str, by_id: bool = False, user: str = ADMIN) -> Table:
    if name in _SYSTEM_TABLES:
        return _SYSTEM_TABLES[name](storage, by_id, user)
    if name == SCRATCH:
        return Table(storage, _scratch_table(storage))
    raise ReqlOpFailedError(f"Table `{SYSTEM_DB}.{name}` does not exist.")


def _scratch_table(storage: Storage) -> TableInfo:
    """`rethinkdb._debug_scratch`: an ordinary table kept in the system database, made when first used."""
    info = storage.table(SYSTEM_DB, SCRATCH)
    if info is None:
        with contextlib.suppress(AlreadyExists):  # another query made it first
            storage.table_create(SYSTEM_DB, SCRATCH)
        info = storage.table(SYSTEM_DB, SCRATCH)
    assert info is not None
    return info


class SystemFeeds:
    """Publishes the changes of the system tables: after each change of the catalog, the rows it changed."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._tables = [
            cls(storage, by_id) for cls in _SYSTEM_TABLES.values() if cls.follows_catalog for by_id in (False, True)
        ]
        self._rows = [_by_key(table) for table in self._tables]
        storage.add_catalog_listener(self._catalog_changed)

    def _catalog_changed(self) -> None:
        changes = []
        for i, table in enumerate(self._tables):
            before, after = self._rows[i], _by_key(table)
            self._rows[i] = after
            for key in [*before, *(key for key in after if key not in before)]:
                old, new = before.get(key), after.get(key)
                if old is None or new is None or not datums.equal(old, new):
                    changes.append(CommittedChange(table.info.id, (new or before[key])["id"], old, new))
        if changes:
            self._storage.publish(changes)


def _by_key(table: SystemTable) -> dict[bytes, dict[str, Any]]:
    return {keys.encode(row["id"]): row for row in table.ordered_rows()}
