"""Joins: eq_join (primary key, secondary and multi indexes, ordered), inner_join and outer_join."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError


@pytest.fixture
def people(conn: Any, r: RethinkDB, table: str) -> Iterator[tuple[str, str]]:
    """`table` holds people with a city id; a second table holds the cities."""
    cities = table + "_cities"
    r.table_create(cities).run(conn)
    r.table(cities).insert([
        {"id": 1, "name": "Oslo", "tags": ["cold", "north"]},
        {"id": 2, "name": "Rome", "tags": ["warm"]},
    ]).run(conn)  # fmt: skip
    r.table(table).insert([
        {"id": "ann", "city": 1, "tag": "north"},
        {"id": "bob", "city": 2, "tag": "warm"},
        {"id": "cid", "city": 3, "tag": "none"},
        {"id": "dan"},
    ]).run(conn)  # fmt: skip
    yield table, cities
    r.table_drop(cities).run(conn)


def test_eq_join_on_the_primary_key(conn: Any, r: RethinkDB, people: tuple[str, str]) -> None:
    persons, cities = people
    joined = r.table(persons).eq_join("city", r.table(cities)).order_by(r.row["left"]["id"])
    assert joined.run(conn) == [
        {
            "left": {"id": "ann", "city": 1, "tag": "north"},
            "right": {"id": 1, "name": "Oslo", "tags": ["cold", "north"]},
        },
        {"left": {"id": "bob", "city": 2, "tag": "warm"}, "right": {"id": 2, "name": "Rome", "tags": ["warm"]}},
    ]
    by_function = r.table(persons).eq_join(lambda p: p["city"], r.table(cities)).zip()["name"]
    assert sorted(by_function.run(conn)) == ["Oslo", "Rome"]
    assert r.table(persons).eq_join(lambda p: None, r.table(cities)).count().run(conn) == 0
    assert r.table(persons).eq_join("nope", r.table(cities)).count().run(conn) == 0
    assert r.table(persons).eq_join("city", r.table(cities)).type_of().run(conn) == "STREAM"


def test_eq_join_through_a_secondary_index(conn: Any, r: RethinkDB, people: tuple[str, str]) -> None:
    persons, cities = people
    r.table(cities).index_create("name").run(conn)
    r.table(cities).index_create("tags", multi=True).run(conn)
    r.table(cities).index_wait().run(conn)
    named = r.expr([{"to": "Rome"}, {"to": "Paris"}]).eq_join("to", r.table(cities), index="name").zip()
    assert named.run(conn) == [{"to": "Rome", "id": 2, "name": "Rome", "tags": ["warm"]}]
    tagged = (
        r.table(persons).eq_join("tag", r.table(cities), index="tags").map([r.row["left"]["id"], r.row["right"]["id"]])
    )
    assert sorted(tagged.run(conn)) == [["ann", 1], ["bob", 2]]
    fails(
        conn,
        r.table(persons).eq_join("city", r.table(cities), index="nope"),
        ReqlOpFailedError,
        f"Index `nope` was not found on table `test.{cities}`.",
    )


def test_ordered_eq_join_keeps_the_left_order(conn: Any, r: RethinkDB, people: tuple[str, str]) -> None:
    persons, cities = people
    ordered = r.table(persons).order_by(r.desc("id")).eq_join("city", r.table(cities), ordered=True)
    assert ordered.map(r.row["left"]["id"]).run(conn) == ["bob", "ann"]
    # An array in gives an array out.
    assert r.expr([{"c": 2}, {"c": 1}]).eq_join("c", r.table(cities)).zip()["name"].run(conn) == ["Rome", "Oslo"]


def test_eq_join_errors(conn: Any, r: RethinkDB, people: tuple[str, str]) -> None:
    persons, cities = people
    fails(
        conn, r.table(persons).eq_join("city", r.expr([1])), ReqlQueryLogicError, "Expected type TABLE but found DATUM:"
    )
    fails(conn, r.expr(1).eq_join("city", r.table(cities)), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(
        conn,
        r.table(persons).eq_join("city", r.table(cities), ordered="yes"),
        ReqlQueryLogicError,
        "Expected type BOOL but found STRING.",
    )


def test_inner_join(conn: Any, r: RethinkDB) -> None:
    left = r.expr([{"a": 1}, {"a": 2}, {"a": 3}])
    right = r.expr([{"b": 2}, {"b": 3}, {"b": 3}])
    assert left.inner_join(right, lambda x, y: x["a"] == y["b"]).run(conn) == [
        {"left": {"a": 2}, "right": {"b": 2}},
        {"left": {"a": 3}, "right": {"b": 3}},
        {"left": {"a": 3}, "right": {"b": 3}},
    ]
    assert left.inner_join(right, lambda x, y: x["a"] < y["b"]).count().run(conn) == 5
    assert left.inner_join(r.range(3), lambda x, y: x["a"] == y).run(conn) == [
        {"left": {"a": 1}, "right": 1},
        {"left": {"a": 2}, "right": 2},
    ]
    assert r.range(3).inner_join(r.range(3), lambda x, y: x == y).type_of().run(conn) == "STREAM"
    fails(
        conn,
        left.inner_join(right, lambda x, y: x["c"] == y["b"]),
        ReqlNonExistenceError,
        'No attribute `c` in object:\n{\n\t"a":\t1\n}',
    )


def test_outer_join(conn: Any, r: RethinkDB) -> None:
    left = r.expr([{"a": 1}, {"a": 2}, {"a": 3}])
    right = r.expr([{"b": 2}, {"b": 3}])
    assert left.outer_join(right, lambda x, y: x["a"] == y["b"]).run(conn) == [
        {"left": {"a": 1}},
        {"left": {"a": 2}, "right": {"b": 2}},
        {"left": {"a": 3}, "right": {"b": 3}},
    ]
    assert left.outer_join(right, lambda x, y: x["a"] == y["b"]).zip().run(conn) == [
        {"a": 1},
        {"a": 2, "b": 2},
        {"a": 3, "b": 3},
    ]
    assert left.outer_join(r.expr([]), lambda x, y: True).run(conn) == [
        {"left": {"a": 1}},
        {"left": {"a": 2}},
        {"left": {"a": 3}},
    ]


def test_joins_of_tables(conn: Any, r: RethinkDB, people: tuple[str, str]) -> None:
    persons, cities = people
    inner = r.table(persons).inner_join(r.table(cities), lambda p, c: p["city"].default(0) == c["id"])
    assert sorted(inner.zip()["name"].run(conn)) == ["Oslo", "Rome"]
    outer = r.table(persons).outer_join(r.table(cities), lambda p, c: p["city"].default(0) == c["id"])
    assert outer.count().run(conn) == 4
    assert sorted(outer.zip()["id"].run(conn), key=str) == [1, 2, "cid", "dan"]  # zip: the right id wins
