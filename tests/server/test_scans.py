"""Reading many rows: a table's documents sent as the text storage keeps (the same bytes as ever), snapshots of
changefeeds, grouping and eq_join on the primary key, each as a user reads them."""

from __future__ import annotations

import re
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from raw_client import exactly, raw_connect, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlPermissionError, ReqlQueryLogicError
from servers import ServerProcess

# Documents whose text a client could tell apart if it were written otherwise: numbers of every form (integral
# doubles, -0.0, small and big doubles, integers past 2^53 and past 64 bits), keys out of order and beyond ASCII,
# strings that look like numbers (a UUID's "4e-5"), numbers first in an array, nulls, times, binary data, nesting.
TRICKY: list[dict[str, Any]] = [
    {"id": 1, "whole": 5.0, "zero": -0.0, "small": 1e-05, "smaller": 1.5e-7, "edge": 0.0001, "third": 0.1 + 0.2},
    {"id": 2, "big": 1e16, "huge": 1.5e300, "past53": 2**53 + 1, "past63": 2**63, "past64": 2**70, "neg": -(2**60)},
    {"id": 2.5, "big": 1e16, "third": 0.1 + 0.2, "none": None, "controls": "\x1f\x08\x0c\x7f\u2028 \u00e9"},
    {"id": 3, "z": {"y": [1.0, {"b": None, "a": 2.5}], "x": []}, "é": "ü", "Z": "😀", "a b": "x.0 e-5 e+7 0.00001"},
    {"id": 4, "nothing": None, "flag": True, "text": 'quote " backslash \\ tab \t nul \x00 line \n'},
    {"id": "five", "when": {"$reql_type$": "TIME", "epoch_time": 1.0, "timezone": "+00:00"}, "n": 12.0},
    {"id": "3f2b1c4e-5a6d-4e7f-8a9b-0c1d2e3f4a5b", "first": [[-1.5e-7]]},
    *({"id": 7 + i, "first": [number]} for i, number in enumerate((-1e-05, 5.0, -(2**70)))),
]


def reply_rows(sock: socket.socket, token: int, query: Any) -> list[bytes]:
    """The text of each row a query's cursor sends, one row to a batch, as it came over the wire."""
    send(sock, token, f'[1,{ReQLEncoder().encode(query)},{{"max_batch_rows":1}}]'.encode())
    rows: list[bytes] = []
    while True:
        _, size = struct.unpack("<qL", exactly(sock, 12))
        reply = exactly(sock, size)
        found = re.fullmatch(rb'\{"t":(\d+),"r":\[(.*)\],"n":\[[0-9,]*\]\}', reply, re.DOTALL)
        assert found is not None, reply
        if found[2]:
            rows.append(found[2])
        if found[1] != b"3":  # not SUCCESS_PARTIAL: the last batch
            return rows
        send(sock, token, b"[2]")


def feed_rows(sock: socket.socket, token: int, query: Any) -> list[bytes]:
    """The initial docs of a feed, as their text came over the wire, up to its `ready` state."""
    send(sock, token, f'[1,{ReQLEncoder().encode(query)},{{"max_batch_rows":1}}]'.encode())
    rows: list[bytes] = []
    while True:
        _, size = struct.unpack("<qL", exactly(sock, 12))
        found = re.fullmatch(rb'\{"t":3,"r":\[(.*)\],"n":\[[0-9,]*\]\}', exactly(sock, size), re.DOTALL)
        assert found is not None
        if found[1].startswith(b'{"state":"ready"'):
            send(sock, token, b"[3]")  # STOP, answered with an empty sequence
            exactly(sock, struct.unpack("<qL", exactly(sock, 12))[1])
            return rows
        if found[1] and not found[1].startswith(b'{"state"'):
            rows.append(found[1])
        send(sock, token, b"[2]")


