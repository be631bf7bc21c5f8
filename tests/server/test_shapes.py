"""Small queries of a shape seen before reuse its compiled tree (evaluation/shapes.py): each still answers with its own
values, errors and all, whatever came before it, exactly as the same query answers on a worker thread (soft
durability answers on the event loop, hard on a worker thread, which compiles every query afresh)."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlPermissionError, ReqlQueryLogicError
from servers import ServerProcess

r = RethinkDB()


def outcome(query: Any, conn: Any, **options: Any) -> Any:
    """The query's result, or its error's class and message."""
    try:
        return query.run(conn, **options)
    except Exception as error:
        return type(error).__name__, str(error)


def test_point_gets_of_one_shape_answer_each_with_its_own_key(conn: Any, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": 1, "v": "one"}, {"id": "a", "v": "letter"}, {"id": 2.5, "v": [1, 2]}]).run(conn)
    assert [t.get(key).run(conn) for key in (1, "a", 3, 2.5, 1)] == [
        {"id": 1, "v": "one"}, {"id": "a", "v": "letter"}, None, {"id": 2.5, "v": [1, 2]}, {"id": 1, "v": "one"},
    ]  # fmt: skip
    assert [t.get(key)["v"].run(conn) for key in (1, "a")] == ["one", "letter"]
    # A key that is no key fails, and the shape's next query still answers with its own key.
    with pytest.raises(ReqlNonExistenceError, match=r"^Keys cannot be NULL"):
        t.get(None).run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"^Primary keys must be either a number, string, bool"):
        t.get({"an": "object"}).run(conn)
    assert t.get(1)["v"].run(conn) == "one"
    with pytest.raises(ReqlNonExistenceError, match=r"^No attribute `v` in object"):
        r.table(table).insert({"id": 3}).run(conn)
        t.get(3)["v"].run(conn)
    assert t.get("a")["v"].run(conn) == "letter"


def test_writes_of_one_shape_answer_each_for_their_own_values(conn: Any, table: str) -> None:
    def writes(durability: str) -> list[Any]:
        t = r.table(table)
        queries = [
            t.insert({"id": 1, "v": 1}),
            t.insert({"id": 1, "v": 2}),  # a duplicate
            t.insert({"id": 2, "v": {"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}}),  # no plain object
            t.insert({"id": 3, "v": {"$reql_type$": "other"}}),  # the same keys: an error this time
            t.insert({"id": 4, "v": {"reql_type": "TIME", "epoch_time": 0, "timezone": "+00:00"}}),
            t.insert({"id": 5, "v": [1, {"a": 2}]}),
            t.insert({"id": 6, "v": [3]}),
            t.insert({"id": 2**60, "v": 2**60 + 1}),  # numbers beyond a double's integers, read as doubles
            t.insert({"id": None}),
            t.get(1).update({"v": 10}),
            t.get(1).update({"v": 10}),  # unchanged
            t.get(7).update({"v": 10}),  # skipped
            t.get(5).replace({"id": 5, "w": True}),
            t.get(5).replace({"id": 6}),  # the primary key may not change
            t.get(6).delete(),
            t.get(6).delete(),
            t.insert({"id": 8}, conflict="update"),
            t.insert({"id": 8, "x": 1}, conflict="update", return_changes=True),
            t.insert({"id": 9}, conflict="nonsense"),
            t.insert({"id": 10}, return_changes="sometimes"),
        ]
        out = [outcome(query, conn, durability=durability) for query in queries]
        out.append(outcome(t.order_by("id"), conn))
        t.delete().run(conn)
        return out

    soft = writes("soft")
    assert soft == writes("hard")
    assert soft[3][1].startswith("Unknown $reql_type$ `PTYPE<other>` in:")
    assert soft[7]["inserted"] == 1


def test_a_query_that_fails_to_compile_fails_alike_every_time(conn: Any, table: str) -> None:
    t = r.table(table)
    for _ in range(3):
        with pytest.raises(ReqlOpFailedError, match=r"^Table `test\.nowhere` does not exist"):
            r.table("nowhere").get(1).run(conn)
    failures = [outcome(t.insert({"id": 1}, nonsense=True), conn, durability="soft") for _ in range(3)]
    assert failures[0][0] == "ReqlServerCompileError"
    assert failures[0][1].startswith("Unrecognized optional argument `nonsense` in:")
    assert failures == [failures[0]] * 3
    assert t.count().run(conn) == 0


def test_global_optargs_apply_to_each_query_of_a_shape(conn: Any, table: str) -> None:
    r.db_create("shapes_other").run(conn)
    try:
        r.db("shapes_other").table_create(table).run(conn)
        r.db("shapes_other").table(table).insert({"id": 1, "db": "other"}).run(conn)
        r.table(table).insert({"id": 1, "db": "test"}).run(conn)
        t = r.table(table)
        assert t.get(1)["db"].run(conn) == "test"
        assert t.get(1)["db"].run(conn, db="shapes_other") == "other"
        assert t.get(1)["db"].run(conn) == "test"
        assert t.get(1)["db"].run(conn, read_mode="outdated") == "test"
        with pytest.raises(ReqlQueryLogicError, match=r"^Read mode `nonsense` unrecognized"):
            r.table(table, read_mode="nonsense").get(1).run(conn)
        assert r.table(table, read_mode="single").get(1)["db"].run(conn) == "test"
    finally:
        r.db_drop("shapes_other").run(conn)


def test_each_query_of_a_shape_is_checked_against_its_users_permissions(private: ServerProcess) -> None:
    admin = r.connect(port=private.port)
    r.db("rethinkdb").table("users").insert({"id": "bob", "password": "pw"}).run(admin)
    for name in ("open", "closed"):
        r.table_create(name).run(admin)
        r.table(name).insert({"id": 1, "v": name}).run(admin)
    r.table("open").grant("bob", {"read": True, "write": True}).run(admin)
    bob = r.connect(port=private.port, user="bob", password="pw")
    for _ in range(2):
        assert r.table("open").get(1)["v"].run(bob) == "open"
        assert r.table("closed").get(1)["v"].run(admin) == "closed"
        with pytest.raises(ReqlPermissionError, match=r"^User `bob` does not have the required `read` permission"):
            r.table("closed").get(1)["v"].run(bob)
        assert r.table("open").insert({"v": 1}).run(bob, durability="soft")["inserted"] == 1
        with pytest.raises(ReqlPermissionError, match=r"^User `bob` does not have the required `write` permission"):
            r.table("closed").insert({"v": 1}).run(bob, durability="soft")
    assert r.table("closed").count().run(admin) == 1
    bob.close()
    admin.close()
