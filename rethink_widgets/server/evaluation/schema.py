"""Databases, tables and secondary indexes: creating, dropping, listing, waiting and describing them."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system import permissions, placement
from rethink_widgets.server.evaluation.system.catalog import (
    check_name,
    conflicts_as_errors,
    db_id,
    op_failed,
    table_config_row,
)
from rethink_widgets.server.evaluation.system.database import SYSTEM_TABLES
from rethink_widgets.server.evaluation.tables import database, require_db, table_of
from rethink_widgets.server.evaluation.terms import TERM, FuncNode, Node, Term, operation, same_on_every_server
from rethink_widgets.server.evaluation.values import (
    DatabaseRef,
    Selection,
    SingleSelection,
    Table,
    TableSlice,
    category,
    require_existing_index,
    type_of,
)
from rethink_widgets.server.storage import SYSTEM_DB, CatalogConflict, TableInfo


def _scope_db(ctx: Context, term: Term, args_before: int) -> str:
    """The db a db-or-r level term works on: its db argument if given, else the query's default db."""
    if len(term.args) > args_before:
        return database(ctx, term.args[0])
    return ctx.db_name


# ---------------------------------------------------------------- databases


@operation("DB", 1)
def db(ctx: Context, term: Term) -> DatabaseRef:
    return DatabaseRef(check_name("Database", ctx.string(term.args[0])))


@operation("DB_CREATE", 1)
def db_create(ctx: Context, term: Term) -> dict[str, Any]:
    name = check_name("Database", ctx.string(term.args[0]))
    if name == SYSTEM_DB:
        raise ReqlOpFailedError(f"Database `{name}` already exists.")
    permissions.require_config(ctx)
    with conflicts_as_errors():
        config = ctx.storage.db_create(name)
    return {"dbs_created": 1, "config_changes": [{"old_val": None, "new_val": config}]}


@operation("DB_DROP", 1)
def db_drop(ctx: Context, term: Term) -> dict[str, Any]:
    name = check_name("Database", ctx.string(term.args[0]))
    if name == SYSTEM_DB:
        raise ReqlOpFailedError(f"Database `{name}` is special; you can't delete it.")
    require_db(ctx, name)
    permissions.require_config(ctx)
    with conflicts_as_errors():
        config, tables = ctx.storage.db_drop(name)
    return {
        "dbs_dropped": 1, "tables_dropped": len(tables),
        "config_changes": [{"old_val": config, "new_val": None}],
    }  # fmt: skip


@operation("DB_LIST", 0)
def db_list(ctx: Context, term: Term) -> list[str]:
    return sorted([*ctx.storage.db_list(), SYSTEM_DB])


# ---------------------------------------------------------------- tables


@operation(
    "TABLE_CREATE",
    (1, 2),
    optargs=("primary_key", "durability", "shards", "replicas", "primary_replica_tag", "nonvoting_replica_tags"),
)
def table_create(ctx: Context, term: Term) -> dict[str, Any]:
    db_name = _scope_db(ctx, term, 1)
    name = check_name("Table", ctx.string(term.args[-1]))
    primary_key = ctx.string(term.optargs["primary_key"]) if "primary_key" in term.optargs else "id"
    durability = _durability(ctx.datum(term.optargs["durability"]) if "durability" in term.optargs else "hard")
    shards = placement.shard_count(ctx, term, required=False)
    if db_name == SYSTEM_DB:
        raise ReqlOpFailedError(f"Database `{SYSTEM_DB}` is special; you can't create new tables in it.")
    require_db(ctx, db_name)
    permissions.require_config(ctx, db_name)
    with conflicts_as_errors():
        info = ctx.storage.table_create(db_name, name, primary_key, durability, shards)
    return {"tables_created": 1, "config_changes": [{"old_val": None, "new_val": table_config_row(ctx.storage, info)}]}


def _durability(value: Any) -> str:
    if value not in ("hard", "soft"):
        raise ReqlQueryLogicError(f'Durability option `{value}` unrecognized (options are "hard" and "soft").')
    return cast(str, value)


@operation("TABLE_DROP", (1, 2))
def table_drop(ctx: Context, term: Term) -> dict[str, Any]:
    db_name = _scope_db(ctx, term, 1)
    name = check_name("Table", ctx.string(term.args[-1]))
    info = table_of(ctx, db_name, name).info
    permissions.require_config(ctx, db_name)
    config = table_config_row(ctx.storage, info)
    with conflicts_as_errors():
        ctx.storage.table_drop(info)
    return {"tables_dropped": 1, "config_changes": [{"old_val": config, "new_val": None}]}


