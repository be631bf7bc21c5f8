"""The `rethinkdb` database: its tables by name, and the changes of its tables that changefeeds follow.

Besides the system tables, `_debug_scratch` is an ordinary table kept in the system database. `SystemFeeds` follows
every change of the catalog and publishes the rows it changed, so changefeeds on system tables see the same changes
as queries that read them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.system.access_tables import PermissionsTable, UsersTable
from rethink_widgets.server.evaluation.system.catalog import SYSTEM_TABLE_NAMES
from rethink_widgets.server.evaluation.system.config_tables import DbConfigTable, TableConfigTable, TableStatusTable
from rethink_widgets.server.evaluation.system.permissions import ADMIN
from rethink_widgets.server.evaluation.system.server_tables import (
    ClusterConfigTable,
    CurrentIssuesTable,
    JobsTable,
    LogsTable,
    ServerConfigTable,
    ServerStatusTable,
    StatsTable,
)
from rethink_widgets.server.evaluation.system.system_table import SystemTable
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import SYSTEM_DB, AlreadyExists, CommittedChange, Storage, TableInfo

SCRATCH = "_debug_scratch"
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
    """A table of the system database, as `user` reads it (`by_id`: with `identifier_format="uuid"`)."""
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
