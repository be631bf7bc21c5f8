"""Building values and steering evaluation: arrays, objects, r.do, r.branch, default, r.error, type_of, r.args."""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import EmptyError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlUserError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.pseudotypes import check_pseudotype
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import Func, type_of


@operation("MAKE_ARRAY", (0, VARIADIC))
def make_array(ctx: Context, term: Term) -> list[Any]:
    return ctx.check_array([ctx.datum(node) for node in term.args])


@operation("MAKE_OBJ", 0)
def make_obj(ctx: Context, term: Term) -> dict[str, Any]:
    # A JSON object on the wire: its values are terms, its keys plain strings.
    obj = {key: ctx.datum(node) for key, node in term.optargs.items()}
    return check_pseudotype(obj)


@operation("FUNCALL", (1, VARIADIC))
def funcall(ctx: Context, term: Term) -> Any:
    target = ctx.eval(term.args[0])
    args = [ctx.datum(node) for node in term.args[1:]]
    if not isinstance(target, Func):
        return target  # a constant stands for a function that returns it
    return target(ctx, *args)


@operation("BRANCH", (3, VARIADIC))
def branch(ctx: Context, term: Term) -> Any:
    if len(term.args) % 2 == 0:
        raise ReqlQueryLogicError("Cannot call `branch` term with an even number of arguments.")
    for test, then in zip(term.args[:-1:2], term.args[1:-1:2], strict=True):
        if datums.truthy(ctx.datum(test)):
            return ctx.eval(then)
    return ctx.eval(term.args[-1])


@operation("DEFAULT", 2)
def default(ctx: Context, term: Term) -> Any:
    missing: ReqlNonExistenceError | None = None
    try:
        value = ctx.eval(term.args[0])
        if value is not None:
            return value
    except ReqlNonExistenceError as error:
        missing = error
    try:
        fallback = ctx.eval(term.args[1])
        if not isinstance(fallback, Func):
            return fallback
        return fallback(ctx, missing.message if missing is not None else None)
    except EmptyError:
        if missing is not None:
            raise missing from None
        return None


@operation("ERROR", (0, 1))
def error(ctx: Context, term: Term) -> Any:
    if not term.args:
        raise EmptyError
    raise ReqlUserError(ctx.string(term.args[0]))


@operation("TYPE_OF", 1)
def type_of_term(ctx: Context, term: Term) -> str:
    return type_of(ctx.eval(term.args[0]))


@operation("ARGS", 1)
def args(ctx: Context, term: Term) -> list[Any]:
    # Spliced into the parent's arguments before the parent runs (see Term.eval); alone it is its array.
    return ctx.array(term.args[0])
