"""Comparison, arithmetic and logic: eq/ne/lt/le/gt/ge, add/sub/mul/div/mod, floor/ceil/round, bit operations,
r.random, and/or/not."""

from __future__ import annotations

import functools
import itertools
import math
import operator
import random
import sys
from collections.abc import Callable
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, integral, type_error
from rethink_widgets.server.evaluation.terms import VARIADIC, Node, Term, operation


def _is_time(value: Any) -> bool:
    return isinstance(value, dict) and value.get(datums.PTYPE) == "TIME"


def _time_plus(time: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {**time, "epoch_time": datums.number(round(time["epoch_time"] + seconds, 3))}


# ---------------------------------------------------------------- comparison


def _comparison(name: str, holds: Callable[[int], bool]) -> None:
    @operation(name, (2, VARIADIC))
    def compare(ctx: Context, term: Term) -> bool:
        values = [ctx.datum(node) for node in term.args]
        return all(holds(datums.compare(a, b)) for a, b in itertools.pairwise(values))


_comparison("LT", lambda c: c < 0)
_comparison("LE", lambda c: c <= 0)
_comparison("GT", lambda c: c > 0)
_comparison("GE", lambda c: c >= 0)


@operation("EQ", (2, VARIADIC))
def eq(ctx: Context, term: Term) -> bool:
    values = [ctx.datum(node) for node in term.args]
    return all(datums.equal(values[0], other) for other in values[1:])


@operation("NE", (2, VARIADIC))
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


# ---------------------------------------------------------------- bits

# Bit operations take integers a double holds exactly, so that they are closed under and, or, xor and not.
_BIT_LIMIT = 2**53


def _bit_int(ctx: Context, node: Node) -> int:
    value = ctx.integer(node)
    if not -_BIT_LIMIT <= value < _BIT_LIMIT:
        raise ReqlQueryLogicError(f"Integer too large: {value}")
    return value


def _bitwise(name: str, fn: Callable[[int, int], int]) -> None:
    @operation(name, (1, VARIADIC))
    def bits(ctx: Context, term: Term) -> int | float:
        values = [_bit_int(ctx, node) for node in term.args]
        return datums.number(functools.reduce(fn, values))


_bitwise("BIT_AND", operator.and_)
_bitwise("BIT_OR", operator.or_)
_bitwise("BIT_XOR", operator.xor)


@operation("BIT_NOT", 1)
def bit_not(ctx: Context, term: Term) -> int:
    return ~_bit_int(ctx, term.args[0])


def _shift(ctx: Context, term: Term) -> tuple[int, int]:
    value, places = _bit_int(ctx, term.args[0]), ctx.integer(term.args[1])
    if places < 0:
        raise ReqlQueryLogicError("Cannot bit-shift by a negative value")
    return value, places


@operation("BIT_SAL", 2)
def bit_sal(ctx: Context, term: Term) -> int | float:
    value, places = _shift(ctx, term)
    if value == 0:
        return 0
    # RethinkDB shifts left as a double (ldexp): past the largest double it is infinite, and shifts of 4096 places
    # or more give +infinity whatever the sign.
    if places >= 4096:
        return datums.number(math.inf)
    shifted = value << places
    if abs(shifted) >= 2**1024:
        return datums.number(math.inf if shifted > 0 else -math.inf)
    return datums.number(shifted)


@operation("BIT_SAR", 2)
def bit_sar(ctx: Context, term: Term) -> int:
    value, places = _shift(ctx, term)
    return value >> places


# ---------------------------------------------------------------- random


@operation("RANDOM", (0, 2), optargs=("float",))
def random_(ctx: Context, term: Term) -> int | float:
    node = term.optargs.get("float")
    as_float = ctx.boolean(node) if node is not None else not term.args
    if as_float:
        return _random_float(*_float_bounds(ctx, term))
    if not term.args:
        raise ReqlQueryLogicError("Generating a random integer requires one or two bounds.")
    if len(term.args) == 1:
        lower, upper = 0, _integer_bound(ctx.number(term.args[0]), "Upper")
    else:
        lower = _integer_bound(ctx.number(term.args[0]), "Lower")
        upper = _integer_bound(ctx.number(term.args[1]), "Upper")
    if lower >= upper:
        raise ReqlQueryLogicError(f"Lower bound ({lower}) is not less than upper bound ({upper}).")
    return datums.number(random.randrange(lower, upper))


def _float_bounds(ctx: Context, term: Term) -> tuple[float, float]:
    if not term.args:
        return 0.0, 1.0
    if len(term.args) == 1:
        return 0.0, ctx.number(term.args[0])
    return ctx.number(term.args[0]), ctx.number(term.args[1])


def _random_float(lower: float, upper: float) -> int | float:
    # The width of the range can overflow a double: roll on a quarter of it and scale back, as RethinkDB does.
    scaled = (lower > 0) != (upper > 0) and abs(lower) > sys.float_info.max / 2 - abs(upper)
    if scaled:
        lower, upper = lower / 4, upper / 4
    result = lower + random.random() * (upper - lower)
    if (result >= upper) if upper > lower else (result <= upper):
        result = lower  # rounding reached the excluded bound
    return datums.number(result * 4 if scaled else result)


def _integer_bound(value: float, which: str) -> int:
    if not float(value).is_integer() or abs(value) > _BIT_LIMIT:
        raise ReqlQueryLogicError(f"{which} bound ({float(value):.20g}) could not be safely converted to an integer.")
    return int(value)


# ---------------------------------------------------------------- logic


@operation("AND", (0, VARIADIC))
def and_(ctx: Context, term: Term) -> Any:
    value: Any = True
    for node in term.args:
        value = ctx.datum(node)
        if not datums.truthy(value):
            return value
    return value


@operation("OR", (0, VARIADIC))
def or_(ctx: Context, term: Term) -> Any:
    value: Any = False
    for node in term.args:
        value = ctx.datum(node)
        if datums.truthy(value):
            return value
    return value


@operation("NOT", 1)
def not_(ctx: Context, term: Term) -> bool:
    return not datums.truthy(ctx.datum(term.args[0]))
