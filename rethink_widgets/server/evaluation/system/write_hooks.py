"""Write hooks: the set_write_hook and get_write_hook terms.

A hook is a deterministic function of three arguments, given as a function or as the binary `get_write_hook` returned;
it is kept in the table's configuration (see `catalog`) and run on every document a write changes (see
`hook_runner`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system import catalog, permissions
from rethink_widgets.server.evaluation.system.catalog import WRITE_HOOK_PREFIX, WriteHook
from rethink_widgets.server.evaluation.tables import as_table
from rethink_widgets.server.evaluation.terms import FuncNode, Node, Term, compile_function, is_deterministic, operation
from rethink_widgets.server.evaluation.values import category
from rethink_widgets.server.storage import SYSTEM_DB

NOT_DETERMINISTIC = "Could not prove function deterministic.  Write hook functions must be deterministic."
NOT_A_HOOK_BLOB = "Cannot create a write hook except from a reql_write_hook_function returned from `get_write_hook`."


@operation("SET_WRITE_HOOK", 2)
def set_write_hook(ctx: Context, term: Term) -> dict[str, int]:
    table = as_table(ctx, term.args[0])
    if table.info.db == SYSTEM_DB:
        raise ReqlOpFailedError(f"Database `{SYSTEM_DB}` is special; you can't set a write hook on the tables in it.")
    hook = _hook(ctx, term.args[1])
    permissions.require_config(ctx, info=table.info)
    existed = catalog.write_hook(ctx.storage, table.info) is not None
    catalog.set_write_hook(ctx.storage, table.info, hook)
    if hook is None:
        return {"deleted": 1}
    return {"replaced" if existed else "created": 1}


@operation("GET_WRITE_HOOK", 1)
def get_write_hook(ctx: Context, term: Term) -> dict[str, Any] | None:
    table = as_table(ctx, term.args[0])
    return catalog.write_hook_row(ctx.storage, table.info)


def _hook(ctx: Context, node: Node) -> WriteHook | None:
    """The hook a SET_WRITE_HOOK argument gives: a function, the binary `get_write_hook` returned, or null (none)."""
    function: Node
    if isinstance(node, FuncNode):
        function, raw = node, node.raw
    else:
        value = ctx.eval(node)
        if value is None:
            return None
        raw = _from_blob(value)
        function = compile_function(raw)
        if not isinstance(function, FuncNode):
            raise ReqlQueryLogicError(NOT_A_HOOK_BLOB)
    if not is_deterministic(function) or _uses_now(function):
        raise ReqlQueryLogicError(NOT_DETERMINISTIC)
    if len(function.params) != 3:
        raise ReqlQueryLogicError("Write hook functions must expect 3 arguments.")
    return WriteHook(raw, function)


def _from_blob(value: Any) -> Any:
    if not (isinstance(value, dict) and value.get(datums.PTYPE) == "BINARY"):
        raise ReqlQueryLogicError(f"Expected type FUNCTION but found {category(value)}:")
    try:
        text = base64.b64decode(value["data"]).decode()
        if not text.startswith(WRITE_HOOK_PREFIX):
            raise ReqlQueryLogicError(NOT_A_HOOK_BLOB)
        return json.loads(text[len(WRITE_HOOK_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ReqlQueryLogicError(NOT_A_HOOK_BLOB) from None


def _uses_now(node: Node) -> bool:
    # r.now() is the same all through one query, but not from one write to the next: a hook uses the timestamp.
    if isinstance(node, FuncNode):
        return _uses_now(node.body)
    if not isinstance(node, Term):
        return False
    return node.op.name == "NOW" or any(_uses_now(n) for n in (*node.args, *node.optargs.values()))
