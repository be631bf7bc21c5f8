"""r.literal, and evaluating the few arguments where it may stand.

RethinkDB lets a literal appear only in the object given to `merge`, `update` or `filter` (directly, or as a value of
object literals nested in it) and in what the functions given to `merge` and `update` return; anywhere else, and
inside another literal, it is an error (the LITERAL term itself, see `objects`, only raises it). Such arguments are
evaluated with `eval_allowing_literals`, which gives `datums.Literal` markers where the literals stood.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.pseudotypes import STRAY, check_pseudotype
from rethink_widgets.server.evaluation.terms import Node, Term
from rethink_widgets.server.evaluation.values import Func


def eval_allowing_literals(ctx: Context, node: Node) -> Any:
    """Evaluate `node` as `ctx.eval` would, except that r.literal may stand for it or inside its object literals."""
    if isinstance(node, Term) and node.name == "LITERAL":
        return node.run(ctx, _literal)
    if isinstance(node, Term) and node.name == "MAKE_OBJ":
        return node.run(ctx, _object)
    return ctx.eval(node)


def call_allowing_literals(ctx: Context, func: Func, *args: Any) -> Any:
    """Call `func`, letting what it returns hold literals."""
    return eval_allowing_literals(func.bind(ctx, args), func.body)


def whole_patch(value: Any) -> Any:
    """The object given to merge or update: literals may stand inside it, not for the whole of it."""
    if isinstance(datums.as_literal(value), datums.Literal):
        raise ReqlQueryLogicError(STRAY)
    return value


def _literal(ctx: Context, term: Term) -> datums.Literal:
    if not term.args:
        return datums.Literal(remove=True)
    return datums.Literal(ctx.datum(term.args[0]))


def _object(ctx: Context, term: Term) -> dict[str, Any]:
    # `as_datum` takes a Literal as it is, and refuses streams, functions and the like as usual.
    obj = {key: ctx.as_datum(eval_allowing_literals(ctx, node)) for key, node in term.optargs.items()}
    return check_pseudotype(obj)


def array_allowing_literals(ctx: Context, node: Node) -> list[Any]:
    """The array r.args splices into merge or update: r.literal may stand in the objects it lists."""
    if isinstance(node, Term) and node.name == "MAKE_ARRAY":
        return node.run(ctx, _array)
    return ctx.array(node)


def _array(ctx: Context, term: Term) -> list[Any]:
    return ctx.check_array([ctx.as_datum(eval_allowing_literals(ctx, node)) for node in term.args])