@operation("TABLE_LIST", (0, 1))
def table_list(ctx: Context, term: Term) -> list[str]:
    db_name = _scope_db(ctx, term, 0)
    if db_name == SYSTEM_DB:
        return sorted(SYSTEM_TABLES)
    require_db(ctx, db_name)
    return ctx.storage.table_list(db_name)


@operation("WAIT", (0, 1), optargs=("wait_for", "timeout"))
def wait(ctx: Context, term: Term) -> dict[str, int]:
    if not term.args:
        raise ReqlQueryLogicError("`wait` can only be called on a table or database.")
    target = ctx.eval(term.args[0])
    if isinstance(target, DatabaseRef):
        require_db(ctx, target.name)
        return {"ready": len(ctx.storage.table_list(target.name))}
    _table(target)
    return {"ready": 1}


def _table(value: Any) -> TableInfo:
    if not isinstance(value, Table):
        raise ReqlQueryLogicError("Expected type TABLE but found DATUM:")
    return value.info


def _readable_table(ctx: Context, term: Term) -> TableInfo:
    """The table a term shows the state of. RethinkDB itself checks nothing here; this server asks for `read`, so
    that a user without it learns nothing of a table but its name."""
    info = _table(ctx.eval(term.args[0]))
    permissions.require_read(ctx, info)
    return info


def _indexed_table(value: Any, verb: str) -> TableInfo:
    """A table whose secondary indexes may change (those of the system database have none and get none)."""
    info = _table(value)
    if info.db == SYSTEM_DB:
        raise ReqlOpFailedError(
            f"Database `{SYSTEM_DB}` is special; you can't {verb} secondary indexes on the tables in it."
        )
    return info


# ---------------------------------------------------------------- secondary indexes


def _field_function(field: str) -> list[Any]:
    return [TERM.FUNC, [[TERM.MAKE_ARRAY, [1]], [TERM.GET_FIELD, [[TERM.VAR, [1]], field]]]]


NOT_DETERMINISTIC = "Could not prove function deterministic.  Index functions must be deterministic."


def _index_function(ctx: Context, node: Node) -> Any:
    """The FUNC term of an index: as written, or from the binary that index_status returns."""
    if isinstance(node, FuncNode):
        if not same_on_every_server(node):
            raise ReqlQueryLogicError(NOT_DETERMINISTIC)
        return node.raw
    value = ctx.datum(node)
    if isinstance(value, dict) and value.get(datums.PTYPE) == "BINARY":
        try:
            return json.loads(base64.b64decode(value["data"]))
        except ValueError:
            raise ReqlQueryLogicError("Binary blob passed to index create could not be interpreted.") from None
    return [TERM.FUNC, [[TERM.MAKE_ARRAY, [1]], value]]


@operation("INDEX_CREATE", (2, 3), optargs=("multi", "geo"))
def index_create(ctx: Context, term: Term) -> dict[str, int]:
    info = _indexed_table(ctx.eval(term.args[0]), "create")
    name = ctx.string(term.args[1])
    function = _index_function(ctx, term.args[2]) if len(term.args) == 3 else _field_function(name)
    multi = bool(ctx.boolean(term.optargs["multi"])) if "multi" in term.optargs else False
    geo = bool(ctx.boolean(term.optargs["geo"])) if "geo" in term.optargs else False
    if name == info.primary_key:
        raise ReqlQueryLogicError(f"Index name conflict: `{name}` is the name of the primary key.")
    permissions.require_config(ctx, info=info)
    with conflicts_as_errors():
        ctx.storage.index_create(info, name, function, multi, geo)
    return {"created": 1}


@operation("INDEX_DROP", 2)
def index_drop(ctx: Context, term: Term) -> dict[str, int]:
    info = _indexed_table(ctx.eval(term.args[0]), "drop")
    name = ctx.string(term.args[1])
    permissions.require_config(ctx, info=info)
    with conflicts_as_errors():  # (reads say the index "was not found"; index_drop says it "does not exist")
        ctx.storage.index_drop(info, name)
    return {"dropped": 1}


@operation("INDEX_LIST", 1)
def index_list(ctx: Context, term: Term) -> list[str]:
    return sorted(_readable_table(ctx, term).indexes)


