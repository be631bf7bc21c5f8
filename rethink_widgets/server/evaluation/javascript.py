"""r.js: JavaScript run in worker processes (see javascript_pool.py), with RethinkDB's conversions and messages.

A script evaluates to a datum, or to a function that ReQL calls like its own (in map, filter, do ...). Values go to
scripts as datums (a TIME as a Date) and come back checked as any object a query builds. A script has `timeout`
seconds (5 by default) for each evaluation and each call.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlInternalError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.pseudotypes import check_pseudotype
from rethink_widgets.server.evaluation.terms import Node, Term, operation
from rethink_widgets.server.evaluation.values import Func
from rethink_widgets.server.javascript_pool import POOL, WorkerCrashed

DEFAULT_TIMEOUT_MS = 5000
# Longer than any query runs, and within what the worker's clock takes.
_LONGEST_MS = 10**12


# A variable no driver numbers a parameter with: where a script's function finds the arguments it was called with.
_ARGUMENTS = -1


class _ScriptCall(Node):
    """The body of a script's function: calls it in its worker with the arguments bound to it."""

    __slots__ = ("source", "timeout_ms")

    def __init__(self, source: str, timeout_ms: int) -> None:
        super().__init__(None, deterministic=False)
        self.source = source
        self.timeout_ms = timeout_ms

    def eval(self, ctx: Context) -> Any:
        args = [_to_script(ctx.as_datum(arg)) for arg in ctx.scope[_ARGUMENTS]]
        return _run(ctx, self.source, args, self.timeout_ms)


class JsFunc(Func):
    """A script's function. It has no parameters of ReQL's: as in RethinkDB it takes any number of arguments."""

    __slots__ = ()

    def __init__(self, source: str, timeout_ms: int) -> None:
        super().__init__([], _ScriptCall(source, timeout_ms), {})

    def bind(self, ctx: Context, args: tuple[Any, ...]) -> Context:
        return ctx.with_scope({_ARGUMENTS: args})


@operation("JAVASCRIPT", 1, optargs=("timeout",))
def javascript(ctx: Context, term: Term) -> Any:
    timeout_ms = DEFAULT_TIMEOUT_MS
    if "timeout" in term.optargs:
        timeout_ms = min(max(int(ctx.number(term.optargs["timeout"]) * 1000), 0), _LONGEST_MS)
    source = ctx.string(term.args[0])
    return _run(ctx, source, None, timeout_ms)


def _run(ctx: Context, source: str, args: list[Any] | None, timeout_ms: int) -> Any:
    try:
        reply = POOL.run(ctx.query, {"source": source, "args": args}, timeout_ms / 1000)
    except WorkerCrashed:
        raise ReqlInternalError(f"Javascript query `{source}` caused a crash in a worker process.") from None
    if reply is None or "timeout" in reply:
        seconds, ms = divmod(timeout_ms, 1000)
        raise ReqlQueryLogicError(f"JavaScript query `{source}` timed out after {seconds}.{ms:03d} seconds.")
    if "error" in reply:
        raise ReqlQueryLogicError(reply["error"])
    if "function" in reply:
        return JsFunc(source, timeout_ms)
    return _from_script(reply["value"])


def _to_script(value: Any) -> Any:
    """A datum as a script may be given it: never r.minval, r.maxval or binary data."""
    if value is keys.MINVAL:
        raise ReqlQueryLogicError("`r.minval` cannot be passed to `r.js`.")
    if value is keys.MAXVAL:
        raise ReqlQueryLogicError("`r.maxval` cannot be passed to `r.js`.")
    if isinstance(value, list):
        return [_to_script(item) for item in value]
    if isinstance(value, dict):
        if value.get(datums.PTYPE) == "BINARY":
            raise ReqlQueryLogicError("`r.binary` data cannot be used in `r.js`.")
        return {key: _to_script(item) for key, item in value.items()}
    return value


def _from_script(value: Any) -> Any:
    """What a script gave back, checked as any value a query builds."""
    if isinstance(value, float):
        return datums.number(value)
    if isinstance(value, list):
        return [_from_script(item) for item in value]
    if isinstance(value, dict):
        return check_pseudotype({key: _from_script(item) for key, item in value.items()})
    return value
