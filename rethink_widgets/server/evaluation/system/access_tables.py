"""The system tables of users and their permissions: `users` and `permissions`.

Reading `users` lists users and whether they have a password; writing it adds users, changes passwords and removes
users. Passwords become SCRAM credentials at once; the plain text is never stored. `permissions` has a row per user
and scope with permissions set; writing it grants and revokes them as `grant` does.
"""

from __future__ import annotations

import uuid
from typing import Any

from rethink_widgets.server import scram
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.system.catalog import SYSTEM_TABLE_NAMES, system_id
from rethink_widgets.server.evaluation.system.permissions import (
    ADMIN,
    ADMIN_PERMISSIONS,
    GLOBAL,
    SYSTEM_DB_ID,
    db_id_of,
    merge,
)
from rethink_widgets.server.evaluation.system.system_table import SystemTable, check_keys, check_user
from rethink_widgets.server.storage import SYSTEM_DB, Scope


class UsersTable(SystemTable):
    name = "users"

    def rows(self) -> list[dict[str, Any]]:
        return [_user_row(name, credentials) for name, credentials in self.storage.users().items()]

    def get(self, key: Any) -> dict[str, Any] | None:
        self.require("read")
        credentials = self.storage.users().get(key) if isinstance(key, str) else None
        return _user_row(key, credentials) if credentials is not None else None

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        name = doc["id"]
        if not isinstance(name, str) or not name:
            raise ReqlQueryLogicError(f"Expected a string for the user name, got {datums.printed(name)}.")
        check_keys(doc, {"id", "password"})
        old = self.get(name)
        password = doc.get("password", False)
        if old is not None and password is True:
            return old  # unchanged: `true` keeps the current password
        if password is False:
            password = ""
        if not isinstance(password, str):
            raise ReqlQueryLogicError(f"Expected a string or `false` for `password`, got {datums.printed(password)}.")
        self.storage.user_put(name, scram.make_credentials(password))
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        if old is None:
            return None
        if key == "admin":
            raise ReqlOpFailedError("The user `admin` can't be deleted.")
        self.storage.user_delete(key)
        return old


def _user_row(name: str, credentials: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "password": bool(credentials.get("password"))}


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
