"""order_by: by fields and functions, ascending and descending, across types, and along table indexes."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError, ReqlServerCompileError


@pytest.fixture
def scores(conn: Any, r: RethinkDB, table: str) -> str:
    rows = [
        {"id": 3, "score": 20, "name": "c"},
        {"id": 1, "score": 30, "name": "a"},
        {"id": 2, "score": 10, "name": "b"},
    ]
    r.table(table).insert(rows).run(conn)
    r.table(table).index_create("score").run(conn)
    r.table(table).index_wait("score").run(conn)
    return table


def ids(rows: Any) -> list[Any]:
    return [row["id"] for row in rows]


def test_order_by_field(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 2, "i": 0}, {"a": 1, "i": 1}, {"a": 3, "i": 2}])
    assert [row["i"] for row in rows.order_by("a").run(conn)] == [1, 0, 2]
    assert [row["i"] for row in rows.order_by(r.desc("a")).run(conn)] == [2, 0, 1]
    assert [row["i"] for row in rows.order_by(r.asc("a")).run(conn)] == [1, 0, 2]
    assert rows.order_by("a").type_of().run(conn) == "ARRAY"


def test_order_by_several_keys_and_functions(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 1, "b": 2}, {"a": 1, "b": 1}, {"a": 0, "b": 3}])
    assert rows.order_by("a", "b").run(conn) == [{"a": 0, "b": 3}, {"a": 1, "b": 1}, {"a": 1, "b": 2}]
    assert rows.order_by("a", r.desc("b")).run(conn) == [{"a": 0, "b": 3}, {"a": 1, "b": 2}, {"a": 1, "b": 1}]
    assert r.expr([3, 1, 2]).order_by(lambda x: x * -1).run(conn) == [3, 2, 1]
    assert r.expr([3, 1, 2]).order_by(r.desc(lambda x: x)).run(conn) == [3, 2, 1]
    assert r.expr(["bb", "a", "ccc"]).order_by(r.desc(lambda s: s.count())).run(conn) == ["ccc", "bb", "a"]


def test_rows_without_the_key_sort_first(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 2}, {}, {"a": 1}])
    assert rows.order_by("a").run(conn) == [{}, {"a": 1}, {"a": 2}]
    assert rows.order_by(r.desc("a")).run(conn) == [{"a": 2}, {"a": 1}, {}]
    assert rows.order_by(lambda row: row["a"]).run(conn) == [{}, {"a": 1}, {"a": 2}]
    assert r.expr([{"a": 1, "b": 1}, {"b": 0}, {"a": 1}]).order_by("a", "b").run(conn) == [
        {"b": 0},
        {"a": 1},
        {"a": 1, "b": 1},
    ]
    # Only a missing value is spared: other errors stop the query.
    fails(
        conn,
        r.expr([1, 2]).order_by("a"),
        ReqlQueryLogicError,
        "Cannot perform get_field on a non-object non-sequence `1`.",
    )
    fails(
        conn, r.expr([1, 2]).order_by(lambda x: x + "a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING."
    )


def test_order_by_is_stable(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 1, "i": 0}, {"a": 0, "i": 1}, {"a": 1, "i": 2}, {"a": 0, "i": 3}])
    assert [row["i"] for row in rows.order_by("a").run(conn)] == [1, 3, 0, 2]
    assert [row["i"] for row in rows.order_by(r.desc("a")).run(conn)] == [0, 2, 1, 3]


def test_order_across_types(conn: Any, r: RethinkDB) -> None:
    # arrays < booleans < null < numbers < objects < binary < strings
    mixed = r.expr(["b", {"a": 1}, 2, None, True, [1], False, r.binary(b"x"), 1.5, "a", []])
    expected = [[], [1], False, True, None, 1.5, 2, {"a": 1}, b"x", "a", "b"]
    assert mixed.order_by(lambda x: x).run(conn) == expected
    assert mixed.order_by(r.desc(lambda x: x)).run(conn) == expected[::-1]


def test_order_within_types(conn: Any, r: RethinkDB) -> None:
    assert r.expr([10, 2, -1, 2.5]).order_by(lambda x: x).run(conn) == [-1, 2, 2.5, 10]
    # Strings by code point: upper case before lower case, a prefix before its extensions.
    assert r.expr(["b", "B", "a", "aa", "", "é"]).order_by(lambda x: x).run(conn) == ["", "B", "a", "aa", "b", "é"]
    assert r.expr([[1, 2], [1], [0, 5], []]).order_by(lambda x: x).run(conn) == [[], [0, 5], [1], [1, 2]]
    objects = r.expr([{"b": 0}, {"a": 1}, {"a": 0, "c": 0}, {"a": 0}])
    assert objects.order_by(lambda x: x).run(conn) == [{"a": 0}, {"a": 0, "c": 0}, {"a": 1}, {"b": 0}]
    binaries = r.expr([r.binary(b"\x01"), r.binary(b"\x00\x01"), r.binary(b"")])
    assert binaries.order_by(lambda x: x).run(conn) == [b"", b"\x00\x01", b"\x01"]


def test_minval_and_maxval(conn: Any, r: RethinkDB) -> None:
    def key(x: Any) -> Any:
        return r.branch(x.eq(2), r.minval, x.eq("a"), r.maxval, x)

    values = r.expr([3, "a", [], 2, "b"])
    assert values.order_by(key).run(conn) == [2, [], 3, "b", "a"]
    assert values.order_by(r.desc(key)).run(conn) == ["a", "b", 3, [], 2]
    checks = [r.minval < [], r.minval < False, r.maxval > "zzz", r.maxval > r.binary(b"z"), r.minval < r.maxval]
    assert r.expr(checks).run(conn) == [True] * len(checks)


def test_order_by_errors(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr([1, 2]).order_by(), ReqlQueryLogicError, "Must specify something to order by.")
    fails(conn, r.expr(1).order_by("a"), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(
        conn,
        r.expr([r.desc("a")]),
        ReqlServerCompileError,
        "DESC may only be used as an argument to ORDER_BY or UNION.",
    )
    fails(
        conn,
        r.expr({"a": r.asc("a")}),
        ReqlServerCompileError,
        "ASC may only be used as an argument to ORDER_BY or UNION.",
    )


def test_order_by_index(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    assert ids(t.order_by(index="id").run(conn)) == [1, 2, 3]
    assert ids(t.order_by(index=r.desc("id")).run(conn)) == [3, 2, 1]
    assert ids(t.order_by(index="score").run(conn)) == [2, 3, 1]
    assert ids(t.order_by(index=r.desc("score")).run(conn)) == [1, 3, 2]
    assert t.order_by(index="score").type_of().run(conn) == "TABLE_SLICE"
    assert ids(t.order_by(index="score").limit(2).run(conn)) == [2, 3]
    fails(conn, t.order_by(index="nope"), ReqlOpFailedError, f"Index `nope` was not found on table `test.{scores}`.")
    fails(
        conn,
        t.order_by(index="id").order_by(index="id"),
        ReqlQueryLogicError,
        "Cannot perform multiple indexed ORDER_BYs on the same table.",
    )
    not_a_table = (
        "Indexed order_by can only be performed on a TABLE or TABLE_SLICE. Make sure order_by comes before any "
        "transformations (such as map) or filters."
    )
    fails(conn, t.filter({}).order_by(index="id"), ReqlQueryLogicError, not_a_table)
    fails(conn, t.order_by("id").order_by(index="id"), ReqlQueryLogicError, not_a_table)
    fails(conn, r.expr([{"id": 1}]).order_by(index="id"), ReqlQueryLogicError, not_a_table)
    assert r.expr([]).order_by(index="id").run(conn) == []


def test_order_by_index_and_keys(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    t.insert({"id": 4, "score": 20, "name": "a"}).run(conn)
    # The index orders the rows; the keys only order rows with equal index values.
    assert ids(t.order_by("name", index="score").run(conn)) == [2, 4, 3, 1]
    assert ids(t.order_by(r.desc("name"), index="score").run(conn)) == [2, 3, 4, 1]
    assert ids(t.order_by("name", index=r.desc("score")).run(conn)) == [1, 4, 3, 2]
    assert ids(t.order_by("score", index="id").run(conn)) == [1, 2, 3, 4]
    assert t.order_by("name", index="score").type_of().run(conn) == "SELECTION<STREAM>"


def test_order_by_index_after_between(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    assert ids(t.between(15, 40, index="score").order_by(index="score").run(conn)) == [3, 1]
    assert ids(t.between(15, 40, index="score").order_by(index=r.desc("score")).run(conn)) == [1, 3]
    assert ids(t.between(1, 3).order_by(index=r.desc("id")).run(conn)) == [2, 1]
    fails(
        conn,
        t.between(1, 3).order_by(index="score"),
        ReqlQueryLogicError,
        "Cannot order by index `score` after calling BETWEEN on index `id`.",
    )


def test_order_by_field_on_tables(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    assert ids(t.order_by("score").run(conn)) == [2, 3, 1]
    assert ids(t.order_by(r.desc("name")).run(conn)) == [3, 2, 1]
    assert t.order_by("score").type_of().run(conn) == "SELECTION<ARRAY>"
    assert ids(t.filter(lambda row: row["score"] > 15).order_by("score").run(conn)) == [3, 1]


def test_order_by_refuses_r_args(conn: Any, r: RethinkDB) -> None:
    refused = r.expr([{"x": 2}, {"x": 1}]).order_by(r.args(["x", "y"]))
    fails(conn, refused, ReqlQueryLogicError, "r.args is not supported in an order_by or union command yet.")
    assert r.expr(1).do(r.args([2])).run(conn) == 2  # other terms still take r.args
