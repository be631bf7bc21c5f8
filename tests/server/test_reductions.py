"""Reductions: sum, avg, reduce, fold, and min and max (of values, by field or function, and along a table's
index)."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import INFINITE, fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError


def empty(name: str, noun: str | None = None) -> str:
    return (
        f"Cannot take the {noun or name} of an empty stream.  "
        f"(If you passed `{name}` a field name, it may be that no elements of the stream had that field.)"
    )


@pytest.fixture
def scores(conn: Any, r: RethinkDB, table: str) -> str:
    rows = [{"id": 1, "score": 30}, {"id": 2, "score": 10}, {"id": 3, "score": 20}, {"id": 4}]
    r.table(table).insert(rows).run(conn)
    r.table(table).index_create("score").run(conn)
    r.table(table).index_wait("score").run(conn)
    return table


def test_min_and_max_of_values(conn: Any, r: RethinkDB) -> None:
    assert r.expr([3, 1, 2]).min().run(conn) == 1
    assert r.expr([3, 1, 2]).max().run(conn) == 3
    assert r.expr([2.5, -1, 2]).min().run(conn) == -1
    assert r.range(5).max().run(conn) == 4
    # Values of different types compare in ReQL's order of types.
    assert r.expr([3, "a", None, [1], {"a": 1}]).min().run(conn) == [1]
    assert r.expr([3, "a", None, [1], {"a": 1}]).max().run(conn) == "a"
    assert r.expr(["b", "B", "a"]).min().run(conn) == "B"


def test_min_and_max_by_field(conn: Any, r: RethinkDB) -> None:
    rows = r.expr([{"a": 3, "i": 0}, {"a": 1, "i": 1}, {"b": 0, "i": 2}, {"a": 5, "i": 3}])
    assert rows.min("a").run(conn) == {"a": 1, "i": 1}
    assert rows.max("a").run(conn) == {"a": 5, "i": 3}
    # Rows without the field take no part.
    assert rows.min("b").run(conn) == {"b": 0, "i": 2}
    ties = r.expr([{"a": 1, "i": 0}, {"a": 1, "i": 1}])
    assert ties.min("a").run(conn) == {"a": 1, "i": 0}
    assert ties.max("a").run(conn) == {"a": 1, "i": 0}


def test_min_and_max_by_function(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, -5, 3]).min(lambda x: x * x).run(conn) == 1
    assert r.expr([1, -5, 3]).max(lambda x: x * x).run(conn) == -5
    assert r.expr(["ccc", "a", "bb"]).max(lambda s: s.count()).run(conn) == "ccc"
    rows = r.expr([{"a": {"b": 2}}, {"a": {"b": 1}}, {"c": 0}])
    assert rows.min(lambda row: row["a"]["b"]).run(conn) == {"a": {"b": 1}}


def test_empty_sequences(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr([]).min(), ReqlNonExistenceError, empty("min"))
    fails(conn, r.expr([]).max(), ReqlNonExistenceError, empty("max"))
    fails(conn, r.range(0).min(), ReqlNonExistenceError, empty("min"))
    fails(conn, r.expr([{"b": 1}]).max("a"), ReqlNonExistenceError, empty("max"))
    assert r.expr([]).min().default("none").run(conn) == "none"
    assert r.expr([{"b": 1}]).max("a").default(None).run(conn) is None


def test_errors(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1).min(), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(conn, r.expr("abc").max(), ReqlQueryLogicError, "Cannot convert STRING to SEQUENCE")
    fails(
        conn,
        r.range().max(),
        ReqlQueryLogicError,
        "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) "
        "or coerce it to an array.",
    )
    fails(conn, r.expr([1, 2]).max(lambda x: x + "a"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    # Only rows without the field are skipped; rows that are not objects are errors.
    fails(
        conn, r.expr([1, 2]).min("a"), ReqlQueryLogicError, "Cannot perform get_field on a non-object non-sequence `1`."
    )
    assert r.expr([None, {"a": 1}]).min("a").run(conn) == {"a": 1}
    assert r.expr([None, 1]).min().run(conn) is None


def test_min_and_max_of_tables_by_field(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    assert t.min("score").run(conn) == {"id": 2, "score": 10}
    assert t.max("score").run(conn) == {"id": 1, "score": 30}
    assert t.filter(lambda row: row["score"] > 15).min("score").run(conn) == {"id": 3, "score": 20}
    assert t.max(lambda row: row["score"].default(100))["id"].run(conn) == 4


def test_min_and_max_along_an_index(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    assert t.min(index="score").run(conn) == {"id": 2, "score": 10}
    assert t.max(index="score").run(conn) == {"id": 1, "score": 30}
    assert t.min(index="id").run(conn) == {"id": 1, "score": 30}
    assert t.max(index="id").run(conn) == {"id": 4}
    assert t.min(index="score").type_of().run(conn) == "SELECTION<OBJECT>"
    fails(conn, t.min(index="nope"), ReqlOpFailedError, f"Index `nope` was not found on table `test.{scores}`.")
    fails(
        conn, t.min("score", index="score"), ReqlQueryLogicError, "Cannot provide both a function and an index to min."
    )
    fails(
        conn,
        t.max(lambda row: row["score"], index="score"),
        ReqlQueryLogicError,
        "Cannot provide both a function and an index to max.",
    )


def test_min_and_max_of_a_whole_table_go_by_primary_key(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    fails(conn, t.min(), ReqlNonExistenceError, "`min` found no entries in the specified index.")
    fails(conn, t.max(index="id"), ReqlNonExistenceError, "`max` found no entries in the specified index.")
    fails(conn, t.min(index="id"), ReqlNonExistenceError, "`min` found no entries in the specified index.")
    # By whole rows {"a": 0, ...} would come first and {"a": 9, ...} last; by primary key it is the other way round.
    t.insert([{"id": 1, "a": 9}, {"id": 2, "a": 0}]).run(conn)
    assert t.min().run(conn) == {"id": 1, "a": 9}
    assert t.max().run(conn) == {"id": 2, "a": 0}
    assert t.min().type_of().run(conn) == "SELECTION<OBJECT>"
    assert t.filter({}).min().run(conn) == {"id": 2, "a": 0}  # any other sequence compares whole rows


def test_index_min_is_a_selection_that_can_be_written(conn: Any, r: RethinkDB, scores: str) -> None:
    t = r.table(scores)
    result = t.max(index="score").update({"top": True}).run(conn)
    assert result["replaced"] == 1
    assert t.get(1).run(conn) == {"id": 1, "score": 30, "top": True}
    assert t.min(index="score").delete().run(conn)["deleted"] == 1
    assert t.get(2).run(conn) is None


@pytest.fixture
def rows(conn: Any, r: RethinkDB, table: str) -> str:
    """Twenty rows, `a` cycling 0..3; rows with an odd id also have `b`."""
    docs = [{"id": i, "a": i % 4, **({"b": i} if i % 2 else {})} for i in range(20)]
    r.table(table).insert(docs).run(conn)
    return table


def test_sum_and_avg(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.sum("a").run(conn) == 30
    assert t.avg("a").run(conn) == 1.5
    assert t.sum(lambda row: row["id"] * 2).run(conn) == 380
    assert t.map(r.row["a"]).sum().run(conn) == 30
    assert r.expr([0.1, 0.2]).sum().run(conn) == 0.1 + 0.2
    assert r.expr([]).sum().run(conn) == 0
    assert r.expr([1, 2]).avg().run(conn) == 1.5
    assert t.sum("b").run(conn) == 100  # rows without the field take no part
    assert t.avg("b").run(conn) == 10
    fails(conn, r.expr([]).avg(), ReqlNonExistenceError, empty("avg", "average"))
    fails(conn, t.avg("nope"), ReqlNonExistenceError, empty("avg", "average"))
    fails(conn, r.expr([1, "a"]).sum(), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    # A null is a missing value to RethinkDB: skipped like a missing field.
    assert r.expr([None, 2]).sum().run(conn) == 2
    fails(conn, r.expr([{"a": None}]).avg("a"), ReqlNonExistenceError, empty("avg", "average"))
    fails(conn, r.range().sum(), ReqlQueryLogicError, INFINITE)


def test_reduce(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.map(r.row["id"]).reduce(lambda x, y: x + y).run(conn) == 190
    assert r.expr([1]).reduce(lambda x, y: x + y).run(conn) == 1
    assert r.expr(["a", "b", "c"]).reduce(lambda x, y: x + y).run(conn) == "abc"
    fails(conn, r.expr([]).reduce(lambda x, y: x + y), ReqlNonExistenceError, "Cannot reduce over an empty stream.")
    assert r.expr([]).reduce(lambda x, y: x + y).default(0).run(conn) == 0
    fails(conn, r.range().reduce(lambda x, y: x + y), ReqlQueryLogicError, INFINITE)
    fails(
        conn,
        r.expr([1, 2]).reduce(lambda x: x),
        ReqlQueryLogicError,
        "Expected function with 2 arguments but found function with 1 argument.",
    )


def test_fold(conn: Any, r: RethinkDB, rows: str) -> None:
    count = lambda acc, _row: acc + 1  # noqa: E731
    assert r.range(10).fold(0, count).run(conn) == 10
    assert r.range(10).fold(0, count, final_emit=lambda acc: acc * 2).run(conn) == 20
    assert r.expr([]).fold("base", count).run(conn) == "base"
    emitted = r.range(5).fold(0, count, emit=lambda old, row, acc: [[old, row, acc]])
    assert emitted.type_of().run(conn) == "STREAM"
    assert list(emitted.run(conn)) == [[0, 0, 1], [1, 1, 2], [2, 2, 3], [3, 3, 4], [4, 4, 5]]
    last = r.range(4).fold(0, count, emit=lambda old, row, acc: [], final_emit=lambda acc: [acc])
    assert list(last.run(conn)) == [4]
    assert r.expr([1, 2]).fold(0, lambda acc, row: acc + row, emit=lambda o, row, a: [a]).run(conn) == [1, 3]
    # Lazy: an infinite stream can be folded as far as it is read.
    assert list(r.range().fold(0, count, emit=lambda old, row, acc: [acc]).limit(3).run(conn)) == [1, 2, 3]
    assert r.table(rows).fold(0, lambda acc, row: acc + row["id"]).run(conn) == 190
    fails(
        conn,
        r.range(3).fold(0, count, emit=lambda old, row, acc: acc),
        ReqlQueryLogicError,
        "Expected type ARRAY but found NUMBER.",
    )
    fails(
        conn,
        r.range(3).fold(0, count, emit=lambda old, row, acc: r.range()),
        ReqlQueryLogicError,
        "Expected type DATUM but found SEQUENCE:",
    )
    fails(conn, r.range().fold(0, count), ReqlQueryLogicError, INFINITE)
