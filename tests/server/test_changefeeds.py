"""Changefeeds with the real driver: shapes, options, endings, and no change lost or doubled."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlDriverError, ReqlOpFailedError, ReqlQueryLogicError, ReqlTimeoutError
from servers import ServerProcess, maybe_await, run_async, start_server

WAIT = 5  # seconds a test waits for a change that must come


def take(feed: Any, count: int) -> list[Any]:
    return [feed.next(wait=WAIT) for _ in range(count)]


def assert_quiet(feed: Any) -> None:
    """Nothing more arrives on the feed."""
    with pytest.raises(ReqlTimeoutError):
        feed.next(wait=0.3)


def test_a_change_carries_its_documents_as_a_read_does(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.changes(include_types=True).run(conn)
    doc = {"id": 1, "whole": 1.0, "half": 0.5, "tiny": 1.5e-7, "big": 2**60, "null": None, "list": [1.0, None, "é"]}
    t.insert(doc).run(conn)
    t.get(1).update({"whole": 2.0}).run(conn)
    t.get(1).delete().run(conn)
    stored = t.get(1).run(conn)
    changes = take(feed, 3)
    t.insert(doc).run(conn)
    read = t.get(1).run(conn)
    # As JSON text: 1 and 1.0 are told apart (an integral double reaches the client as an integer).
    assert [repr(change) for change in changes] == [
        repr({"new_val": read, "old_val": None, "type": "add"}),
        repr({"new_val": {**read, "whole": 2}, "old_val": read, "type": "change"}),
        repr({"new_val": None, "old_val": {**read, "whole": 2}, "type": "remove"}),
    ]
    assert stored is None and repr(read["whole"]) == "1" and repr(read["tiny"]) == "1.5e-07"


def test_table_feed_shapes(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.changes().run(conn)
    t.insert([{"id": 1}, {"id": 2}]).run(conn)
    assert take(feed, 2) == [{"old_val": None, "new_val": {"id": 1}}, {"old_val": None, "new_val": {"id": 2}}]
    t.get(1).update({"v": 1}).run(conn)
    t.get(1).update({"v": 1}).run(conn)  # unchanged: no change document
    t.get(2).delete().run(conn)
    assert take(feed, 2) == [
        {"old_val": {"id": 1}, "new_val": {"id": 1, "v": 1}},
        {"old_val": {"id": 2}, "new_val": None},
    ]
    assert_quiet(feed)
    feed.close()


def test_point_feed_on_missing_document_with_states_and_types(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.get(7).changes(include_initial=True, include_states=True, include_types=True).run(conn)
    assert take(feed, 3) == [
        {"state": "initializing", "type": "state"},
        {"new_val": None, "type": "initial"},
        {"state": "ready", "type": "state"},
    ]
    t.insert({"id": 7}).run(conn)
    t.insert({"id": 8}).run(conn)  # another document: not on this feed
    t.get(7).delete().run(conn)
    assert take(feed, 2) == [
        {"old_val": None, "new_val": {"id": 7}, "type": "add"},
        {"old_val": {"id": 7}, "new_val": None, "type": "remove"},
    ]
    assert_quiet(feed)


def test_states_without_initial_start_with_ready(conn: Any, r: RethinkDB, table: str) -> None:
    assert list(r.table(table).changes(include_states=True).limit(1).run(conn)) == [{"state": "ready"}]


def test_between_and_get_all_on_a_secondary_index(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("score").run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": 1, "score": 5}, {"id": 2, "score": 50}]).run(conn)
    between = t.between(10, 20, index="score").changes(include_initial=True).run(conn)
    get_all = t.get_all(5, index="score").changes(include_initial=True).run(conn)
    assert take(get_all, 1) == [{"new_val": {"id": 1, "score": 5}}]
    t.get(1).update({"score": 15}).run(conn)  # leaves get_all(5), enters between(10, 20)
    t.get(2).update({"score": 60}).run(conn)  # in neither
    assert take(between, 1) == [{"old_val": None, "new_val": {"id": 1, "score": 15}}]
    assert take(get_all, 1) == [{"old_val": {"id": 1, "score": 5}, "new_val": None}]
    assert_quiet(between)
    assert_quiet(get_all)


def test_steps_before_and_after_changes(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    before = t.filter(r.row["n"] > 2).pluck("id", "n").changes().run(conn)
    after = t.changes().filter(r.row["new_val"]["n"] > 2)["new_val"]["n"].run(conn)
    t.insert([{"id": 1, "n": 1, "x": 0}, {"id": 2, "n": 3, "x": 0}]).run(conn)
    t.get(1).update({"n": 4}).run(conn)
    t.get(2).update({"x": 1}).run(conn)  # outside the plucked fields: no change for `before`
    assert take(before, 2) == [
        {"old_val": None, "new_val": {"id": 2, "n": 3}},
        {"old_val": None, "new_val": {"id": 1, "n": 4}},
    ]
    assert_quiet(before)
    assert take(after, 3) == [3, 4, 3]


def test_order_by_limit_feed_with_offsets(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("num").run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": 1, "num": 5}, {"id": 2, "num": 9}, {"id": 3, "num": 7}]).run(conn)
    feed = t.order_by(index="num").limit(2).changes(include_initial=True, include_offsets=True).run(conn)
    assert take(feed, 2) == [
        {"new_val": {"id": 1, "num": 5}, "new_offset": 0},
        {"new_val": {"id": 3, "num": 7}, "new_offset": 1},
    ]
    t.insert({"id": 4, "num": 1}).run(conn)  # enters first, pushes out num 7
    assert take(feed, 1) == [
        {"old_val": {"id": 3, "num": 7}, "new_val": {"id": 4, "num": 1}, "old_offset": 1, "new_offset": 0}
    ]
    t.get(2).update({"num": 10}).run(conn)  # outside the top two: nothing
    assert_quiet(feed)
    t.get(4).delete().run(conn)  # the next best row comes back in
    assert take(feed, 1) == [
        {"old_val": {"id": 4, "num": 1}, "new_val": {"id": 3, "num": 7}, "old_offset": 0, "new_offset": 1}
    ]


def test_union_of_feeds(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = r.union(t.get(1).changes(), t.get(2).changes()).run(conn)
    t.insert([{"id": 1}, {"id": 2}, {"id": 3}]).run(conn)
    got = take(feed, 2)
    assert sorted(c["new_val"]["id"] for c in got) == [1, 2]
    assert_quiet(feed)


def test_squash_merges_changes_per_document(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.changes(squash=0.5).run(conn)
    t.insert({"id": 1}).run(conn)
    t.get(1).update({"a": 1}).run(conn)
    t.get(1).update({"a": 2}).run(conn)
    assert take(feed, 1) == [{"old_val": None, "new_val": {"id": 1, "a": 2}}]
    assert_quiet(feed)


def test_bad_squash_values(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    with pytest.raises(ReqlQueryLogicError, match=r"^Expected BOOL or NUMBER but found NULL in:"):
        t.changes(squash=None).run(conn)
    with pytest.raises(
        ReqlQueryLogicError, match=r"^Expected BOOL or a positive NUMBER but found a negative NUMBER in:"
    ):
        t.changes(squash=-10).run(conn)


def test_documents_the_steps_before_changes_fail_on_are_not_seen(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    mapped = t.map(r.branch(r.row["v"].lt(2), r.row, r.row["missing"])).changes().run(conn)
    filtered = t.filter(r.branch(r.row["v"].lt(2), True, r.expr([])[1])).changes().run(conn)
    t.insert([{"id": i, "v": i} for i in range(4)]).run(conn)
    assert sorted(c["new_val"]["id"] for c in take(mapped, 2)) == [0, 1]
    assert sorted(c["new_val"]["id"] for c in take(filtered, 2)) == [0, 1]
    t.get(3).update({"v": 0}).run(conn)  # it fails no more: to the feed, it comes in
    assert take(mapped, 1) == take(filtered, 1) == [{"old_val": None, "new_val": {"id": 3, "v": 0}}]
    t.get(0).update({"v": 5}).run(conn)  # and one it fails on now goes out
    assert take(mapped, 1) == take(filtered, 1) == [{"old_val": {"id": 0, "v": 0}, "new_val": None}]


def test_queue_overflow_reports_skipped_changes_and_goes_on(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.changes(changefeed_queue_size=10).run(conn)
    t.insert([{"id": i} for i in range(25)]).run(conn)
    first = take(feed, 11)
    assert first[0] == {"error": "Changefeed cache over array size limit, skipped 15 elements."}
    assert [c["new_val"]["id"] for c in first[1:]] == list(range(10))
    t.insert({"id": 100}).run(conn)
    assert take(feed, 1) == [{"old_val": None, "new_val": {"id": 100}}]


def test_feeds_on_one_table_each_see_their_own_changes_and_skips(conn: Any, r: RethinkDB, table: str) -> None:
    """Feeds on a whole table read one shared log: each still has its own start, its own room and its own skips."""
    t = r.table(table)
    small = t.changes(changefeed_queue_size=10).run(conn)
    full = t.changes().run(conn)
    t.insert([{"id": i} for i in range(500)]).run(conn)
    later = t.changes().run(conn)
    for start in range(500, 2500, 500):  # more than the log holds before it drops what all have read
        t.insert([{"id": i} for i in range(start, start + 500)]).run(conn)
    t.insert({"id": "last"}).run(conn)
    assert [c["new_val"]["id"] for c in take(full, 2501)] == [*range(2500), "last"]
    assert [c["new_val"]["id"] for c in take(later, 2001)] == [*range(500, 2500), "last"]
    # The small feed's first batch was read at the first insert; it stayed full until read again.
    first = take(small, 11)
    assert first[0] == {"error": "Changefeed cache over array size limit, skipped 490 elements."}
    assert [c["new_val"]["id"] for c in first[1:]] == list(range(10))
    second = take(small, 11)
    assert second[0] == {"error": "Changefeed cache over array size limit, skipped 1991 elements."}
    assert [c["new_val"]["id"] for c in second[1:]] == list(range(500, 510))
    later.close()  # the others read on
    t.insert({"id": "after"}).run(conn)
    for feed in (small, full):
        assert take(feed, 1) == [{"old_val": None, "new_val": {"id": "after"}}]


def test_point_feeds_hear_of_their_own_document_only(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    ones = [t.get(1).changes().run(conn) for _ in range(3)]
    two = t.get(2).changes().run(conn)
    t.insert([{"id": i} for i in range(5)]).run(conn)
    ones.pop().close()
    t.get(1.0).update({"n": 1}).run(conn)  # 1.0 is the key 1
    t.get(3).delete().run(conn)
    for feed in ones:
        assert take(feed, 2) == [
            {"old_val": None, "new_val": {"id": 1}},
            {"old_val": {"id": 1}, "new_val": {"id": 1, "n": 1}},
        ]
        assert_quiet(feed)
    assert take(two, 1) == [{"old_val": None, "new_val": {"id": 2}}]
    assert_quiet(two)


def test_limit_after_changes_ends_the_feed(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    feed = t.changes().limit(2).run(conn)
    t.insert([{"id": 1}, {"id": 2}, {"id": 3}]).run(conn)
    assert [c["new_val"]["id"] for c in feed] == [1, 2]  # iteration ends by itself


def test_refusals(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    with pytest.raises(ReqlQueryLogicError, match="on an infinite stream"):
        t.changes().order_by("id").run(conn)
    with pytest.raises(ReqlQueryLogicError, match="without a `limit`"):
        t.order_by(index="id").changes().run(conn)
    with pytest.raises(ReqlQueryLogicError, match="non-deterministic"):
        t.map(lambda row: row.merge({"u": r.uuid()})).changes().run(conn)
    with pytest.raises(ReqlQueryLogicError, match="Cannot call `changes`"):
        r.expr([1, 2]).changes().run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"^Cannot call `changes` on an eager stream in:"):
        r.range(3).changes().run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"Expected to call now\(\) before changes\(\), not after"):
        t.changes().merge({"seen": r.now()}).run(conn)
    t.merge({"seen": r.now()}).changes().run(conn).close()  # before changes(): one time, the query's
    assert r.expr(1).run(conn) == 1  # the connection is fine


def test_dropping_the_table_aborts_its_feeds(conn: Any, r: RethinkDB) -> None:
    r.table_create("doomed").run(conn)
    feed = r.table("doomed").changes().run(conn)
    r.table_drop("doomed").run(conn)
    with pytest.raises(ReqlOpFailedError) as aborted:
        feed.next(wait=WAIT)
    assert aborted.value.message == "Changefeed aborted (unavailable)."


@pytest.mark.parametrize("loop_type", ["asyncio", "tornado"])
def test_feed_and_writes_share_a_connection(server: ServerProcess, table: str, loop_type: str) -> None:
    async def body(r: RethinkDB, conn: Any) -> list[Any]:
        feed = await r.table(table).changes().run(conn)
        for i in range(5):
            await r.table(table).insert({"id": i}).run(conn)
        got = [(await feed.next())["new_val"]["id"] for _ in range(5)]
        await maybe_await(feed.close())  # STOP while a CONTINUE is parked: both get their reply
        assert await r.expr("still open").run(conn) == "still open"
        return got

    assert run_async(server, loop_type, body) == [0, 1, 2, 3, 4]


def test_a_hundred_feeds_on_one_table(server: ServerProcess, table: str) -> None:
    async def body(r: RethinkDB, conn: Any) -> list[list[int]]:
        conns = [await r.connect(server.host, server.port) for _ in range(10)]
        feeds = [await r.table(table).changes().run(conns[i % 10]) for i in range(100)]
        await r.table(table).insert([{"id": i} for i in range(20)]).run(conn)

        async def read(feed: Any) -> list[int]:
            return [(await feed.next())["new_val"]["id"] for _ in range(20)]

        seen = await asyncio.wait_for(asyncio.gather(*(read(f) for f in feeds)), 60)
        for c in conns:
            await c.close()
        return seen

    assert all(ids == list(range(20)) for ids in run_async(server, "asyncio", body))


def test_include_initial_under_concurrent_writes(server: ServerProcess, conn: Any, r: RethinkDB, table: str) -> None:
    """Replaying the initial values and the changes gives exactly the table's final contents."""
    t = r.table(table)
    t.insert([{"id": i, "v": 0} for i in range(300)]).run(conn)
    stop = threading.Event()

    def write() -> None:
        writer = r.connect(server.host, server.port)
        rng = random.Random(7)
        while not stop.is_set():
            key = rng.randrange(400)
            if rng.random() < 0.2:
                t.get(key).delete().run(writer, durability="soft")
            else:
                t.insert({"id": key, "v": rng.random()}, conflict="replace").run(writer, durability="soft")
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    feed = t.changes(include_initial=True, include_states=True).run(conn, max_batch_rows=7)
    replay: dict[Any, Any] = {}
    assert feed.next(wait=WAIT) == {"state": "initializing"}
    while (change := feed.next(wait=WAIT)) != {"state": "ready"}:
        assert set(change) == {"new_val"}
        assert change["new_val"]["id"] not in replay  # each initial value once
        replay[change["new_val"]["id"]] = change["new_val"]
    stop.set()
    thread.join()
    t.insert({"id": "end"}).run(conn)
    while (change := feed.next(wait=WAIT))["new_val"] != {"id": "end"}:
        old, new = change["old_val"], change["new_val"]
        if old is not None:
            assert replay.pop(old["id"]) == old  # every change starts from what the feed showed last
        if new is not None:
            replay[new["id"]] = new
    replay.pop("end", None)
    final = {doc["id"]: doc for doc in t.run(conn) if doc["id"] != "end"}
    assert replay == final


