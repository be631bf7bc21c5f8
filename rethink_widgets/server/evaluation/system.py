"""The `rethinkdb` system database, as far as this server has one: the `users` table.

Reading it lists users and whether they have a password; writing it adds users, changes passwords and removes users.
Passwords become SCRAM credentials at once; the plain text is never stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import scram
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import Storage, TableInfo

SCRATCH = "_debug_scratch"


def system_table(ctx: Context, name: str) -> Table:
    if name == "users":
        return UsersTable(ctx.storage)
    if name == SCRATCH:
        return Table(ctx.storage, _scratch_table(ctx.storage))
    raise ReqlOpFailedError(f"Table `rethinkdb.{name}` does not exist.")


def _scratch_table(storage: Storage) -> TableInfo:
    """`rethinkdb._debug_scratch`: an ordinary table kept in the system database, made when first used."""
    info = storage.table("rethinkdb", SCRATCH)
    if info is None:
        with contextlib.suppress(ValueError):  # another query made it first
            storage.table_create("rethinkdb", SCRATCH)
        info = storage.table("rethinkdb", SCRATCH)
    assert info is not None
    return info


class UsersTable(Table):
    def __init__(self, storage: Storage) -> None:
        info = TableInfo("users", "rethinkdb", "users", "id", "hard", "")
        super().__init__(storage, info)
        self.source = self._rows

    def _rows(self) -> Iterator[dict[str, Any]]:
        for name, credentials in sorted(self.storage.users().items()):
            yield _row(name, credentials)

    def get(self, key: Any) -> dict[str, Any] | None:
        credentials = self.storage.users().get(key) if isinstance(key, str) else None
        return _row(key, credentials) if credentials is not None else None

    @contextlib.contextmanager
    def writes(self, durability: str) -> Iterator[UsersWrites]:
        yield UsersWrites(self)


def _row(name: str, credentials: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "password": bool(credentials.get("password"))}


class UsersWrites:
    def __init__(self, table: UsersTable) -> None:
        self._table = table

    def get(self, key: Any) -> dict[str, Any] | None:
        return self._table.get(key)

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        name = doc["id"]
        if not isinstance(name, str) or not name:
            raise ReqlQueryLogicError(f"Expected a string for the user name, got {datums.printed(name)}.")
        extra = sorted(set(doc) - {"id", "password"})
        if extra:
            raise ReqlQueryLogicError(f"Unexpected key(s) `{'`, `'.join(extra)}`.")
        old = self.get(name)
        password = doc.get("password", False)
        if old is not None and password is True:
            return old  # unchanged: `true` keeps the current password
        if password is False:
            password = ""
        if not isinstance(password, str):
            raise ReqlQueryLogicError(f"Expected a string or `false` for `password`, got {datums.printed(password)}.")
        self._table.storage.user_put(name, scram.make_credentials(password))
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        if old is None:
            return None
        if key == "admin":
            raise ReqlOpFailedError("The user `admin` can't be deleted.")
        self._table.storage.user_delete(key)
        return old
