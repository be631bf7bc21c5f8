"""Building values and steering evaluation: arrays, objects, r.do, r.branch, default, r.error, type_of, r.args."""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError, ReqlUserError
from rethink_widgets.server.evaluation import datums, times
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import Func, type_of


def truthy(value: Any) -> bool:
    return value is not None and value is not False


@operation("MAKE_ARRAY", (0, VARIADIC))
def make_array(ctx: Context, term: Term) -> list[Any]:
    return ctx.check_array([ctx.datum(node) for node in term.args])


@operation("MAKE_OBJ", 0)
def make_obj(ctx: Context, term: Term) -> dict[str, Any]:
    # A JSON object on the wire: its values are terms, its keys plain strings.
    obj = {key: ctx.datum(node) for key, node in term.optargs.items()}
    return check_pseudotype(obj)


def check_pseudotype(obj: dict[str, Any]) -> dict[str, Any]:
    ptype = obj.get(datums.PTYPE)
    if ptype is None:
        return obj
    required = {"TIME": ("epoch_time", "timezone"), "BINARY": ("data",), "GEOMETRY": ("type", "coordinates")}
    if ptype not in required:
        raise ReqlQueryLogicError(f"Unknown $reql_type$ `{ptype}`.")
    if ptype == "TIME":
        return times.sanitize(obj)
    if ptype == "BINARY":
        if "data" not in obj:
            raise ReqlQueryLogicError("Invalid binary pseudotype: lacking `data` key.")
        obj = {**obj, "data": canonical_base64(obj["data"])}
    for field in required[ptype]:
        if field not in obj:
            raise ReqlQueryLogicError(
                f"pseudo-type `{ptype}` object {datums.printed(obj)} does not have field `{field}`."
            )
    return obj


_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def canonical_base64(data: Any) -> str:
    """The data in standard padded base64; what RethinkDB's base64 reader refuses is refused with its messages.

    Padding is optional on the way in, and binary values are always sent out padded, as drivers decode them."""
    if not isinstance(data, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(data)}.")
    body = data.rstrip("=")
    if "=" in body:
        raise ReqlQueryLogicError("Invalid base64 format, data found after padding character '='.")
    for ch in body:
        if ch not in _BASE64:
            raise ReqlQueryLogicError(f"Invalid base64 character found: '{ch}'.")
    if len(body) % 4 == 1:
        raise ReqlQueryLogicError("Invalid base64 length: 1 character remaining, cannot decode a full byte.")
    return body + "=" * (-len(body) % 4)


@operation("FUNCALL", (1, VARIADIC))
def funcall(ctx: Context, term: Term) -> Any:
    target = ctx.eval(term.args[0])
    args = [ctx.datum(node) for node in term.args[1:]]
    if not isinstance(target, Func):
        return target  # a constant stands for a function that returns it
    return call(ctx, target, args)


def call(ctx: Context, func: Func, args: list[Any]) -> Any:
    """Call a function with exactly its arity, as r.do does."""
    if func.arity != len(args):
        plural = "" if len(args) == 1 else "s"
        fplural = "" if func.arity == 1 else "s"
        raise ReqlQueryLogicError(
            f"Expected function with {len(args)} argument{plural} but found function with "
            f"{func.arity} argument{fplural}."
        )
    return func(ctx, *args)


@operation("BRANCH", (3, VARIADIC))
def branch(ctx: Context, term: Term) -> Any:
    if len(term.args) % 2 == 0:
        raise ReqlQueryLogicError("Cannot call `branch` term with an even number of arguments.")
    for test, then in zip(term.args[:-1:2], term.args[1:-1:2], strict=True):
        if truthy(ctx.datum(test)):
            return ctx.eval(then)
    return ctx.eval(term.args[-1])


class EmptyError(ReqlQueryLogicError):
    """`r.error()` without a message: where a missing value is being defaulted, it re-raises that error."""

    def __init__(self) -> None:
        super().__init__("Empty ERROR term outside a default block.")


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
