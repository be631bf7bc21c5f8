"""Reading tables: get, get_all and between, on primary keys and secondary indexes."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError
from servers import ServerProcess, run_async


@pytest.fixture
def people(conn: Any, r: RethinkDB, table: str) -> str:
    r.table(table).insert([{"id": i, "name": f"p{i}", "group": i % 3} for i in range(20)]).run(conn)
    return table


def ids(rows: Any) -> list[Any]:
    return [row["id"] for row in rows]


def test_get(conn: Any, r: RethinkDB, people: str) -> None:
    assert r.table(people).get(3).run(conn) == {"id": 3, "name": "p3", "group": 0}
    assert r.table(people).get(99).run(conn) is None
    assert r.table(people).get(3).type_of().run(conn) == "SELECTION<OBJECT>"
    with pytest.raises(ReqlQueryLogicError, match="Primary keys must be either"):
        r.table(people).get({"a": 1}).run(conn)


def test_get_all(conn: Any, r: RethinkDB, people: str) -> None:
    assert ids(r.table(people).get_all(1, 5, 99).run(conn)) == [1, 5]
    assert r.table(people).get_all(1).type_of().run(conn) == "SELECTION<STREAM>"
    with pytest.raises(ReqlNonExistenceError, match=r"Keys cannot be NULL."):
        r.table(people).get_all(None).run(conn)
    with pytest.raises(ReqlOpFailedError, match="Index `nope` was not found"):
        r.table(people).get_all(1, index="nope").run(conn)


def test_between_primary_key_bounds(conn: Any, r: RethinkDB, people: str) -> None:
    t = r.table(people)
    assert ids(t.between(3, 6).run(conn)) == [3, 4, 5]
    assert ids(t.between(3, 6, left_bound="open", right_bound="closed").run(conn)) == [4, 5, 6]
    assert ids(t.between(r.minval, 2).run(conn)) == [0, 1]
    assert ids(t.between(18, r.maxval).run(conn)) == [18, 19]
    assert t.between(3, 6).type_of().run(conn) == "TABLE_SLICE"
    with pytest.raises(ReqlQueryLogicError, match=r"Cannot perform multiple BETWEENs on the same table."):
        t.between(1, 5).between(2, 3).run(conn)


def test_between_after_an_indexed_order_by(conn: Any, r: RethinkDB, people: str) -> None:
    t = r.table(people)
    assert ids(t.order_by(index=r.desc("id")).between(r.minval, 3).run(conn)) == [2, 1, 0]
    with pytest.raises(ReqlQueryLogicError, match=r"Cannot perform multiple BETWEENs on the same table."):
        t.between(r.minval, r.maxval).order_by(index="id").between(1, 2).run(conn)
    t.index_create("group").run(conn)
    t.index_wait("group").run(conn)
    # Without `index`, the between uses the order's index.
    assert ids(t.order_by(index="group").between(1, 2).run(conn)) == [1, 4, 7, 10, 13, 16, 19]
    with pytest.raises(
        ReqlQueryLogicError, match=r"Cannot call BETWEEN on index `id` after ordering on index `group`."
    ):
        t.order_by(index="group").between(1, 2, index="id").run(conn)


def test_use_outdated_is_refused(conn: Any, r: RethinkDB, people: str) -> None:
    message = r"^The `use_outdated` optarg is no longer supported.  Use the `read_mode` optarg instead."
    with pytest.raises(ReqlQueryLogicError, match=message):
        r.table(people, use_outdated=True).run(conn)
    with pytest.raises(ReqlQueryLogicError, match=message):
        r.table(people).run(conn, use_outdated=True)
    assert r.expr(1).run(conn, use_outdated=True) == 1


def test_between_secondary_index(conn: Any, r: RethinkDB, people: str) -> None:
    t = r.table(people)
    t.index_create("group").run(conn)
    assert ids(t.between(1, 2, index="group").run(conn)) == [1, 4, 7, 10, 13, 16, 19]
    assert sorted(ids(t.get_all(2, index="group").run(conn))) == [2, 5, 8, 11, 14, 17]


def test_reads_across_types_of_keys(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    keys = [True, -1.5, 2, "b", "a", [1, 2], [1]]
    t.insert([{"id": k} for k in keys]).run(conn)
    assert ids(t.run(conn)) == [[1], [1, 2], True, -1.5, 2, "a", "b"]
    assert t.get([1, 2]).run(conn) == {"id": [1, 2]}


def test_asyncio_reads(server: ServerProcess, people: str) -> None:
    async def body(r: RethinkDB, conn: Any) -> Any:
        return await r.table(people).get(7).run(conn)

    assert run_async(server, "asyncio", body)["name"] == "p7"


def test_index_values_holding_minval_or_maxval_leave_the_document_out(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("min", lambda row: r.minval).run(conn)
    t.index_create("max_arr", lambda row: [row["id"], r.maxval]).run(conn)
    t.index_create("kept", lambda row: [row["id"]]).run(conn)
    t.index_wait().run(conn)
    assert t.insert({"id": 1})["inserted"].run(conn) == 1
    assert t.order_by(index="min").count().run(conn) == 0
    assert t.order_by(index="max_arr").count().run(conn) == 0
    assert t.get_all([1], index="kept").count().run(conn) == 1
