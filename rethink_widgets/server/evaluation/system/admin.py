"""Configuration of databases and tables: `config()`, `status()`, `reconfigure()` and `rebalance()`.

`config()` and `status()` are the single rows of the `db_config`, `table_config` and `table_status` system tables
that describe their target, so `config().update(...)` changes a table as writing `table_config` does.
`reconfigure()` sets a table's number of shards (every shard lives on this one server) and reports the configuration
and status before and after, as RethinkDB does. `rebalance()` has nothing to move on one server: it reports each
table's status, unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system import permissions, placement
from rethink_widgets.server.evaluation.system.catalog import (
    conflicts_as_errors,
    db_config_row,
    table_config_row,
    table_status_row,
    user_tables,
)
from rethink_widgets.server.evaluation.system.config_tables import DbConfigTable, TableConfigTable, TableStatusTable
from rethink_widgets.server.evaluation.tables import require_db
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import DatabaseRef, SingleSelection, Table, category
from rethink_widgets.server.storage import SYSTEM_DB, TableInfo

_REPAIR_MODES = ("unsafe_rollback", "unsafe_rollback_or_erase", "_debug_recommit")


def _target(ctx: Context, term: Term, verb: str) -> DatabaseRef | Table:
    if not term.args:
        raise ReqlQueryLogicError(f"`{verb}` can only be called on a table or database.")
    value = ctx.eval(term.args[0])
    if isinstance(value, DatabaseRef):
        require_db(ctx, value.name)
        return value
    if not isinstance(value, Table):
        raise ReqlQueryLogicError(f"Expected type TABLE but found {category(value)}:")
    return value


def _user_table(value: Table, what: str) -> TableInfo:
    if value.info.db == SYSTEM_DB:
        raise ReqlOpFailedError(f"Database `{SYSTEM_DB}` is special; the system tables in it don't have {what}.")
    return value.info


@operation("CONFIG", 1)
def config(ctx: Context, term: Term) -> SingleSelection:
    # As in RethinkDB: `config` on the target, checked here; the row is read without `read` on the system table,
    # which a write through the selection does need (the system table checks the user's permissions then).
    target = _target(ctx, term, "config")
    if isinstance(target, DatabaseRef):
        if target.name == SYSTEM_DB:
            raise ReqlOpFailedError(f"Database `{SYSTEM_DB}` is special; you can't configure it.")
        permissions.require_config(ctx, db=target.name)
        table: Table = DbConfigTable(ctx.storage, user=ctx.user)
        key = ctx.storage.db_id(target.name)
        return SingleSelection(table, key, db_config_row(ctx.storage, target.name))
    info = _user_table(target, "meaningful configurations")
    permissions.require_config(ctx, info=info)
    table = TableConfigTable(ctx.storage, user=ctx.user)
    return SingleSelection(table, info.id, table_config_row(ctx.storage, info))


@operation("STATUS", 1)
def status(ctx: Context, term: Term) -> SingleSelection:
    target = _target(ctx, term, "status")
    if isinstance(target, DatabaseRef):
        raise ReqlQueryLogicError("Expected type TABLE but found DATABASE:")
    info = _user_table(target, "meaningful statuses")
    permissions.require_read(ctx, info)  # as for index_status (RethinkDB itself checks nothing here)
    table = TableStatusTable(ctx.storage)
    return SingleSelection(table, info.id, table.get(info.id))


@operation(
    "RECONFIGURE",
    (0, 1),
    optargs=("dry_run", "emergency_repair", "nonvoting_replica_tags", "primary_replica_tag", "replicas", "shards"),
)
def reconfigure(ctx: Context, term: Term) -> dict[str, Any]:
    target = _target(ctx, term, "reconfigure")
    dry_run = ctx.boolean(term.optargs["dry_run"]) if "dry_run" in term.optargs else False
    repair = ctx.datum(term.optargs["emergency_repair"]) if "emergency_repair" in term.optargs else None
    if repair is not None:
        return _emergency_repair(ctx, term, target, repair, dry_run)
    shards = placement.shard_count(ctx, term, required=True)
    if isinstance(target, Table):
        return _reconfigure(ctx, _user_table(target, "meaningful configurations"), shards, dry_run)
    combined: dict[str, Any] = {}
    for info in sorted(user_tables(ctx.storage), key=lambda info: info.id):
        if info.db == target.name:
            for key, value in _reconfigure(ctx, info, shards, dry_run).items():
                combined[key] = combined.get(key, 0 if isinstance(value, int) else []) + value
    return combined


def _reconfigure(ctx: Context, info: TableInfo, shards: int, dry_run: bool) -> dict[str, Any]:
    permissions.require_config(ctx, info=info)
    storage = ctx.storage
    old_config, old_status = table_config_row(storage, info), table_status_row(storage, info)
    if dry_run:
        new_config = table_config_row(storage, replace(info, shards=shards))
        return {"reconfigured": 0, "config_changes": [{"new_val": new_config, "old_val": old_config}]}
    if shards != info.shards:
        with conflicts_as_errors():  # the table may be dropped meanwhile
            storage.table_configure(info, shards=shards)
    return {
        "reconfigured": 1,
        "config_changes": [{"new_val": table_config_row(storage, info), "old_val": old_config}],
        "status_changes": [{"new_val": table_status_row(storage, info), "old_val": old_status}],
    }


@operation("REBALANCE", (0, 1))
def rebalance(ctx: Context, term: Term) -> dict[str, Any]:
    target = _target(ctx, term, "rebalance")
    if isinstance(target, Table):
        tables = [_user_table(target, "meaningful configurations")]
    else:
        tables = [info for info in sorted(user_tables(ctx.storage), key=lambda t: t.id) if info.db == target.name]
    for info in tables:
        permissions.require_config(ctx, info=info)
    statuses = [table_status_row(ctx.storage, info) for info in tables]
    return {"rebalanced": len(tables), "status_changes": [{"new_val": s, "old_val": s} for s in statuses]}


def _emergency_repair(
    ctx: Context, term: Term, target: DatabaseRef | Table, mode: Any, dry_run: bool
) -> dict[str, Any]:
    if mode not in _REPAIR_MODES:
        raise ReqlQueryLogicError('`emergency_repair` should be "unsafe_rollback" or "unsafe_rollback_or_erase"')
    if any(name in term.optargs for name in ("nonvoting_replica_tags", "primary_replica_tag", "replicas", "shards")):
        raise ReqlQueryLogicError("In emergency repair mode, you can't specify shards, replicas, etc.")
    if isinstance(target, DatabaseRef):
        raise ReqlQueryLogicError(
            "Can't emergency repair an entire database at once; instead you should run `reconfigure()` on each "
            "table individually."
        )
    info = _user_table(target, "meaningful configurations")
    if mode != "_debug_recommit":
        # Every replica of every shard is this server, which is up: nothing is ever lost.
        raise ReqlOpFailedError("This table doesn't need to be repaired.")
    config, status = table_config_row(ctx.storage, info), table_status_row(ctx.storage, info)
    result: dict[str, Any] = {
        "repaired": 0 if dry_run else 1,
        "config_changes": [{"new_val": config, "old_val": config}],
    }
    if not dry_run:
        result["status_changes"] = [{"new_val": status, "old_val": status}]
    return result
