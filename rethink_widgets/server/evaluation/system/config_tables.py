"""The system tables of databases and tables: `db_config`, `table_config` and `table_status`.

`db_config` and `table_config` hold one row per database and table: inserting a row creates one, updating it renames
or reconfigures it, deleting it drops it. `table_status` is read only.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.system.catalog import (
    conflicts_as_errors,
    db_config_row,
    op_failed,
    table_config_row,
    table_status_row,
    user_tables,
    write_hook_row,
)
from rethink_widgets.server.evaluation.system.permissions import db_id_of, require
from rethink_widgets.server.evaluation.system.system_table import SystemTable, check_keys, checked_name
from rethink_widgets.server.storage import (
    SYSTEM_DB,
    AlreadyExists,
    CatalogConflict,
    TableInfo,
)

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
