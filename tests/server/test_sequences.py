"""Sequence terms: filter, map, concat_map, limit/skip/slice/nth, count, contains, is_empty, union, distinct, range."""

from __future__ import annotations

from typing import Any

from reql_errors import INFINITE, fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlQueryLogicError


def test_filter(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4, 5])
    assert nums.filter(lambda x: x > 2).run(conn) == [3, 4, 5]
    assert r.expr([{"a": 1, "b": 1}, {"a": 2}, {"b": 1}]).filter({"a": 1}).run(conn) == [{"a": 1, "b": 1}]
    assert r.expr([{"a": {"b": 1, "c": 2}}, {"a": {"b": 2}}]).filter({"a": {"b": 1}}).run(conn) == [
        {"a": {"b": 1, "c": 2}}
    ]
    # A constant keeps every row or none, by its truth.
    assert nums.filter("foo").run(conn) == [1, 2, 3, 4, 5]
    assert nums.filter([]).run(conn) == [1, 2, 3, 4, 5]
    assert nums.filter(None).run(conn) == []
    assert nums.filter(False).run(conn) == []
    assert list(r.range(10).filter(lambda x: x % 4 == 0).run(conn)) == [0, 4, 8]
    fails(conn, r.expr(1).filter(lambda x: x), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_filter_rows_missing_a_field(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 1}, {"a": None}, {}])
    assert rows.filter(lambda x: x["a"].eq(1)).run(conn) == [{"a": 1}]
    assert rows.filter(lambda x: x["a"].eq(1), default=False).run(conn) == [{"a": 1}]
    assert rows.filter(lambda x: x["a"].eq(1), default=True).run(conn) == [{"a": 1}, {}]
    assert rows.filter(lambda x: x["a"].default(1).eq(1)).run(conn) == [{"a": 1}, {"a": None}, {}]
    assert r.expr(False).do(lambda d: rows.filter(lambda x: x["a"].eq(1), default=d)).run(conn) == [{"a": 1}]
    # default=r.error() re-raises the error of the row.
    fails(
        conn,
        rows.filter(lambda x: x["a"].eq(1), default=r.error()),
        ReqlNonExistenceError,
        "No attribute `a` in object:\n{}",
    )


def test_filter_with_literals(conn: Any, r: RethinkDB) -> None:
    # A literal in the pattern asks for exactly that value rather than for a sub-object.
    rows = r.expr([{"a": {"b": 1, "c": 2}, "i": 0}, {"a": {"b": 1}, "i": 1}])
    assert rows.filter({"a": {"b": 1}})["i"].run(conn) == [0, 1]
    assert rows.filter({"a": r.literal({"b": 1})})["i"].run(conn) == [1]
    assert rows.filter(r.literal({"i": 1})).run(conn) == []


def test_map_and_concat_map(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 2, 3]).map(lambda x: x * 2).run(conn) == [2, 4, 6]
    assert r.map([1, 2, 3], [10, 20], lambda x, y: x + y).run(conn) == [11, 22]
    assert list(r.range().map(r.expr(["a", "b"]), lambda i, s: [i, s]).run(conn)) == [[0, "a"], [1, "b"]]
    assert r.expr([1, 2]).concat_map(lambda x: [x, x * 10]).run(conn) == [1, 10, 2, 20]
    assert list(r.range().concat_map(lambda x: [x, x]).limit(3).run(conn)) == [0, 0, 1]
    fails(
        conn,
        r.expr([1]).map(lambda x, y: [x, y]),
        ReqlQueryLogicError,
        "The function passed to `map` expects 2 arguments, but 1 sequence was found.",
    )
    fails(
        conn,
        r.expr([1]).map(r.expr([1]), lambda x: [x]),
        ReqlQueryLogicError,
        "The function passed to `map` expects 1 argument, but 2 sequences were found.",
    )
    fails(conn, r.expr([1, 2]).concat_map(lambda x: x), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    # A function of no arguments is called once per row.
    assert r.expr([1, 2]).map(lambda: 5).run(conn) == [5, 5]
    assert r.map([1, 2], [3], lambda: "x").run(conn) == ["x"]


def test_limit_and_skip(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4, 5])
    assert nums.limit(2).run(conn) == [1, 2]
    assert nums.limit(0).run(conn) == []
    assert nums.limit(10).run(conn) == [1, 2, 3, 4, 5]
    assert nums.skip(3).run(conn) == [4, 5]
    assert nums.skip(9).run(conn) == []
    assert list(r.range().skip(2).limit(2).run(conn)) == [2, 3]
    # skip is a slice to the end: a negative count counts back from the end of an array, not of a stream.
    assert nums.skip(-2).run(conn) == [4, 5]
    assert nums.skip(-9).run(conn) == [1, 2, 3, 4, 5]
    assert r.expr("hello").skip(3).run(conn) == "lo"
    fails(conn, r.range(5).skip(-1), ReqlQueryLogicError, "Cannot use a negative left index on a stream.")
    fails(conn, r.expr({"a": 1}).skip(1), ReqlQueryLogicError, "Expected ARRAY, BINARY, or STRING, but found OBJECT.")
    fails(conn, nums.limit(-1), ReqlQueryLogicError, "LIMIT takes a non-negative argument (got -1)")
    fails(conn, nums.limit(1.5), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, r.expr("abc").limit(1), ReqlQueryLogicError, "Cannot convert STRING to SEQUENCE")