@operation("INDEX_RENAME", 3, optargs=("overwrite",))
def index_rename(ctx: Context, term: Term) -> dict[str, int]:
    info = _indexed_table(ctx.eval(term.args[0]), "rename")
    old, new = ctx.string(term.args[1]), ctx.string(term.args[2])
    overwrite = ctx.boolean(term.optargs["overwrite"]) if "overwrite" in term.optargs else False
    for name in (old, new):
        if name == info.primary_key:
            raise ReqlQueryLogicError(f"Index name conflict: `{name}` is the name of the primary key.")
    permissions.require_config(ctx, info=info)
    try:
        ctx.storage.index_rename(info, old, new, overwrite)
    except CatalogConflict as conflict:
        if conflict.kind != "index":
            raise op_failed(conflict) from None
        either = "" if overwrite else f" or index `{new}` already exists"
        raise ReqlOpFailedError(f"Index `{old}` does not exist{either} on table `{info.qualified_name}`.") from None
    return {"renamed": 0 if old == new else 1}


def _index_names(ctx: Context, term: Term, info: TableInfo) -> list[str]:
    names = [ctx.string(node) for node in term.args[1:]] or sorted(info.indexes)
    for name in names:
        require_existing_index(info, name)
    return names


def _index_statuses(info: TableInfo, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        require_existing_index(info, name)  # again: an index may be dropped while index_wait waits for it
        index = info.indexes[name]
        function = base64.b64encode(datums.dumps(index.function).encode()).decode()
        status = {"index": name} if index.ready else {"index": name, "progress": index.progress}
        out.append({
            **status, "ready": index.ready, "multi": index.multi, "geo": index.geo, "outdated": False,
            "function": {"$reql_type$": "BINARY", "data": function},
            "query": f"indexCreate({name!r}, ...)",
        })  # fmt: skip
    return out


@operation("INDEX_STATUS", (1, None))
def index_status(ctx: Context, term: Term) -> list[dict[str, Any]]:
    info = _readable_table(ctx, term)
    return _index_statuses(info, _index_names(ctx, term, info))


@operation("INDEX_WAIT", (1, None))
def index_wait(ctx: Context, term: Term) -> list[dict[str, Any]]:
    info = _readable_table(ctx, term)
    names = _index_names(ctx, term, info)
    ctx.storage.index_await(info, names)
    if ctx.storage.closing:
        raise ReqlOpFailedError("The server is shutting down; index builds go on when it starts again.")
    if names and ctx.storage.table_by_id(info.id) is None:  # dropped while waiting
        raise ReqlOpFailedError(f"Table `{info.qualified_name}` does not exist.")
    return _index_statuses(info, names)


@operation("INFO", 1)
def info(ctx: Context, term: Term) -> dict[str, Any]:
    value = ctx.eval(term.args[0])
    if isinstance(value, DatabaseRef):
        require_db(ctx, value.name)
        return {"id": db_id(ctx.storage, value.name), "name": value.name, "type": "DB"}
    if isinstance(value, Table):
        return _table_info(ctx, value)
    if isinstance(value, TableSlice):
        return {**_slice_info(value), "table": _table_info(ctx, value.table), "type": "TABLE_SLICE"}
    if isinstance(value, Selection | SingleSelection):
        return {"table": _table_info(ctx, value.table), "type": type_of(value)}
    if value is keys.MINVAL or value is keys.MAXVAL:
        return {"type": "MINVAL" if value is keys.MINVAL else "MAXVAL"}
    out: dict[str, Any] = {"type": type_of(value)}
    if category(value) == "DATUM" and value is not None:
        out["value"] = datums.printed(value)
    return out


def _table_info(ctx: Context, table: Table) -> dict[str, Any]:
    info = table.info
    return {
        "db": {"id": db_id(ctx.storage, info.db), "name": info.db, "type": "DB"},
        "doc_count_estimates": [table.count()], "id": info.id, "indexes": sorted(info.indexes),
        "name": info.name, "primary_key": info.primary_key, "type": "TABLE",
    }  # fmt: skip


def _slice_info(value: TableSlice) -> dict[str, Any]:
    """The index, bounds and order of a `between` or an indexed `order_by`, as RethinkDB describes them."""
    sorting = {None: "UNORDERED", False: "ASCENDING", True: "DESCENDING"}[value.descending]
    out: dict[str, Any] = {"index": value.index, "sorting": sorting}
    low, high = keys.encode(value.lower), keys.encode(value.upper)
    if low > high or (low == high and (value.lower_open or value.upper_open)):
        return {**out, "left_bound_type": "unachievable", "right_bound_type": "unachievable"}
    for side, bound, is_open, unbounded in (
        ("left", value.lower, value.lower_open, keys.MINVAL),
        ("right", value.upper, value.upper_open, keys.MAXVAL),
    ):
        if bound is unbounded:
            out[f"{side}_bound_type"] = "unbounded"
        else:
            out[f"{side}_bound"] = bound
            out[f"{side}_bound_type"] = "open" if is_open else "closed"
    return out
