"""The `grant` term: setting or unsetting a user's permissions globally, on a database or on a table (checked and
merged by `permissions`).
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system.catalog import system_id
from rethink_widgets.server.evaluation.system.permissions import (
    ADMIN,
    GLOBAL,
    SYSTEM_DB_ID,
    db_id_of,
    merge,
    permission_ids,
    require,
)
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.values import DatabaseRef, Table, category
from rethink_widgets.server.storage import Scope


@operation("GRANT", (2, 3))
def grant(ctx: Context, term: Term) -> dict[str, Any]:
    scope = _scope(ctx, ctx.eval(term.args[0])) if len(term.args) == 3 else GLOBAL
    user = ctx.string(term.args[-2])
    changes = ctx.datum(term.args[-1])
    if user == ADMIN:
        raise ReqlOpFailedError(f"The permissions of the user `{user}` can't be modified.")
    permissions_table = system_id("permissions")
    require(ctx.storage, ctx.user, "read", SYSTEM_DB_ID, permissions_table)
    require(ctx.storage, ctx.user, "write", SYSTEM_DB_ID, permissions_table)
    if user not in ctx.storage.users():
        raise ReqlOpFailedError(f"User `{user}` not found.")
    old = ctx.storage.permissions_of(user, scope)
    new = merge(old, changes, scope == GLOBAL)
    ctx.storage.permissions_put(user, scope, new)
    return {"granted": 1, "permissions_changes": [{"new_val": new or None, "old_val": old or None}]}


def _scope(ctx: Context, target: Any) -> Scope:
    """The scope `db.grant` or `table.grant` works on."""
    if isinstance(target, DatabaseRef):
        db_id = db_id_of(ctx.storage, target.name)
        if db_id is None:
            raise ReqlOpFailedError(f"Database `{target.name}` does not exist.")
        return ("db", db_id)
    if isinstance(target, Table):
        return ("table", permission_ids(ctx.storage, target.info)[1])
    raise ReqlQueryLogicError(f"Expected type TABLE but found {category(target)}:")
