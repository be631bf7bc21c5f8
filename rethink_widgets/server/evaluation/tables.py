"""What a query names and reads: databases, tables (seen through the query's user's permissions) and primary key
values, each checked with RethinkDB's errors before storage is asked (indexes: `values.require_index`).
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system import permissions
from rethink_widgets.server.evaluation.values import DatabaseRef, Table, category
from rethink_widgets.server.storage import SYSTEM_DB

MAX_KEY_LENGTH = 127


def database(ctx: Context, node: Any) -> str:
    """The name of an existing database given by a DB term's value."""
    value = ctx.eval(node)
    if not isinstance(value, DatabaseRef):
        raise ReqlQueryLogicError("Expected type DATABASE but found DATUM:")
    return value.name


def require_db(ctx: Context, name: str) -> None:
    """That a database exists (the system database always does)."""
    if name != SYSTEM_DB and ctx.storage.db_id(name) is None:
        raise ReqlOpFailedError(f"Database `{name}` does not exist.")


def table_of(ctx: Context, db: str, name: str) -> Table:
    """An existing table of a user database, read and written as the query's user may."""
    require_db(ctx, db)
    info = ctx.storage.table(db, name)
    if info is None:
        raise ReqlOpFailedError(f"Table `{db}.{name}` does not exist.")
    return Table(permissions.storage_for(ctx, info), info)


def primary_key_value(key: Any) -> Any:
    """Check a primary key value as RethinkDB does before it reaches storage."""
    if key is None:
        raise ReqlNonExistenceError("Keys cannot be NULL.")
    if datums.is_object(key):
        raise ReqlQueryLogicError(
            "Primary keys must be either a number, string, bool, pseudotype or array (got type OBJECT):\n"
            + datums.printed(key)
        )
    if _has_nul(key):
        raise ReqlQueryLogicError(f"Primary keys may not contain the null character: {datums.printed(key)}")
    if isinstance(key, str) and len(key.encode("utf-8")) > MAX_KEY_LENGTH:
        raise ReqlQueryLogicError(f"Primary key too long (max {MAX_KEY_LENGTH} characters): {datums.printed(key)}")
    return key


def _has_nul(key: Any) -> bool:
    if isinstance(key, str):
        return "\x00" in key
    return isinstance(key, list) and any(_has_nul(item) for item in key)


def as_table(ctx: Context, node: Any) -> Table:
    """The table an argument evaluates to."""
    value = ctx.eval(node)
    if not isinstance(value, Table):
        raise ReqlQueryLogicError(f"Expected type TABLE but found {category(value)}:")
    return value