def test_slice(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4, 5])
    assert nums.slice(1, 3).run(conn) == [2, 3]
    assert nums.slice(1, 3, right_bound="closed").run(conn) == [2, 3, 4]
    assert nums.slice(1, 3, left_bound="open", right_bound="closed").run(conn) == [3, 4]
    assert nums.slice(-2).run(conn) == [4, 5]
    assert nums.slice(2, 1).run(conn) == []
    assert nums.slice(1, 99).run(conn) == [2, 3, 4, 5]
    assert r.expr("hello").slice(1).run(conn) == "ello"
    assert r.expr("hello").slice(-4, 3).run(conn) == "el"
    assert r.expr("hello").slice(-99).run(conn) == "hello"
    assert r.expr("こんにちは").slice(1, 2).run(conn) == "ん"
    assert r.binary(b"hello").slice(1, 3).run(conn) == b"el"
    fails(conn, r.expr({"a": 1}).slice(0), ReqlQueryLogicError, "Expected ARRAY, BINARY, or STRING, but found OBJECT.")
    fails(conn, r.expr(5).slice(0), ReqlQueryLogicError, "Expected ARRAY, BINARY, or STRING, but found NUMBER.")


def test_slice_of_streams(conn: Any, r: RethinkDB) -> None:
    assert list(r.range(10).slice(2, 4).run(conn)) == [2, 3]
    assert list(r.range(5).slice(1, -1, right_bound="closed").run(conn)) == [1, 2, 3, 4]
    assert list(r.range().slice(3).limit(2).run(conn)) == [3, 4]
    fails(conn, r.range(10).slice(-1), ReqlQueryLogicError, "Cannot use a negative left index on a stream.")
    fails(conn, r.range(5).slice(1, -2), ReqlQueryLogicError, "Cannot use a right index < -1 on a stream.")
    fails(conn, r.range(5).slice(1, -1), ReqlQueryLogicError, "Cannot slice to an open right index of -1 on a stream.")


