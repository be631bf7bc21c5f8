"""Names, ids and the configuration rows of databases and tables, as the `rethinkdb` system tables show them.

This server is a cluster of one: every shard of every table has this server as its only replica and primary, and
every table is always ready. A row names databases and servers by name, or by id when a system table is read with
`identifier_format="uuid"`. The same rows are what `config()`, `status()`, `table_create` and `reconfigure` return.

A table's write hook is part of its configuration, stored with it (as the FUNC term the driver sent) and compiled
once when first run.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.terms import FuncNode, compile_function
from rethink_widgets.server.storage import SYSTEM_DB, AlreadyExists, CatalogConflict, Storage, TableInfo

SYSTEM_TABLE_NAMES = (
    "cluster_config", "current_issues", "db_config", "jobs", "logs", "permissions", "server_config", "server_status",
    "stats", "table_config", "table_status", "users",
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# The system database and its tables have fixed ids, derived from their names.
_SYSTEM_IDS = uuid.UUID("3c8a3f5e-5d1b-4f7e-9a51-6f0a2b9d7c41")
# What starts the binary of a write hook's function, as in RethinkDB: `set_write_hook` takes back only such binaries.
WRITE_HOOK_PREFIX = "$reql_write_hook_function$"


@dataclass(frozen=True)
class WriteHook:
    """A table's write hook: its FUNC term as the driver sent it, and that term compiled."""

    raw: Any
    function: FuncNode


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def check_name(kind: str, name: str) -> str:
    if not valid_name(name):
        raise ReqlQueryLogicError(f"{kind} name `{name}` invalid (Use A-Z, a-z, 0-9, _ and - only).")
    return name


def op_failed(conflict: CatalogConflict) -> ReqlOpFailedError:
    """RethinkDB's error for a change of the catalog that found what it creates there already, or what it changes
    gone (as when another client got there first)."""
    what = {"database": "Database", "table": "Table", "index": "Index"}[conflict.kind]
    state = "already exists" if isinstance(conflict, AlreadyExists) else "does not exist"
    where = f" on table `{conflict.table}`" if conflict.table else ""
    return ReqlOpFailedError(f"{what} `{conflict.name}` {state}{where}.")


@contextlib.contextmanager
def conflicts_as_errors() -> Iterator[None]:
    """Around a change of the catalog: its CatalogConflict becomes RethinkDB's error (see `op_failed`)."""
    try:
        yield
    except CatalogConflict as conflict:
        raise op_failed(conflict) from None


def system_id(name: str) -> str:
    """The id of the system database (`rethinkdb`) or of one of its tables (`rethinkdb.<name>`)."""
    return str(uuid.uuid5(_SYSTEM_IDS, name))


def db_id(storage: Storage, name: str) -> str | None:
    return system_id(SYSTEM_DB) if name == SYSTEM_DB else storage.db_id(name)


def user_tables(storage: Storage) -> list[TableInfo]:
    """Every table outside the system database, by database and name."""
    return sorted((t for t in storage.tables() if t.db != SYSTEM_DB), key=lambda t: (t.db, t.name))


def db_config_row(storage: Storage, name: str) -> dict[str, Any]:
    return {"id": storage.db_id(name), "name": name}


def table_config_row(storage: Storage, info: TableInfo, by_id: bool = False) -> dict[str, Any]:
    server = storage.server_id if by_id else storage.server_name
    shards = [{"nonvoting_replicas": [], "primary_replica": server, "replicas": [server]} for _ in range(info.shards)]
    return {
        "db": storage.db_id(info.db) if by_id else info.db, "durability": info.durability, "id": info.id,
        "indexes": sorted(info.indexes), "name": info.name, "primary_key": info.primary_key, "shards": shards,
        "write_acks": info.write_acks, "write_hook": write_hook_row(storage, info),
    }  # fmt: skip


def write_hook(storage: Storage, info: TableInfo) -> WriteHook | None:
    if info.write_hook is None:
        return None
    return _compiled_hook(datums.dumps(info.write_hook))


@functools.lru_cache(maxsize=256)
def _compiled_hook(text: str) -> WriteHook:
    """Compiled once per hook, not on every write it runs for (the text is the hook's stored FUNC term)."""
    raw = json.loads(text)
    function = compile_function(raw)
    assert isinstance(function, FuncNode)
    return WriteHook(raw, function)


def set_write_hook(storage: Storage, info: TableInfo, hook: WriteHook | None) -> None:
    with conflicts_as_errors():
        storage.table_configure(info, write_hook=hook.raw if hook is not None else None)


def write_hook_row(storage: Storage, info: TableInfo) -> dict[str, Any] | None:
    """The hook as `get_write_hook` and `table_config` show it: its function as a binary, and the query setting it."""
    hook = write_hook(storage, info)
    if hook is None:
        return None
    blob = (WRITE_HOOK_PREFIX + datums.dumps(hook.raw)).encode()
    return {
        "function": {datums.PTYPE: "BINARY", "data": base64.b64encode(blob).decode()},
        "query": "setWriteHook(...)",
    }


def table_status_row(storage: Storage, info: TableInfo, by_id: bool = False) -> dict[str, Any]:
    server = storage.server_id if by_id else storage.server_name
    return {
        "db": storage.db_id(info.db) if by_id else info.db, "id": info.id, "name": info.name, "raft_leader": server,
        "shards": [
            {"primary_replicas": [server], "replicas": [{"server": server, "state": "ready"}]}
            for _ in range(info.shards)
        ],
        "status": {"all_replicas_ready": True, "ready_for_outdated_reads": True, "ready_for_reads": True,
                   "ready_for_writes": True},
    }  # fmt: skip
