"""Comparison, arithmetic and logic: eq/ne/lt/le/gt/ge, add/sub/mul/div/mod, floor/ceil/round, and/or/not."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, integral, type_error
from rethink_widgets.server.evaluation.control import truthy
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation


def _is_time(value: Any) -> bool:
    return isinstance(value, dict) and value.get(datums.PTYPE) == "TIME"


def _time_plus(time: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {**time, "epoch_time": datums.number(round(time["epoch_time"] + seconds, 3))}


# ---------------------------------------------------------------- comparison


def _comparison(name: str, holds: Callable[[int], bool]) -> None:
    @operation(name, (1, VARIADIC))
    def compare(ctx: Context, term: Term) -> bool:
        values = [ctx.datum(node) for node in term.args]
        return all(holds(datums.compare(a, b)) for a, b in itertools.pairwise(values))


_comparison("LT", lambda c: c < 0)
_comparison("LE", lambda c: c <= 0)
_comparison("GT", lambda c: c > 0)
_comparison("GE", lambda c: c >= 0)


@operation("EQ", (1, VARIADIC))
def eq(ctx: Context, term: Term) -> bool:
    values = [ctx.datum(node) for node in term.args]
    return all(datums.equal(values[0], other) for other in values[1:])


@operation("NE", (1, VARIADIC))
def ne(ctx: Context, term: Term) -> bool:
    return not eq(ctx, term)


# ---------------------------------------------------------------- arithmetic


@operation("ADD", (1, VARIADIC))
def add(ctx: Context, term: Term) -> Any:
    values = [ctx.datum(node) for node in term.args]
    total = values[0]
    for value in values[1:]:
        total = _add(total, value)
    return total


def _add(left: Any, right: Any) -> Any:
    if _is_time(left) or _is_time(right):
        # A time plus a number of seconds, in either order.
        time, seconds = (left, right) if _is_time(left) else (right, left)
        return _time_plus(time, _number(seconds))
    if datums.is_number(left):
        if not datums.is_number(right):
            raise type_error("NUMBER", right)
        return datums.number(left + right)
    if isinstance(left, str):
        if not isinstance(right, str):
            raise type_error("STRING", right)
        return left + right
    if isinstance(left, list):
        if not isinstance(right, list):
            raise type_error("ARRAY", right)
        return left + right
    raise type_error("NUMBER", left)


@operation("SUB", (1, VARIADIC))
def sub(ctx: Context, term: Term) -> Any:
    values = [ctx.datum(node) for node in term.args]
    total = values[0]
    for value in values[1:]:
        if _is_time(total):
            if _is_time(value):
                total = datums.number(round(total["epoch_time"] - value["epoch_time"], 3))
            elif datums.is_number(value):
                total = _time_plus(total, -value)
            else:
                raise type_error("NUMBER", value)
            continue
        total = datums.number(_number(total) - _number(value))
    return total


def _number(value: Any) -> float:
    if not datums.is_number(value):
        raise type_error("NUMBER", value)
    return value


@operation("MUL", (1, VARIADIC))
def mul(ctx: Context, term: Term) -> Any:
    values = [ctx.datum(node) for node in term.args]
    total = values[0]
    for value in values[1:]:
        if isinstance(total, list) or isinstance(value, list):
            array, times = (total, value) if isinstance(total, list) else (value, total)
            copies = integral(_number(times))
            if copies < 0:
                raise ReqlQueryLogicError("Cannot multiply an ARRAY by a negative number.")
            total = ctx.check_array(array * copies)
        else:
            total = datums.number(_number(total) * _number(value))
    return total


@operation("DIV", (1, VARIADIC))
def div(ctx: Context, term: Term) -> Any:
    values = [ctx.number(node) for node in term.args]
    total = values[0]
    for value in values[1:]:
        if value == 0:
            raise ReqlQueryLogicError("Cannot divide by zero.")
        total = datums.number(total / value)
    return total


@operation("MOD", 2)
def mod(ctx: Context, term: Term) -> int:
    left, right = ctx.integer(term.args[0]), ctx.integer(term.args[1])
    if right == 0:
        raise ReqlQueryLogicError("Cannot take a number modulo 0.")
    return int(math.fmod(left, right))  # the sign follows the dividend, as in C


def _rounding(name: str, fn: Callable[[float], float]) -> None:
    @operation(name, 1)
    def rounded(ctx: Context, term: Term) -> Any:
        return datums.number(float(fn(ctx.number(term.args[0]))))


_rounding("FLOOR", math.floor)
_rounding("CEIL", math.ceil)
# RethinkDB rounds halves away from zero.
_rounding("ROUND", lambda x: math.copysign(math.floor(abs(x) + 0.5), x))


# ---------------------------------------------------------------- logic


@operation("AND", (0, VARIADIC))
def and_(ctx: Context, term: Term) -> Any:
    value: Any = True
    for node in term.args:
        value = ctx.datum(node)
        if not truthy(value):
            return value
    return value


@operation("OR", (0, VARIADIC))
def or_(ctx: Context, term: Term) -> Any:
    value: Any = False
    for node in term.args:
        value = ctx.datum(node)
        if truthy(value):
            return value
    return value


@operation("NOT", 1)
def not_(ctx: Context, term: Term) -> bool:
    return not truthy(ctx.datum(term.args[0]))
