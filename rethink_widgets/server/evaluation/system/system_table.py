"""What every table of the `rethinkdb` system database is: rows computed when read, writes turned into changes.

A system table has the primary key `id` and no secondary indexes; it reads its rows from the server's catalog and
turns writes into changes of it, one row at a time, errors counted per row as RethinkDB does. Reading one needs the
`read` permission on it, writing it `write` (see permissions.py). The checks here are those of the rows written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.system import permissions
from rethink_widgets.server.evaluation.system.catalog import system_id, valid_name
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import SYSTEM_DB, Storage, TableInfo


class SystemTable(Table):
    """A system table; `by_id` names databases and servers by id (`identifier_format="uuid"`)."""

    name = ""
    # Whether the rows change only with the catalog, so that changefeeds can follow them (see SystemFeeds).
    follows_catalog = True
    # Whether an insert without a primary key gets a generated one (a UUID), as for an ordinary table.
    generates_keys = True
    storage: Storage  # the whole storage, not a user's view of one table: system tables show the server's state

    def __init__(self, storage: Storage, by_id: bool = False, user: str = "admin") -> None:
        # Each format is a table of its own to changefeeds, which follow tables by id.
        info = TableInfo(system_id(self.name + ("/uuid" if by_id else "")), SYSTEM_DB, self.name, "id", "hard", "")
        super().__init__(storage, info)
        self.by_id = by_id
        self.user = user
        self.source = lambda: iter(self.ordered_rows())

    def rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def require(self, permission: str) -> None:
        permissions.require(self.storage, self.user, permission, permissions.SYSTEM_DB_ID, system_id(self.name))

    def ordered_rows(self) -> list[dict[str, Any]]:
        self.require("read")
        return sorted(self.rows(), key=lambda row: keys.encode(row["id"]))

    def get(self, key: Any) -> dict[str, Any] | None:
        self.require("read")
        wanted = keys.encode(key)
        return next((row for row in self.rows() if keys.encode(row["id"]) == wanted), None)

    def get_many(self, key_list: list[Any]) -> list[dict[str, Any] | None]:
        return [self.get(key) for key in key_list]

    def count(self) -> int:
        self.require("read")
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

    def reply_pages(self) -> None:
        return None  # rows made when read: there is no stored text

    def entry_pages(  # noqa: PLR0917
        self, index: str, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool
    ) -> None:
        return None

    @contextlib.contextmanager
    def writes(self, durability: str) -> Iterator[Any]:
        # System tables ignore `durability`, as RethinkDB's do. Without `read`, RethinkDB names `read` here.
        self.require("read")
        self.require("write")
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


def check_user(storage: Storage, name: str) -> None:
    if name not in storage.users():
        raise ReqlOpFailedError(f"No user named `{name}`.")


def required_field(doc: dict[str, Any], field: str) -> Any:
    """A field a row written must have."""
    if field not in doc:
        raise ReqlOpFailedError(f"Expected a field named `{field}`.")
    return doc[field]


def checked_name(value: Any, field: str, what: str) -> str:
    """A name written into a system table row (`field` of it), checked with RethinkDB's messages."""
    if not isinstance(value, str):
        raise ReqlOpFailedError(f"In `{field}`: Expected a {what}; got {datums.printed(value)}")
    if not valid_name(value):
        raise ReqlOpFailedError(
            f"In `{field}`: {datums.printed(value)} is not a valid {what}; Use A-Z, a-z, 0-9, _ and - only."
        )
    return value