def test_a_tables_rows_come_as_the_same_bytes_as_rows_a_query_made(
    server: ServerProcess, conn: Any, r: RethinkDB, table: str
) -> None:
    t = r.table(table)
    t.insert(TRICKY).run(conn)
    t.index_create("n").run(conn)
    t.index_wait().run(conn)
    sock = raw_connect(server)
    try:
        # A map that changes nothing makes each document and encodes it, as every reply did before.
        made = reply_rows(sock, 1, t.map(lambda doc: doc))
        assert len(made) == len(TRICKY)
        assert reply_rows(sock, 2, t) == made
        assert reply_rows(sock, 3, t.between(2, r.maxval)) == made[1:]
        assert reply_rows(sock, 4, t.order_by(index=r.desc("id"))) == made[::-1]
        by_n = reply_rows(sock, 5, t.order_by(index="n").map(lambda doc: doc))
        assert reply_rows(sock, 6, t.order_by(index="n")) == by_n
    finally:
        sock.close()
    assert t.get(1).run(conn) == TRICKY[0]
    assert t.get(2)["past64"].run(conn) == float(2**70)  # a number past 64 bits is a double, as in RethinkDB
    assert t.get(3).run(conn) == TRICKY[3]
    assert t.get(4).run(conn) == TRICKY[4]


@pytest.mark.parametrize("include_types", [False, True])
def test_a_feeds_initial_docs_come_as_the_same_bytes_as_docs_a_query_made(
    server: ServerProcess, conn: Any, r: RethinkDB, table: str, include_types: bool
) -> None:
    t = r.table(table)
    t.insert(TRICKY).run(conn)
    options = {"include_initial": True, "include_states": True, "include_types": include_types}
    sock = raw_connect(server)
    try:
        made = feed_rows(sock, 1, t.map(lambda doc: doc).changes(**options))
        assert len(made) == len(TRICKY)
        assert feed_rows(sock, 2, t.changes(**options)) == made
        assert feed_rows(sock, 3, t.between(3, r.maxval).changes(**options)) == made[3:]
    finally:
        sock.close()


