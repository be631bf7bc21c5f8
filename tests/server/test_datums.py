"""ReQL datums: round trips, number rules, equality across types, and how values are printed in errors."""

from __future__ import annotations

import datetime
import math
from typing import Any

from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlQueryLogicError


def test_values_round_trip(conn: Any, r: RethinkDB) -> None:
    value: dict[str, Any] = {
        "n": None,
        "b": True,
        "i": -7,
        "f": 67498.89278,
        "s": "こんにちは",
        "a": [1, [2, []]],
        "o": {"x": {}},
    }
    assert r.expr(value).run(conn) == value
    assert r.expr([]).run(conn) == []
    assert r.expr("").run(conn) == ""
    assert r.expr(-73850380122423).run(conn) == -73850380122423
    assert r.expr(123.4567890123456789).run(conn) == 123.4567890123456789
    assert r.expr(b"\x00\xff").run(conn) == b"\x00\xff"
    when = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert r.expr(when).run(conn) == when


def test_type_names(conn: Any, r: RethinkDB) -> None:
    values: list[Any] = [None, False, 0, -1.5, "", [], {}]
    names = ["NULL", "BOOL", "NUMBER", "NUMBER", "STRING", "ARRAY", "OBJECT"]
    assert r.expr(values).map(lambda v: v.type_of()).run(conn) == names
    assert r.expr({"a": [r.binary(b"x"), r.epoch_time(0)]})["a"].map(lambda v: v.type_of()).run(conn) == [
        "PTYPE<BINARY>",
        "PTYPE<TIME>",
    ]


def test_integral_numbers_come_back_as_integers(conn: Any, r: RethinkDB) -> None:
    for query, expected in [(r.expr(2.0), 2), (r.expr(6) / 3, 2), (r.expr(1.5) * 2, 3), (r.expr(2**53), 2**53)]:
        result = query.run(conn)
        assert result == expected
        assert type(result) is int
    assert (r.expr(2**53) + 2).run(conn) == 2**53 + 2
    assert (r.expr(0.1) + 0.2).run(conn) == 0.1 + 0.2
    negative_zero = r.expr(-0.0).run(conn)
    assert negative_zero == 0
    assert math.copysign(1, negative_zero) == -1


def test_numbers_are_doubles(conn: Any, r: RethinkDB) -> None:
    # Integers beyond 2^53 are read as the nearest double, and written back as doubles.
    assert r.expr(2**53 + 1).run(conn) == 2**53
    assert r.expr([2**53 + 1, -(2**53) - 1]).run(conn) == [2**53, -(2**53)]
    big = r.expr(10**30).run(conn)
    assert big == 1e30
    assert type(big) is float
    assert type(r.expr(2**60).run(conn)) is float
    assert r.expr(2**53 + 1).eq(2**53).run(conn) is True


def test_non_finite_numbers_are_refused(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1e300) * 1e300, ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr(-1e300) * 1e300, ReqlQueryLogicError, "Non-finite number: -inf")
    fails(conn, (r.expr(1e300) * 1e300).default(0), ReqlQueryLogicError, "Non-finite number: inf")


def test_equality_is_by_value_and_type(conn: Any, r: RethinkDB) -> None:
    checks = {
        "1 == 1.0": r.expr(1) == 1.0,
        "true == 1": r.expr(True) == 1,
        "false == 0": r.expr(False) == 0,
        "null == false": r.expr(None) == False,  # noqa: E712 (a ReQL query, not a Python comparison)
        "-0.0 == 0": r.expr(-0.0) == 0,
        "'1' == 1": r.expr("1") == 1,
        "nested": r.expr([1, [2, {"a": 1}]]) == [1.0, [2, {"a": 1.0}]],
        "key order": r.expr({"a": 0, "b": 1}) == {"b": 1, "a": 0},
        "null field": r.expr({"a": 1}) == {"a": 1, "b": None},
        "[] == {}": r.expr([]) == {},
        "binary": r.binary(b"ab") == r.binary(b"ab"),
        "binary vs string": r.binary(b"ab") == "ab",
        "time zones": r.epoch_time(0) == r.epoch_time(0).in_timezone("+01:00"),
        "nested true == 1": r.expr({"a": [True]}) == {"a": [1]},
        "nested time zones": r.expr({"t": r.epoch_time(0)}) == {"t": r.epoch_time(0).in_timezone("+01:00")},
        "nested binary": r.expr([r.binary(b"ab")]) == [r.binary(b"ab")],
        "nested lengths": r.expr([1, [2]]) == [1, [2, 3]],
    }
    results = r.expr(checks).run(conn)
    assert results == {
        "1 == 1.0": True,
        "true == 1": False,
        "false == 0": False,
        "null == false": False,
        "-0.0 == 0": True,
        "'1' == 1": False,
        "nested": True,
        "key order": True,
        "null field": False,
        "[] == {}": False,
        "binary": True,
        "binary vs string": False,
        "time zones": True,
        "nested true == 1": False,
        "nested time zones": True,
        "nested binary": True,
        "nested lengths": False,
    }


