"""Reading tables: r.table, get, get_all and between, each lazily streamed from storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import geometry
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system.catalog import check_name
from rethink_widgets.server.evaluation.system.database import system_table
from rethink_widgets.server.evaluation.tables import as_table, database, primary_key_value, table_of
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import (
    KeySelection,
    Selection,
    SingleSelection,
    Table,
    TableSlice,
    category,
    require_index,
)
from rethink_widgets.server.storage import SYSTEM_DB


@operation("TABLE", (1, 2), optargs=("read_mode", "identifier_format", "use_outdated"))
def table(ctx: Context, term: Term) -> Table:
    # The global optarg counts too: RethinkDB passes global optargs down to every term that takes them.
    if "use_outdated" in term.optargs or "use_outdated" in ctx.optargs:
        raise ReqlQueryLogicError(
            "The `use_outdated` optarg is no longer supported.  Use the `read_mode` optarg instead."
        )
    db_name = database(ctx, term.args[0]) if len(term.args) == 2 else ctx.db_name
    if "read_mode" in term.optargs:
        mode = ctx.string(term.optargs["read_mode"])
        if mode not in ("majority", "single", "outdated"):
            raise ReqlQueryLogicError(
                f'Read mode `{mode}` unrecognized (options are "majority", "single", and "outdated").'
            )
    # (Most queries give no identifier format: checking the default would only cost time.)
    given = "identifier_format" in term.optargs or "identifier_format" in ctx.optargs
    by_id = given and _identifier_format(ctx, term) == "uuid"
    name = check_name("Table", ctx.string(term.args[-1]))
    if db_name == SYSTEM_DB:
        return system_table(ctx.storage, name, by_id, ctx.user)
    return table_of(ctx, db_name, name)


def _identifier_format(ctx: Context, term: Term) -> str:
    value = ctx.optarg(term, "identifier_format", "name")
    if value not in ("name", "uuid"):
        raise ReqlQueryLogicError(f'Identifier format `{value}` unrecognized (options are "name" and "uuid").')
    return cast(str, value)


@operation("GET", 2)
def get(ctx: Context, term: Term) -> SingleSelection:
    tbl = as_table(ctx, term.args[0])
    key = primary_key_value(ctx.datum(term.args[1]))
    return SingleSelection(tbl, key, tbl.get(key))


@operation("GET_ALL", (1, VARIADIC), optargs=("index",))
def get_all(ctx: Context, term: Term) -> Selection:
    tbl = as_table(ctx, term.args[0])
    values = [ctx.datum(node) for node in term.args[1:]]
    index = ctx.string(term.optargs["index"]) if "index" in term.optargs else tbl.primary_key
    for value in values:
        if geometry.is_geometry(value):
            raise ReqlQueryLogicError("Cannot use a geospatial index with `get_all`. Use `get_intersecting` instead.")
        if value is None:
            raise ReqlNonExistenceError("Keys cannot be NULL.")

    def rows() -> Iterator[dict[str, Any]]:
        if index != tbl.primary_key:
            require_index(tbl.info, index)  # when read, as RethinkDB does: `info()` describes it unread
        for value in values:
            if index == tbl.primary_key:
                doc = tbl.get(value)
                if doc is not None:
                    yield doc
            else:
                yield from tbl.storage.index_get_all(tbl.info, index, value)

    return KeySelection(tbl, index, values, rows)


@operation("BETWEEN", 3, optargs=("index", "left_bound", "right_bound"))
def between(ctx: Context, term: Term) -> TableSlice:
    target = ctx.eval(term.args[0])
    ordered = target if isinstance(target, TableSlice) else None
    if ordered is not None:
        if ordered.bounded:
            raise ReqlQueryLogicError("Cannot perform multiple BETWEENs on the same table.")
        target = ordered.table
    if not isinstance(target, Table):
        raise ReqlQueryLogicError(f"Expected type TABLE_SLICE but found {category(target)}:")
    lower, upper = ctx.datum(term.args[1]), ctx.datum(term.args[2])
    if lower is None or upper is None:
        raise ReqlQueryLogicError("Cannot use `null` in BETWEEN, use `r.minval` or `r.maxval` to denote unboundedness.")
    # Without `index`, a between after an indexed order_by uses that order's index.
    default = ordered.index if ordered is not None else target.primary_key
    index = ctx.string(term.optargs["index"]) if "index" in term.optargs else default  # checked when read
    if ordered is not None and ordered.index != index:
        raise ReqlQueryLogicError(f"Cannot call BETWEEN on index `{index}` after ordering on index `{ordered.index}`.")
    return TableSlice(
        target, index, lower, upper,
        lower_open=_bound(ctx, term, "left_bound", "closed") == "open",
        upper_open=_bound(ctx, term, "right_bound", "open") == "open",
        descending=ordered.descending if ordered is not None else None, bounded=True,
    )  # fmt: skip


def _bound(ctx: Context, term: Term, name: str, default: str) -> str:
    value = ctx.string(term.optargs[name]) if name in term.optargs else default
    if value not in ("open", "closed"):
        raise ReqlQueryLogicError(f"Expected `open` or `closed` for optarg `{name}` (got `{value}`).")
    return value


@operation("MINVAL", 0)
def minval(ctx: Context, term: Term) -> Any:
    return keys.MINVAL


@operation("MAXVAL", 0)
def maxval(ctx: Context, term: Term) -> Any:
    return keys.MAXVAL
