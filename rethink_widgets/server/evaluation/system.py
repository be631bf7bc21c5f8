"""Tables of the `rethinkdb` system database whose rows are computed when read, and the `users` table.

A system table has the primary key `id` and no secondary indexes; it reads its rows from the server's catalog and
turns writes into changes of it, one row at a time, errors counted per row as RethinkDB does. Reading `users` lists
users and whether they have a password; writing it adds users, changes passwords and removes users. Passwords become
SCRAM credentials at once; the plain text is never stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import keys, scram
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.catalog import SYSTEM_DB, system_id
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import Storage, TableInfo


class SystemTable(Table):
    """A system table; `by_id` names databases and servers by id (`identifier_format="uuid"`)."""

    name = ""

    def __init__(self, storage: Storage, by_id: bool = False) -> None:
        # Each format is a table of its own to changefeeds, which follow tables by id.
        info = TableInfo(system_id(self.name + ("/uuid" if by_id else "")), SYSTEM_DB, self.name, "id", "hard", "")
        super().__init__(storage, info)
        self.by_id = by_id
        self.source = lambda: iter(self.ordered_rows())

    def rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def ordered_rows(self) -> list[dict[str, Any]]:
        return sorted(self.rows(), key=lambda row: keys.encode(row["id"]))

    def get(self, key: Any) -> dict[str, Any] | None:
        wanted = keys.encode(key)
        return next((row for row in self.rows() if keys.encode(row["id"]) == wanted), None)

    def count(self) -> int:
        return len(self.rows())

    def entries(  # noqa: PLR0917
        self, index: str, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool
    ) -> Iterator[tuple[Any, Any]]:
        low, high = keys.encode(lower), keys.encode(upper)
        rows = self.ordered_rows()
        for row in reversed(rows) if reverse else rows:
            key = keys.encode(row["id"])
            above = key > low or (key == low and not lower_open)
            below = key < high or (key == high and not upper_open)
            if above and below:
                yield row["id"], row

    @contextlib.contextmanager
    def writes(self, durability: str) -> Iterator[Any]:
        # System tables ignore `durability`, as RethinkDB's do.
        yield self

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a row (the change it stands for); returns the old row."""
        raise ReqlOpFailedError(f"It's illegal to write to the `{SYSTEM_DB}.{self.name}` table.")

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to write to the `{SYSTEM_DB}.{self.name}` table.")


def check_keys(doc: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(doc) - allowed)
    if extra:
        raise ReqlOpFailedError(f"Unexpected key(s) `{'`, `'.join(extra)}`.")


class UsersTable(SystemTable):
    name = "users"

    def rows(self) -> list[dict[str, Any]]:
        return [_user_row(name, credentials) for name, credentials in self.storage.users().items()]

    def get(self, key: Any) -> dict[str, Any] | None:
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
