"""Grouping: group (by fields, functions, several keys, multi, an index) and ungroup, the reductions of each group,
and the other terms after a group, run on each group."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import INFINITE, fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError, ReqlResourceLimitError


@pytest.fixture
def rows(conn: Any, r: RethinkDB, table: str) -> str:
    """Twenty rows, `a` cycling 0..3; rows with an odd id also have `b`."""
    docs = [{"id": i, "a": i % 4, **({"b": i} if i % 2 else {})} for i in range(20)]
    r.table(table).insert(docs).run(conn)
    return table


def test_group_and_reduce_each_group(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.group("a").count().run(conn) == {0: 5, 1: 5, 2: 5, 3: 5}
    assert t.group("a").sum("id").run(conn) == {0: 40, 1: 45, 2: 50, 3: 55}
    assert t.group("a").avg("id").run(conn) == {0: 8, 1: 9, 2: 10, 3: 11}
    assert t.group("a").min("id").run(conn)[3] == {"id": 3, "a": 3, "b": 3}
    assert t.group("a").max(lambda row: row["id"])["id"].run(conn) == {0: 16, 1: 17, 2: 18, 3: 19}
    assert t.group(lambda row: row["a"]).map(r.row["id"]).reduce(lambda x, y: x + y).run(conn) == {
        0: 40,
        1: 45,
        2: 50,
        3: 55,
    }
    assert t.group("a").count(lambda row: row["id"] > 10).run(conn) == {0: 2, 1: 2, 2: 2, 3: 3}
    assert r.expr([1, 1, 2]).group(r.row).count(1).run(conn) == {1: 2}
    # Groups all of whose rows lack the field are left out.
    assert t.group("a").sum("b").run(conn) == {1: 45, 3: 55}
    assert t.group("a").avg("b").run(conn) == {1: 9, 3: 11}


def test_group_format_raw(conn: Any, r: RethinkDB, rows: str) -> None:
    result = r.table(rows).group("a").count().run(conn, group_format="raw")
    assert result == {"$reql_type$": "GROUPED_DATA", "data": [[0, 5], [1, 5], [2, 5], [3, 5]]}
    grouped = r.expr([{"a": 1, "i": 0}, {"a": 1, "i": 1}, {"i": 2}]).group("a").run(conn, group_format="raw")
    assert grouped == {
        "$reql_type$": "GROUPED_DATA",
        "data": [[None, [{"i": 2}]], [1, [{"a": 1, "i": 0}, {"a": 1, "i": 1}]]],
    }


def test_group_keys(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.group("a", lambda row: row["id"] % 2).count().run(conn) == {
        (0, 0): 5,
        (1, 1): 5,
        (2, 0): 5,
        (3, 1): 5,
    }
    # A constant groups every row under itself; a missing field groups under null.
    assert t.group("a", None).count().ungroup()["group"].run(conn) == [[0, None], [1, None], [2, None], [3, None]]
    assert t.group("b").count().run(conn)[None] == 10
    # multi: each element of an array value is a group of its own, an empty array is null.
    multi = r.expr([{"t": [1, 2]}, {"t": [2]}, {"t": []}, {"t": 3}]).group("t", multi=True).count()
    assert multi.run(conn) == {None: 1, 1: 1, 2: 2, 3: 1}
    assert r.expr([{"t": [1, 2]}]).group("t").count().run(conn) == {(1, 2): 1}
    combos = r.expr([{"x": [1, 2], "y": ["a", "b"]}]).group("x", "y", multi=True).count().ungroup()["group"]
    assert combos.run(conn) == [[1, "a"], [1, "b"], [2, "a"], [2, "b"]]


def test_group_by_index(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    t.index_create("a").run(conn)
    t.index_wait("a").run(conn)
    assert t.group(index="a").count().run(conn) == {0: 5, 1: 5, 2: 5, 3: 5}
    assert t.group(index="id").count().run(conn) == dict.fromkeys(range(20), 1)
    assert t.group("b", index="a").count().run(conn)[(None, 0)] == 5
    fails(conn, t.group(index="nope"), ReqlOpFailedError, f"Index `nope` was not found on table `test.{rows}`.")
    fails(conn, r.expr([1]).group(index="a"), ReqlQueryLogicError, "Expected type TABLE but found DATUM:")


def test_terms_after_group_run_per_group(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.group("a").type_of().run(conn) == "GROUPED_STREAM"
    assert t.group("a").count().type_of().run(conn) == "GROUPED_DATA"
    assert t.group("a").coerce_to("array").type_of().run(conn) == "GROUPED_DATA"
    assert t.group("a").count().do(lambda n: n * 10).run(conn) == {0: 50, 1: 50, 2: 50, 3: 50}
    assert t.group("a").count().add(1).run(conn) == {0: 6, 1: 6, 2: 6, 3: 6}
    assert t.filter(lambda row: row["id"] < 8).group("a")["id"].run(conn) == {
        0: [0, 4],
        1: [1, 5],
        2: [2, 6],
        3: [3, 7],
    }
    assert t.group("a").filter(lambda row: row["id"] > 15).pluck("id").run(conn) == {
        0: [{"id": 16}],
        1: [{"id": 17}],
        2: [{"id": 18}],
        3: [{"id": 19}],
    }
    # Terms that are not row-wise see each group's rows as an array.
    assert t.group("a").order_by(r.desc("id")).limit(2)["id"].run(conn) == {
        0: [16, 12],
        1: [17, 13],
        2: [18, 14],
        3: [19, 15],
    }
    assert t.group("a").nth(0)["id"].run(conn) == {0: 0, 1: 1, 2: 2, 3: 3}
    assert t.group("a")["a"].distinct().run(conn) == {0: [0], 1: [1], 2: [2], 3: [3]}
    # A filter that drops all rows of a group drops the group.
    assert t.group("a").filter(lambda row: row["a"] > 1).count().run(conn) == {2: 5, 3: 5}


def test_ungroup(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    assert t.group("a").count().ungroup().run(conn) == [{"group": g, "reduction": 5} for g in range(4)]
    assert t.group("a").ungroup()["group"].run(conn) == [0, 1, 2, 3]
    ordered = t.group("a").count().ungroup().order_by(r.desc("group"))["group"]
    assert ordered.run(conn) == [3, 2, 1, 0]
    assert r.expr([]).group("a").count().ungroup().run(conn) == []
    fails(conn, r.expr([1]).ungroup(), ReqlQueryLogicError, "Expected type GROUPED_DATA but found DATUM:")


def test_group_errors(conn: Any, r: RethinkDB, rows: str) -> None:
    t = r.table(rows)
    fails(conn, t.group(), ReqlQueryLogicError, "Cannot group by nothing.")
    fails(conn, r.range().group(r.row).count(), ReqlQueryLogicError, INFINITE)
    fails(
        conn,
        t.group("a").count().ungroup().ungroup(),
        ReqlQueryLogicError,
        "Expected type GROUPED_DATA but found DATUM:",
    )
    with pytest.raises(ReqlResourceLimitError, match=r"^Too many groups \(> 5\) in"):
        t.group("id").count().run(conn, array_limit=5)
    with pytest.raises(ReqlResourceLimitError, match=r"Grouped data over size limit `5`\.  Try putting a reduction"):
        t.group("a").run(conn, array_limit=5)
    assert t.group("id").count().run(conn, array_limit=20) == dict.fromkeys(range(20), 1)
