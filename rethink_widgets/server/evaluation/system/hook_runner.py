"""Running a table's write hook on every document a write changes.

A hook is called as `hook(context, old_val, new_val)`, with `context` holding the document's `primary_key` and the
query's `timestamp`, and what it returns is written instead of `new_val`. It may return null exactly when `new_val`
is null: a hook never turns a write into a deletion or a deletion into a write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlError, ReqlOpFailedError
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.system import catalog, permissions
from rethink_widgets.server.evaluation.terms import Term
from rethink_widgets.server.evaluation.values import Table

TO_DELETION = "A write hook function must not turn a replace/insert into a deletion."
FROM_DELETION = "A write hook function must not turn a deletion into a replace/insert."
Hook = Callable[[Any, Any], Any]


def no_hook(_old: Any, new: Any) -> Any:
    """What a write does without a hook: it writes the new value as it is."""
    return new


def runner(ctx: Context, term: Term, table: Table) -> Hook:
    """What a write query does to each new value it writes: the table's hook, unless the query ignores it."""
    hook = catalog.write_hook(ctx.storage, table.info)
    if "ignore_write_hook" in term.optargs and ctx.boolean(term.optargs["ignore_write_hook"]):
        permissions.require_config(ctx, info=table.info)
        hook = None
    if hook is None:
        return no_hook
    function = hook.function.eval(ctx.with_scope({}))

    def run(old: Any, new: Any) -> Any:
        source = new if isinstance(new, dict) else old if isinstance(old, dict) else {}
        context = {"primary_key": source.get(table.primary_key), "timestamp": ctx.now}
        try:
            result = ctx.as_datum(function(ctx, context, old, new))
        except ReqlError as error:
            raise type(error)(f"Error in write hook: {error.message}") from None
        if new is None and result is not None:
            raise ReqlOpFailedError(FROM_DELETION)
        if new is not None and result is None:
            raise ReqlOpFailedError(TO_DELETION)
        return result

    return run
