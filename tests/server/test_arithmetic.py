"""Comparison, arithmetic and logic terms (eq/lt/..., add/sub/mul/div/mod, floor/ceil/round, and/or/not)."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlUserError


def test_add_numbers_strings_and_arrays(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).add(2, 3, 4, 5).run(conn) == 15
    assert (r.expr(-1) + 1).run(conn) == 0
    assert (r.expr(1.75) + 8.5).run(conn) == 10.25
    assert r.expr("a").add("b", "c", "d").run(conn) == "abcd"
    assert (r.expr("") + "").run(conn) == ""
    assert r.expr([1, 2]).add([3], [4, 5]).run(conn) == [1, 2, 3, 4, 5]
    assert r.expr([1]).add([]).run(conn) == [1]
    result = (r.expr(1) + 1).run(conn)
    assert result == 2
    assert type(result) is int


def test_add_type_errors(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1).add("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr("a").add(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr([]).add(1), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER.")
    fails(conn, r.expr({}).add(1), ReqlQueryLogicError, "Expected type NUMBER but found OBJECT.")
    fails(conn, r.expr(True).add(True), ReqlQueryLogicError, "Expected type NUMBER but found BOOL.")
    # A NULL operand is a missing value, not a wrong one.
    fails(conn, r.expr(None).add(5), ReqlNonExistenceError, "Expected type NUMBER but found NULL.")
    fails(conn, r.expr(5).sub(None), ReqlNonExistenceError, "Expected type NUMBER but found NULL.")


def test_sub_mul_div(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).sub(2, 3, 4, 5).run(conn) == -13
    assert (r.expr(1.75) - 8.5).run(conn) == -6.75
    assert r.expr(1).mul(2, 3, 4, 5).run(conn) == 120
    assert (r.expr(1.5) * 4.5).run(conn) == 6.75
    assert (r.expr(-1) / -2).run(conn) == 0.5
    assert r.expr(1).div(2, 3, 4, 5).run(conn) == pytest.approx(1 / 120)
    quotient = (r.expr(4) / 2).run(conn)
    assert quotient == 2
    assert type(quotient) is int
    assert (((4 + 2 * (r.expr(26) % 18)) / 5) - 3).run(conn) == 1
    fails(conn, r.expr("b") - "a", ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr("a") * 0.8, ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr(1) / "a", ReqlQueryLogicError, "Expected type NUMBER but found STRING.")


def test_division_by_zero(conn: Any, r: RethinkDB) -> None:
    for query in (r.expr(1) / 0, r.expr(2.0) / 0, r.expr(3) / 0.0, r.expr(0) / 0, r.expr(1).div(2, 0)):
        fails(conn, query, ReqlQueryLogicError, "Cannot divide by zero.")


def test_mul_repeats_arrays(conn: Any, r: RethinkDB) -> None:
    assert (r.expr([1, 2]) * 3).run(conn) == [1, 2, 1, 2, 1, 2]
    assert r.expr(2).mul([1]).run(conn) == [1, 1]
    assert (r.expr(["a"]) * 0).run(conn) == []
    fails(conn, r.expr([1]).mul(1.5), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, r.expr([1]).mul("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr([1]).mul(-1), ReqlQueryLogicError, "Cannot multiply an ARRAY by a negative number.")
    fails(conn, r.expr(-2).mul([1]), ReqlQueryLogicError, "Cannot multiply an ARRAY by a negative number.")


def test_mod(conn: Any, r: RethinkDB) -> None:
    # The sign of the result follows the dividend, as with C's `%`.
    assert (r.expr(10) % 3).run(conn) == 1
    assert (r.expr(-10) % -3).run(conn) == -1
    assert (r.expr(-10) % 3).run(conn) == -1
    assert (r.expr(10) % -3).run(conn) == 1
    assert (r.expr(6.0) % 4).run(conn) == 2
    fails(conn, r.expr(10) % 0, ReqlQueryLogicError, "Cannot take a number modulo 0.")
    fails(conn, r.expr(10.5) % 3, ReqlQueryLogicError, "Number not an integer: 10.5")
    fails(conn, r.expr(4) % "a", ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr("a") % 1, ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr(2**53 + 2) % 3, ReqlQueryLogicError, "Number not an integer (>2^53): 9007199254740994")
    fails(conn, r.expr(3) % -(2**53 + 2), ReqlQueryLogicError, "Number not an integer (<-2^53): -9007199254740994")


def test_floor_ceil_round(conn: Any, r: RethinkDB) -> None:
    values = [-1.5, -0.9, 0.5, 1.0, 1.5, 2.5]
    assert r.expr(values).map(lambda x: x.floor()).run(conn) == [-2, -1, 0, 1, 1, 2]
    assert r.expr(values).map(lambda x: x.ceil()).run(conn) == [-1, 0, 1, 1, 2, 3]
    # Halves round away from zero.
    assert r.expr(values).map(lambda x: x.round()).run(conn) == [-2, -1, 1, 1, 2, 3]
    assert r.round(-2.5).run(conn) == -3
    assert r.round(999999999.9).run(conn) == 1000000000
    assert r.floor(1.0).type_of().run(conn) == "NUMBER"
    for query in (r.expr("X").floor(), r.expr("X").ceil(), r.expr("X").round()):
        fails(conn, query, ReqlQueryLogicError, "Expected type NUMBER but found STRING.")


def test_non_finite_results(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1e308) * 10, ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr(-1e308) * 10, ReqlQueryLogicError, "Non-finite number: -inf")
    fails(conn, r.expr(1e308) + 1e308, ReqlQueryLogicError, "Non-finite number: inf")


def test_times_with_numbers(conn: Any, r: RethinkDB) -> None:
    assert r.epoch_time(10).add(1.5).to_epoch_time().run(conn) == 11.5
    assert r.epoch_time(10).sub(4).to_epoch_time().run(conn) == 6
    assert (r.epoch_time(10) - r.epoch_time(4)).run(conn) == 6
    # A number plus a time is a time too, in either order; two times do not add up.
    assert r.expr(1).add(r.epoch_time(10)).to_epoch_time().run(conn) == 11
    assert r.expr(1).add(r.epoch_time(10), 2).to_epoch_time().run(conn) == 13
    fails(conn, r.epoch_time(10).sub("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr("a").add(r.epoch_time(10)), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(
        conn, r.epoch_time(1).add(r.epoch_time(2)), ReqlQueryLogicError, "Expected type NUMBER but found PTYPE<TIME>."
    )


def test_comparisons_are_variadic(conn: Any, r: RethinkDB) -> None:
    assert [(r.expr(1) < 2).run(conn), (r.expr(2) < 2).run(conn), (r.expr(2) <= 2).run(conn)] == [True, False, True]
    assert [(r.expr(3) > 2).run(conn), (r.expr(2) >= 3).run(conn)] == [True, False]
    assert r.expr(1).lt(2, 3, 4).run(conn) is True
    assert r.expr(1).lt(2, 3, 2).run(conn) is False
    assert r.expr(4).gt(3, 2, 1).run(conn) is True
    assert r.expr(1).le(1, 2, 2).run(conn) is True
    assert r.expr(4).ge(4, 2, 3).run(conn) is False
    assert r.expr(1).eq(1, 1, 1).run(conn) is True
    assert r.expr(1).eq(1, 2, 1).run(conn) is False
    assert r.expr(1).ne(3, 2, 3).run(conn) is True
    assert r.expr(2).ne(2).run(conn) is False
    assert (r.expr(None) == None).run(conn) is True  # noqa: E711 (a ReQL query, not a Python comparison)
    assert (r.expr(None) < None).run(conn) is False


def test_comparison_within_and_across_types(conn: Any, r: RethinkDB) -> None:
    within = [
        r.expr("a") < "aa",
        r.expr("abcdef") < "abcdeg",
        r.expr("A quick brown fox") > "A quick brawn fox",
        r.expr([1, 0]) < [2],
        r.expr([1, 0]) > [1],
        r.expr([1, 0, 2]) < [1, 1, 1],
        r.expr({"a": 0, "b": 1}) == {"b": 1, "a": 0},
        r.expr({"a": 1}) < {"b": 0},
        r.expr({"a": 0, "c": 2}) > {"a": 0, "b": 1, "c": 2},
        r.expr({"a": 0, "b": 1, "c": 2}) < {"a": 0, "b": 1, "c": 2, "d": 3},
    ]
    assert r.expr(within).run(conn) == [True] * len(within)
    # Across types: arrays < booleans < null < numbers < objects < binary < strings.
    across = [
        r.expr([1, 2]) < False,
        r.expr(True) < None,
        r.expr(None) < -2,
        r.expr(100) < {"a": -12},
        r.expr({"z": 1}) < r.binary(b"a"),
        r.binary(b"zz") < "a",
        r.expr("zzz") > {},
        r.expr("zzz") > [],
    ]
    assert r.expr(across).run(conn) == [True] * len(across)
    assert (r.expr(False) < []).run(conn) is False


def test_and_or_not(conn: Any, r: RethinkDB) -> None:
    assert (r.expr(True) & False).run(conn) is False
    assert r.and_(True, True, True, True).run(conn) is True
    assert r.and_(True, False, True).run(conn) is False
    assert r.or_(False, False, True, False).run(conn) is True
    assert r.or_(False, False).run(conn) is False
    assert r.and_().run(conn) is True
    assert r.or_().run(conn) is False
    # Any value but false and null is true; and/or return the deciding value.
    assert (r.expr(1) & True).run(conn) is True
    assert r.and_(1, "x").run(conn) == "x"
    assert (r.expr(False) | "str").run(conn) == "str"
    assert r.or_(None, 0).run(conn) == 0
    assert (~r.expr(1)).run(conn) is False
    assert r.expr(None).not_().run(conn) is True
    assert r.not_(False).run(conn) is True
    # Evaluation stops at the deciding argument.
    assert r.and_(False, r.error("unreached")).run(conn) is False
    assert r.or_(True, r.error("unreached")).run(conn) is True
    fails(conn, r.and_(True, r.error("reached")), ReqlUserError, "reached")


def test_bit_and_or_xor_not(conn: Any, r: RethinkDB) -> None:
    assert r.expr(3).bit_and(2).run(conn) == 2
    assert r.expr(-2).bit_and(3).run(conn) == 2
    assert r.expr(7).bit_and(6, 3).run(conn) == 2
    assert r.expr(1).bit_or(2).run(conn) == 3
    assert r.expr(2**53 - 1).bit_or(-1).run(conn) == -1
    assert r.expr(3).bit_xor(6).run(conn) == 5
    assert r.expr(2).bit_not().run(conn) == -3
    assert r.expr(2**53 - 1).bit_not().run(conn) == -(2**53)
    assert r.expr(-(2**53)).bit_and(12345).run(conn) == 0


def test_bit_operations_take_53_bit_integers(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(2**53).bit_and(0), ReqlQueryLogicError, "Integer too large: 9007199254740992")
    fails(conn, r.expr(2**53).bit_not(), ReqlQueryLogicError, "Integer too large: 9007199254740992")
    fails(
        conn,
        r.expr(2**53 + 2).bit_or(0),
        ReqlQueryLogicError,
        "Number not an integer (>2^53): 9007199254740994",
    )
    fails(conn, r.expr(1.5).bit_and(3), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, r.expr("a").bit_and(12), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.expr(12).bit_xor(None), ReqlNonExistenceError, "Expected type NUMBER but found NULL.")


def test_bit_shifts(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).bit_sal(3).run(conn) == 8
    assert r.expr(-1).bit_sal(54).run(conn) == -(2**54)
    assert r.expr(0).bit_sal(999999).run(conn) == 0
    assert r.expr(-(2**53)).bit_sar(1).run(conn) == -(2**52)
    assert r.expr(-(2**53)).bit_sar(54).run(conn) == -1
    assert r.expr(2**53 - 1).bit_sar(53).run(conn) == 0
    assert r.expr(5).bit_sar(999999).run(conn) == 0
    # Shifting left is done on doubles: past the largest double the result is infinite, which is refused.
    fails(conn, r.expr(1).bit_sal(1024), ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr(-1).bit_sal(1024), ReqlQueryLogicError, "Non-finite number: -inf")
    fails(conn, r.expr(-1).bit_sal(5000), ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr(5).bit_sal(-1), ReqlQueryLogicError, "Cannot bit-shift by a negative value")
    fails(conn, r.expr(5).bit_sar(-1), ReqlQueryLogicError, "Cannot bit-shift by a negative value")
    fails(conn, r.expr(5).bit_sar(0.5), ReqlQueryLogicError, "Number not an integer: 0.5")


def test_random_integers(conn: Any, r: RethinkDB) -> None:
    values = r.expr(list(range(200))).map(lambda _: r.random(10, 20)).run(conn)
    assert all(type(v) is int and 10 <= v < 20 for v in values)
    assert len(set(values)) > 1
    assert all(0 <= v < 3 for v in r.expr(list(range(50))).map(lambda _: r.random(3)).run(conn))
    assert all(-20 <= v < -10 for v in r.expr(list(range(50))).map(lambda _: r.random(-20, -10)).run(conn))
    assert r.random(2.0, 3).run(conn) == 2
    big = 2**53 - 1
    assert len(set(r.expr([big] * 4).map(lambda x: r.random(0, x)).run(conn))) > 1


def test_random_floats(conn: Any, r: RethinkDB) -> None:
    values = r.expr(list(range(100))).map(lambda _: r.random()).run(conn)
    assert all(isinstance(v, (int, float)) and 0 <= v < 1 for v in values)
    assert all(0 <= v < 2.5 for v in r.expr(list(range(50))).map(lambda _: r.random(2.5, float=True)).run(conn))
    assert all(
        -1.5 <= v < 0.5 for v in r.expr(list(range(50))).map(lambda _: r.random(-1.5, 0.5, float=True)).run(conn)
    )
    # A descending range is allowed for floats: the result lies between the bounds.
    assert all(1 < v <= 5 for v in r.expr(list(range(50))).map(lambda _: r.random(5, 1, float=True)).run(conn))
    huge = 1.7976931348623157e308
    assert -huge <= r.random(-huge, huge, float=True).run(conn) < huge


def test_random_errors(conn: Any, r: RethinkDB) -> None:
    needs = "Generating a random integer requires one or two bounds."
    fails(conn, r.random(float=False), ReqlQueryLogicError, needs)
    fails(conn, r.random(0), ReqlQueryLogicError, "Lower bound (0) is not less than upper bound (0).")
    fails(conn, r.random(-10), ReqlQueryLogicError, "Lower bound (0) is not less than upper bound (-10).")
    fails(conn, r.random(20, 2), ReqlQueryLogicError, "Lower bound (20) is not less than upper bound (2).")
    fails(conn, r.random(0.25), ReqlQueryLogicError, "Upper bound (0.25) could not be safely converted to an integer.")
    fails(
        conn,
        r.random(-6.5, 8.125),
        ReqlQueryLogicError,
        "Lower bound (-6.5) could not be safely converted to an integer.",
    )
    fails(
        conn,
        r.random(0, 0.1),
        ReqlQueryLogicError,
        "Upper bound (0.10000000000000000555) could not be safely converted to an integer.",
    )
    fails(
        conn,
        r.random(0, 2**60),
        ReqlQueryLogicError,
        "Upper bound (1152921504606846976) could not be safely converted to an integer.",
    )
    fails(conn, r.random("a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.random(1, float="yes"), ReqlQueryLogicError, "Expected type BOOL but found STRING.")
    with pytest.raises(ReqlError, match="Expected between 0 and 2 arguments but found 3"):
        r.random(1, 2, 3).run(conn)
