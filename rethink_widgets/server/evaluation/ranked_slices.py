"""The one-row slice `min` or `max` reads through an index: the first row of the table (or of a `between` on the same
index) in that index's order, descending for `max`. `changes()` on such a `min`/`max` follows that slice.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.terms import Term
from rethink_widgets.server.evaluation.values import LimitStep, Stream, Table, TableSlice, require_index


def ranked_term(ctx: Context, node: Any) -> Stream | None:
    """For `min`/`max` with an index: the one-row slice it reads (unread, so a feed can follow an empty table)."""
    if not isinstance(node, Term) or node.op.name not in ("MIN", "MAX") or "index" not in node.optargs:
        return None
    name = node.op.name.lower()
    return ranked_slice(ctx.eval(node.args[0]), ctx.string(node.optargs["index"]), name, name == "max")


def ranked_slice(target: Any, index: str, name: str, descending: bool) -> Stream:
    if isinstance(target, TableSlice) and target.descending is None and target.index == index:
        bounds = (target.lower, target.upper, target.lower_open, target.upper_open)
        ordered = TableSlice(target.table, index, *bounds, descending=descending)
    elif isinstance(target, Table):
        if index != target.primary_key:
            require_index(target.info, index)
        ordered = TableSlice(target, index, descending=descending)
    else:
        raise ReqlQueryLogicError(f"Expected type TABLE or TABLE_SLICE with `{name}` and an index.")
    return Stream(functools.partial(itertools.islice, ordered, 1), origin=(ordered, LimitStep(1)))