def test_nth(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4, 5])
    assert nums.nth(0).run(conn) == 1
    assert nums.nth(-1).run(conn) == 5
    assert r.range(3).nth(1).run(conn) == 1
    assert r.range(3).nth(-1).run(conn) == 2
    # nth says "Index out of bounds" past either end (the longer form is insert_at's, splice_at's ...).
    fails(conn, nums.nth(5), ReqlNonExistenceError, "Index out of bounds: 5")
    fails(conn, r.expr([]).nth(0), ReqlNonExistenceError, "Index out of bounds: 0")
    fails(conn, nums.nth(-6), ReqlNonExistenceError, "Index out of bounds: -6")
    fails(conn, r.range(3).nth(5), ReqlNonExistenceError, "Index out of bounds: 5")
    fails(conn, nums.nth(1.5), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, nums.nth(2**31), ReqlQueryLogicError, "Integer too large: 2147483648")
    fails(conn, r.expr(0).nth(0), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(conn, r.range(3).nth(-2), ReqlQueryLogicError, "Cannot use an index < -1 (-2) on a stream.")
    fails(conn, r.range(0).nth(-1), ReqlNonExistenceError, "Index out of bounds: -1")


def test_count(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.expr([1, 2, 1]).count().run(conn) == 3
    assert r.expr([]).count().run(conn) == 0
    assert r.expr([1, 2, 1, 1.0]).count(1).run(conn) == 3
    assert r.expr([{"a": 1}, {"a": 2}]).count({"a": 1}).run(conn) == 1
    assert r.expr([1, 2, 3, 4, 5]).count(lambda x: x > 2).run(conn) == 3
    assert r.range(4).count().run(conn) == 4
    # Strings count code points, binaries bytes, objects fields.
    assert r.expr("hello, world!").count().run(conn) == 13
    assert r.expr("こんにちは").count().run(conn) == 5
    assert r.binary(b"abc").count().run(conn) == 3
    assert r.expr({"a": 1, "b": 2}).count().run(conn) == 2
    r.table(table).insert([{"id": i} for i in range(7)]).run(conn)
    assert r.table(table).count().run(conn) == 7
    assert r.table(table).count(lambda row: row["id"] > 4).run(conn) == 2
    fails(conn, r.range().count(), ReqlQueryLogicError, INFINITE)
    fails(conn, r.expr(1).count(), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_contains_and_is_empty(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4, 5])
    assert nums.contains(3).run(conn) is True
    assert nums.contains(3, 5).run(conn) is True
    assert nums.contains(3, 6).run(conn) is False
    assert nums.contains(1.0).run(conn) is True
    assert nums.contains(True).run(conn) is False
    assert nums.contains(lambda x: x > 4).run(conn) is True
    assert nums.contains(lambda x: x > 5).run(conn) is False
    assert r.expr([{"a": 1}]).contains({"a": 1}).run(conn) is True
    assert r.range().contains(1000).run(conn) is True
    assert r.expr([]).is_empty().run(conn) is True
    assert nums.is_empty().run(conn) is False
    assert r.range(0).is_empty().run(conn) is True
    assert r.range().is_empty().run(conn) is False
    fails(conn, r.expr(1).is_empty(), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_range(conn: Any, r: RethinkDB) -> None:
    assert r.range().type_of().run(conn) == "STREAM"
    assert list(r.range().limit(4).run(conn)) == [0, 1, 2, 3]
    assert list(r.range(4).run(conn)) == [0, 1, 2, 3]
    assert list(r.range(2, 5).run(conn)) == [2, 3, 4]
    assert list(r.range(0).run(conn)) == []
    assert list(r.range(5, 2).run(conn)) == []
    assert list(r.range(-5, -2).run(conn)) == [-5, -4, -3]
    fails(conn, r.range("foo"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.range(0.5), ReqlQueryLogicError, "Number not an integer: 0.5")
    # Integers are doubles: beyond 2^53 they are no longer exact.
    fails(conn, r.range(2**53 + 2), ReqlQueryLogicError, "Number not an integer (>2^53): 9007199254740994")
    fails(conn, r.range(-(2**53) - 2, 0), ReqlQueryLogicError, "Number not an integer (<-2^53): -9007199254740994")
    assert list(r.range(2**53 - 1, 2**53 + 1).run(conn)) == [2**53 - 1]  # 2^53 + 1 arrives as 2^53
    fails(conn, r.range().coerce_to("OBJECT"), ReqlQueryLogicError, INFINITE)


def test_union(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 2]).union([3], [4, 5]).run(conn) == [1, 2, 3, 4, 5]
    assert r.expr([1, 2]).union([3]).type_of().run(conn) == "ARRAY"
    assert r.expr([]).union([]).run(conn) == []
    assert sorted(r.range(2).union([5]).run(conn)) == [0, 1, 5]
    assert r.range(2).union([5]).type_of().run(conn) == "STREAM"
    assert r.expr([1]).union(r.expr([2]).map(lambda x: x * 10), r.range(2)).count().run(conn) == 4


def test_distinct(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.expr([3, 1, 2, 1, 3]).distinct().run(conn) == [1, 2, 3]
    # Equal values collapse (1 == 1.0 but not true), and the result follows ReQL's order of types.
    assert r.expr(["b", 1, "a", 1.0, True, None, [1], {"a": 1}, {"a": 1}]).distinct().run(conn) == [
        [1],
        True,
        None,
        1,
        {"a": 1},
        "a",
        "b",
    ]
    # The distinct values of any sequence are an array; only a table streams them, along an index.
    assert r.range(3).union(r.range(3)).distinct().run(conn) == [0, 1, 2]
    assert r.range(3).distinct().type_of().run(conn) == "ARRAY"
    fails(
        conn, r.expr([1]).distinct(index="x"), ReqlQueryLogicError, "Can only perform an indexed distinct on a TABLE."
    )
    r.table(table).insert([{"id": 1, "g": "x"}, {"id": 2, "g": "y"}, {"id": 3, "g": "x"}]).run(conn)
    assert list(r.table(table)["g"].distinct().run(conn)) == ["x", "y"]
    assert sorted(r.table(table).distinct(index="id").run(conn)) == [1, 2, 3]
    r.table(table).index_create("g").run(conn)
    r.table(table).index_wait("g").run(conn)
    assert list(r.table(table).distinct(index="g").run(conn)) == ["x", "y"]
    assert list(r.table(table).between("y", r.maxval, index="g").distinct(index="g").run(conn)) == ["y"]
    assert [row["id"] for row in r.table(table).distinct().run(conn)] == [1, 2, 3]
    assert r.table(table).distinct().type_of().run(conn) == "STREAM"
    fails(
        conn,
        r.table(table).filter({}).distinct(index="g"),
        ReqlQueryLogicError,
        "Can only perform an indexed distinct on a TABLE.",
    )