def test_a_big_table_reads_whole_and_in_order(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert(
        r.range(5000).map(lambda i: {"id": i, "half": i / 2, "name": r.expr("row ").add(i.coerce_to("string"))})
    ).run(conn)
    rows = list(t.run(conn))
    assert [row["id"] for row in rows] == list(range(5000))
    assert rows[3] == {"id": 3, "half": 1.5, "name": "row 3"}
    assert rows[4] == {"id": 4, "half": 2, "name": "row 4"}
    assert [row["id"] for row in t.between(100, 200).run(conn)] == list(range(100, 200))
    assert list(t.limit(3).run(conn)) == rows[:3]
    # Backwards, across pages of every size, and within bounds.
    assert [row["id"] for row in t.order_by(index=r.desc("id")).run(conn)] == list(range(4999, -1, -1))
    descending = t.between(100, 3000, right_bound="closed").order_by(index=r.desc("id"))
    assert [row["id"] for row in descending.run(conn)] == list(range(3000, 99, -1))


def test_group_keeps_values_that_compare_apart_apart(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    values: list[Any] = [True, 1, 1.0, False, 0, "1", None, True, -0.0, [1], {"a": 1}]
    t.insert([{"id": i, "v": v} for i, v in enumerate(values)] + [{"id": 100}]).run(conn)
    # 1 and 1.0 are one number, 0 and -0.0 too; true is not 1; a row without the field counts under null.
    assert t.group("v").count().ungroup().map(lambda g: [g["group"], g["reduction"]]).run(conn) == [
        [[1], 1], [False, 1], [True, 2], [None, 2], [0, 2], [1, 2], [{"a": 1}, 1], ["1", 1],
    ]  # fmt: skip
    assert t.group(lambda row: row["v"].default("none")).count().run(conn)["none"] == 2  # null, and missing
    assert t.group("v", multi=True).count().ungroup()[4].run(conn) == {"group": 1, "reduction": 3}  # [1] adds 1
    fails_on_a_number = r.expr([{"v": 1}, 5]).group("v").count()
    with pytest.raises(ReqlQueryLogicError, match="Cannot perform get_field on a non-object non-sequence `5`"):
        fails_on_a_number.run(conn)


def test_eq_join_on_the_primary_key_over_many_rows(conn: Any, r: RethinkDB, table: str) -> None:
    right = table + "_right"
    r.table_create(right).run(conn)
    try:
        r.table(right).insert([{"id": i, "name": f"r{i}"} for i in range(0, 300, 2)]).run(conn)
        r.table(right).insert({"id": "x", "name": "by string"}).run(conn)
        left: list[dict[str, Any]] = [{"id": i, "k": i % 300} for i in range(3000)]
        left += [{"id": "one", "k": 4.0}, {"id": "none", "k": None}]
        r.table(table).insert([*left, {"id": "str", "k": "x"}, {"id": "missing"}]).run(conn)
        joined = r.table(table).eq_join("k", r.table(right))
        pairs: list[Any] = list(joined.run(conn))
        expected = [row for row in left if isinstance(row["k"], (int, float)) and row["k"] % 2 == 0]
        assert len(pairs) == len(expected) + 1
        assert all(pair["right"] == {"id": pair["left"]["k"], "name": f"r{int(pair['left']['k'])}"} for pair in pairs
                   if pair["left"]["id"] != "str")  # fmt: skip
        assert sorted(pair["left"]["id"] for pair in pairs if pair["left"]["id"] not in ("one", "str")) == [
            row["id"] for row in expected if row["id"] != "one"
        ]
        assert joined.limit(5).count().run(conn) == 5
        assert list(r.table(table).between(0, 10).eq_join("k", r.table(right)).zip()["name"].run(conn)) == [
            "r0", "r2", "r4", "r6", "r8",
        ]  # fmt: skip
        # A row the key fails on ends the join there, with the error.
        failing = (
            r.table(table)
            .between(0, 100)
            .eq_join(lambda row: r.branch(row["id"].eq(50), row["k"] + "", row["k"]), r.table(right))
        )
        with pytest.raises(ReqlQueryLogicError, match="Expected type NUMBER but found STRING"):
            failing.run(conn)
    finally:
        r.table_drop(right).run(conn)


def test_eq_join_on_a_system_table(conn: Any, r: RethinkDB, table: str) -> None:
    db_id = r.db("rethinkdb").table("db_config").filter({"name": "test"})[0]["id"].run(conn)
    r.table(table).insert([{"id": 1, "db": db_id}, {"id": 2, "db": "nope"}]).run(conn)
    joined = r.table(table).eq_join("db", r.db("rethinkdb").table("db_config"))
    assert list(joined.map([r.row["left"]["id"], r.row["right"]["name"]]).run(conn)) == [[1, "test"]]


def test_eq_join_needs_read_on_the_right_table(private: ServerProcess) -> None:
    r = RethinkDB()
    admin = r.connect(port=private.port)
    r.db("rethinkdb").table("users").insert({"id": "bob", "password": "pw"}).run(admin)
    r.db_create("app").run(admin)
    for name in ("notes", "tags"):
        r.db("app").table_create(name).run(admin)
        r.db("app").table(name).insert({"id": 1, "tag": 1}).run(admin)
    r.db("app").table("notes").grant("bob", {"read": True}).run(admin)
    bob = r.connect(port=private.port, user="bob", password="pw", db="app")
    with pytest.raises(ReqlPermissionError, match="User `bob` does not have the required `read` permission"):
        r.table("notes").eq_join("tag", r.table("tags")).run(bob)
    r.db("app").table("tags").grant("bob", {"read": True}).run(admin)
    assert list(r.table("notes").eq_join("tag", r.table("tags")).zip().run(bob)) == [{"id": 1, "tag": 1}]
    admin.close()
    bob.close()


def test_long_queries_leave_no_connection_open(private: ServerProcess, r: RethinkDB) -> None:
    """A worker thread that ran a long query retires after it; the storage connection it read through closes too
    (each batch of a long scan would otherwise leave one open, with its files and page cache)."""
    conn = r.connect(port=private.port)
    r.table_create("rows").run(conn)
    r.table("rows").insert(r.range(20_000).map(lambda i: {"id": i, "text": "some text"})).run(conn)
    slow = r.table("rows").filter(lambda row: row["text"].match("^some")).count()  # long: tens of milliseconds
    assert slow.run(conn) == 20_000
    files = Path(f"/proc/{private.process.pid}/fd")
    before = len(list(files.iterdir()))
    for _ in range(10):
        assert slow.run(conn) == 20_000
        assert sum(1 for _ in r.table("rows").run(conn, max_batch_rows=500)) == 20_000
    assert len(list(files.iterdir())) <= before + 2
    conn.close()
