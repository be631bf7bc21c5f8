"""Comparison, arithmetic and logic terms (eq/lt/..., add/sub/mul/div/mod, floor/ceil/round, and/or/not)."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlUserError


def fails(conn: Any, query: Any, error: type[ReqlError], message: str) -> None:
    with pytest.raises(error) as info:
        query.run(conn)
    assert type(info.value) is error
    assert info.value.message == message


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