def test_equality_in_sequence_terms(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 2]).contains(1.0).run(conn) is True
    assert r.expr([1, 2]).contains(True).run(conn) is False
    assert r.expr([0, False, None, 0.0]).count(0).run(conn) == 2
    assert r.expr([1, 1.0, True, {"a": 1}, {"a": 1.0}]).distinct().run(conn) == [True, 1, {"a": 1}]
    assert r.expr([{"a": 1}, {"a": 1, "b": None}]).filter({"a": 1.0}).count().run(conn) == 2


def test_type_names_in_errors(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.epoch_time(0).mul(2), ReqlQueryLogicError, "Expected type NUMBER but found PTYPE<TIME>.")
    fails(conn, r.binary(b"a").add(1), ReqlQueryLogicError, "Expected type NUMBER but found PTYPE<BINARY>.")
    fails(conn, r.expr(1).add([1]), ReqlQueryLogicError, "Expected type NUMBER but found ARRAY.")
    fails(conn, r.expr("a").add(None), ReqlNonExistenceError, "Expected type STRING but found NULL.")


def test_objects_printed_in_errors(conn: Any, r: RethinkDB) -> None:
    fails(
        conn,
        r.expr({"s": 'say "hi"', "f": 1.5, "t": True, "n": None, "i": 2})["zz"],
        ReqlNonExistenceError,
        'No attribute `zz` in object:\n{\n\t"f":\t1.5,\n\t"i":\t2,\n\t"n":\tnull,\n'
        '\t"s":\t"say \\"hi\\"",\n\t"t":\ttrue\n}',
    )
    fails(
        conn,
        r.expr({"outer": {"inner": 1}})["zz"],
        ReqlNonExistenceError,
        'No attribute `zz` in object:\n{\n\t"outer":\t{\n\t\t"inner":\t1\n\t}\n}',
    )
    fails(conn, r.expr(True)["a"], ReqlQueryLogicError, "Cannot perform bracket on a non-object non-sequence `true`.")
    fails(conn, r.expr(2.5)["a"], ReqlQueryLogicError, "Cannot perform bracket on a non-object non-sequence `2.5`.")
    fails(conn, r.expr(None)["a"], ReqlNonExistenceError, "Cannot perform bracket on a non-object non-sequence `null`.")


def test_errors_print_numbers_and_binary_as_rethinkdb(conn: Any, r: RethinkDB) -> None:
    # rapidjson's PrettyWriter: its number forms; binary data goes through its plain Writer, so it comes out compact
    # with no line break before it in an array and no tab after the colon in an object.
    fails(
        conn,
        r.expr({"a": 1e100, "b": r.binary(b"x"), "c": [r.binary(b"y"), 1.5e-7, r.binary(b"")]})["zz"],
        ReqlNonExistenceError,
        'No attribute `zz` in object:\n{\n\t"a":\t1e100,\n\t"b":{"$reql_type$":"BINARY","data":"eA=="},\n'
        '\t"c":\t[{"$reql_type$":"BINARY","data":"eQ=="},\n\t\t1.5e-7,{"$reql_type$":"BINARY","data":""}\n\t]\n}',
    )
    fails(conn, r.expr(1e100)["a"], ReqlQueryLogicError, "Cannot perform bracket on a non-object non-sequence `1e100`.")
    assert r.expr([1e100, r.binary(b"x")]).info().run(conn)["value"] == (
        '[\n\t1e100,{"$reql_type$":"BINARY","data":"eA=="}\n]'
    )
    fails(
        conn,
        r.object("a\t", [1, 2], "a\t", {"b": 0.1 + 0.2}),
        ReqlQueryLogicError,
        'Duplicate key "a\\t" in object.  (got [\n\t1,\n\t2\n] and {\n\t"b":\t0.30000000000000007\n} as values)',
    )


def test_errors_cut_long_values_to_300_bytes(conn: Any, r: RethinkDB) -> None:
    fails(
        conn,
        r.expr([["a", "é" * 200], ["a", 1]]).coerce_to("object"),
        ReqlQueryLogicError,
        # 297 bytes of the printed value (the quote and 148 two-byte letters), then "...".
        f'Duplicate key "a" in coerced object.  (got "{"é" * 148}... and 1 as values)',
    )
