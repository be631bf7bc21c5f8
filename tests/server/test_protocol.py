"""Query types, cursors and batching, noreply and profile, and concurrency on one connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlCursorEmpty
from servers import ServerProcess, run_async


def test_profile_returns_value_and_profile(conn: Any, r: RethinkDB) -> None:
    result = r.expr([1, 2]).run(conn, profile=True)
    assert result["value"] == [1, 2]
    assert isinstance(result["profile"], list)
    assert "duration(ms)" in result["profile"][0]


def test_server_info(conn: Any) -> None:
    info = conn.server()
    assert info["proxy"] is False
    assert info["id"] and info["name"]


def test_cursor_batches_every_row_exactly_once(conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i} for i in range(500)]).run(conn)
    cursor = r.table(table).run(conn, max_batch_rows=3)
    seen = []
    while True:
        try:
            seen.append(cursor.next()["id"])
        except ReqlCursorEmpty:
            break
    assert sorted(seen) == list(range(500))
    assert len(set(seen)) == 500


def test_small_byte_batches_still_return_everything(conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "pad": "x" * 100} for i in range(300)]).run(conn)
    rows = list(r.table(table).run(conn, max_batch_bytes=200))
    assert len(rows) == 300


def test_closing_a_cursor_early_stops_it(conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i} for i in range(200)]).run(conn)
    cursor = r.table(table).run(conn, max_batch_rows=5)
    assert cursor.next()["id"] == 0
    cursor.close()
    assert r.expr("still fine").run(conn) == "still fine"


def test_noreply_then_noreply_wait(conn: Any, r: RethinkDB, table: str) -> None:
    for i in range(50):
        r.table(table).insert({"id": i}, durability="soft").run(conn, noreply=True)
    conn.noreply_wait()
    assert len(list(r.table(table).run(conn))) == 50


def test_unknown_global_optarg_is_a_compile_error(conn: Any, r: RethinkDB) -> None:
    from rethinkdb.errors import ReqlCompileError

    with pytest.raises(ReqlCompileError, match=r"Unrecognized global optional argument `bogus`."):
        r.expr(1).run(conn, bogus=1)


def test_slow_query_does_not_hold_up_a_quick_one(server: ServerProcess, table: str) -> None:
    async def body(r: RethinkDB, conn: Any) -> list[str]:
        order: list[str] = []

        async def slow() -> None:
            await r.table(table).insert([{"id": i, "pad": "y" * 50} for i in range(30_000)]).run(conn)
            order.append("slow")

        async def quick() -> None:
            await asyncio.sleep(0.05)
            assert await r.expr("quick").run(conn) == "quick"
            order.append("quick")

        await asyncio.gather(slow(), quick())
        return order

    assert run_async(server, "asyncio", body) == ["quick", "slow"]


@pytest.mark.parametrize("loop_type", ["asyncio", "tornado"])
def test_async_cursors(server: ServerProcess, table: str, loop_type: str) -> None:
    sync = RethinkDB()
    c = sync.connect(port=server.port)
    sync.table(table).insert([{"id": i} for i in range(40)]).run(c)
    c.close()

    async def body(r: RethinkDB, conn: Any) -> list[int]:
        cursor = await r.table(table).run(conn, max_batch_rows=7)
        ids = []
        while await cursor.fetch_next():
            ids.append((await cursor.next())["id"])
        return ids

    assert sorted(run_async(server, loop_type, body)) == list(range(40))