def test_shutdown_and_restart(tmp_path: Path) -> None:
    first = start_server(tmp_path / "data")
    r = RethinkDB()
    conn = r.connect(first.host, first.port)
    r.table_create("kept").run(conn)
    feed = r.table("kept").changes().run(conn)
    assert first.stop() == 0
    with pytest.raises(ReqlDriverError):
        feed.next(wait=WAIT)
    again = start_server(tmp_path / "data")
    try:
        conn = r.connect(again.host, again.port)
        feed = r.table("kept").changes().run(conn)
        r.table("kept").insert({"id": 1}).run(conn)
        assert take(feed, 1) == [{"old_val": None, "new_val": {"id": 1}}]
    finally:
        again.stop()


def test_min_and_max_feeds_follow_the_extreme_row(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("num").run(conn)
    t.index_wait().run(conn)
    lowest = t.min(index="num").changes(include_initial=True).run(conn)  # an empty table: nothing yet
    t.insert([{"id": 1, "num": 5}, {"id": 2, "num": 9}]).run(conn)
    assert t.min(index="num").run(conn) == {"id": 1, "num": 5}
    assert t.max(index="num").run(conn) == {"id": 2, "num": 9}
    assert t.min("num").run(conn) == {"id": 1, "num": 5}
    assert take(lowest, 1) == [{"old_val": None, "new_val": {"id": 1, "num": 5}}]
    t.insert({"id": 3, "num": 1}).run(conn)
    assert take(lowest, 1) == [{"old_val": {"id": 1, "num": 5}, "new_val": {"id": 3, "num": 1}}]
    t.get(2).update({"num": 0.5}).run(conn)
    assert take(lowest, 1) == [{"old_val": {"id": 3, "num": 1}, "new_val": {"id": 2, "num": 0.5}}]


def test_a_vanished_client_frees_its_feeds(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--log-level", "debug")
    r = RethinkDB()
    conn = r.connect(server.host, server.port)
    r.table_create("watched").run(conn)
    feeds = [r.table("watched").changes().run(conn) for _ in range(3)]
    assert len(feeds) == 3
    conn.close(noreply_wait=False)  # no STOP for the open cursors: only the socket closes
    other = r.connect(server.host, server.port)
    r.table("watched").insert({"id": 1}).run(other)  # the server goes on serving everyone else
    other.close()
    assert server.stop() == 0
    log = server.output()
    assert "changefeed on test.watched opened (3 open)" in log
    freed = log.index("changefeed on test.watched closed (0 open)")
    assert freed < log.index("Shutting down")  # freed when the socket closed, not at shutdown
