"""Limit feeds (`order_by(index=...).limit(n).changes()`) with the real driver: the shapes RethinkDB accepts and
refuses, the rows and offsets of their changes, squash, and writes of many documents at once."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from raw_client import raw_connect, receive, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlQueryLogicError, ReqlResourceLimitError, ReqlTimeoutError
from servers import ServerProcess

WAIT = 5  # seconds a test waits for a change that must come
AFTER_LIMIT = (
    "Changefeeds are not supported on queries that have a transformation following a `limit` term.  "
    "Transformations include terms such as `filter`, `map`, `pluck`, etc.  Consider moving the transformation "
    "before the `limit` term."
)


def take(feed: Any, count: int) -> list[Any]:
    return [feed.next(wait=WAIT) for _ in range(count)]


def assert_quiet(feed: Any) -> None:
    """Nothing more arrives on the feed."""
    with pytest.raises(ReqlTimeoutError):
        feed.next(wait=0.3)


def refused(query: Any, conn: Any, message: str, error: type[Exception] = ReqlQueryLogicError) -> None:
    with pytest.raises(error, match=f"^{re.escape(message.removesuffix('.'))} in:"):  # the driver drops the dot
        query.run(conn)


def drop_conflicting(_key: Any, _old: Any, _new: Any) -> None:
    """A conflict function: a second document with the same key deletes the first (a null result deletes)."""


@pytest.fixture
def t(conn: Any, r: RethinkDB, table: str) -> Any:
    """The test table, with a secondary index on `v`."""
    r.table(table).index_create("v").run(conn)
    r.table(table).index_wait("v").run(conn)
    return r.table(table)


def test_steps_before_the_limit_shape_each_row(conn: Any, r: RethinkDB, t: Any) -> None:
    t.insert([{"id": i, "v": i, "note": "x"} for i in (1, 2, 3)]).run(conn)
    plucked = t.order_by(index="v").pluck("id").limit(2).changes(include_initial=True).run(conn)
    offsets = t.order_by(index="v").pluck("id").limit(2).changes(include_offsets=True).run(conn)
    mapped = t.order_by(index=r.desc("v")).map(lambda row: row["v"] * 10).limit(1).changes().run(conn)
    assert take(plucked, 2) == [{"new_val": {"id": 1}}, {"new_val": {"id": 2}}]
    t.get(1).update({"v": 5}).run(conn)  # leaves the first two; 3 comes in, and leads the descending feed
    assert take(plucked, 1) == [{"old_val": {"id": 1}, "new_val": {"id": 3}}]
    assert take(offsets, 1) == [{"old_val": {"id": 1}, "new_val": {"id": 3}, "old_offset": 0, "new_offset": 1}]
    assert take(mapped, 1) == [{"old_val": 30, "new_val": 50}]
    t.get(2).update({"note": "y"}).run(conn)  # what the feeds show of it stays the same: nothing
    t.get(3).update({"v": 0}).run(conn)  # moves to the front: only offsets tell
    assert take(offsets, 1) == [{"old_val": {"id": 3}, "new_val": {"id": 3}, "old_offset": 1, "new_offset": 0}]
    assert_quiet(plucked)
    assert_quiet(mapped)


def test_filters_after_the_limit_choose_the_rows_as_filters_before_it(conn: Any, r: RethinkDB, t: Any) -> None:
    t.insert([{"id": i, "v": i, "even": i % 2 == 0} for i in range(6)]).run(conn)
    after = t.order_by(index="v").limit(2).filter({"even": True}).changes(include_initial=True).run(conn)
    before = t.order_by(index="v").filter({"even": True}).limit(2).changes(include_initial=True).run(conn)
    fields = t.order_by(index="v").limit(2).has_fields("odd").changes(include_initial=True).run(conn)
    for feed in (after, before):
        assert take(feed, 2) == [
            {"new_val": {"id": 0, "v": 0, "even": True}},
            {"new_val": {"id": 2, "v": 2, "even": True}},
        ]
    t.get(1).update({"even": True}).run(conn)
    for feed in (after, before):
        assert take(feed, 1) == [
            {"old_val": {"id": 2, "v": 2, "even": True}, "new_val": {"id": 1, "v": 1, "even": True}}
        ]
    t.get(5).update({"odd": True}).run(conn)
    assert take(fields, 1) == [{"old_val": None, "new_val": {"id": 5, "v": 5, "even": False, "odd": True}}]


def test_shapes_refused_as_rethinkdb_refuses_them(conn: Any, r: RethinkDB, t: Any) -> None:
    ordered = t.order_by(index="v")
    for after_limit in (
        ordered.limit(1).map(lambda row: row["id"]),
        ordered.limit(1).pluck("id"),
        ordered.limit(1).with_fields("id"),
        ordered.limit(1).merge({"a": 1}),
        ordered.limit(1)["id"],
        ordered.limit(1).filter({"v": 1}).pluck("id"),
    ):
        refused(after_limit.changes(), conn, AFTER_LIMIT)
    unordered = "Cannot get changes on the first elements of an unordered stream."
    for first_rows in (t.limit(10), t.between(1, 5).limit(2), t.get_all(1, index="v").limit(1), t.pluck("id").limit(1)):
        refused(first_rows.changes(), conn, unordered)
    refused(ordered.limit(2).limit(1).changes(), conn, "Cannot call `changes` on an eager stream.")
    refused(ordered.skip(1).limit(1).changes(), conn, "Cannot call `changes` on an eager stream.")
    refused(t.concat_map(lambda row: [row]).changes(), conn, "Cannot call `changes` after `concat_map`.")
    refused(ordered.concat_map(lambda row: [row]).limit(1).changes(), conn, "Cannot call `changes` after `concat_map`.")
    refused(t.inner_join(t, lambda a, b: True).changes(), conn, "Cannot call `changes` after `concat_map`.")
    random_before = ordered.map(lambda row: row.merge({"r": r.random()})).limit(1).changes()
    refused(random_before, conn, "Cannot call `changes` after a non-deterministic function.")
    too_many = (
        "Array size limit `{}` exceeded.  (`.limit(X).changes()` is illegal if X is larger than the array size limit.)"
    )
    refused(ordered.limit(100001).changes(), conn, too_many.format(100000), ReqlResourceLimitError)
    with pytest.raises(ReqlResourceLimitError, match=re.escape(too_many.format(3))):
        ordered.limit(5).changes().run(conn, array_limit=3)
    refused(ordered.slice(0).changes(), conn, too_many.format(100000), ReqlResourceLimitError)  # unbounded


def test_a_slice_from_the_first_row_feeds_like_a_limit(conn: Any, r: RethinkDB, t: Any) -> None:
    t.insert([{"id": i, "v": i} for i in range(4)]).run(conn)
    feed = t.order_by(index="v").slice(0, 2).changes(include_initial=True).run(conn)
    assert take(feed, 2) == [{"new_val": {"id": 0, "v": 0}}, {"new_val": {"id": 1, "v": 1}}]
    t.get(0).delete().run(conn)
    assert take(feed, 1) == [{"old_val": {"id": 0, "v": 0}, "new_val": {"id": 2, "v": 2}}]


def test_squash_merges_a_limit_feeds_changes_into_the_net_ones(conn: Any, r: RethinkDB, t: Any) -> None:
    plain = t.order_by(index="v").limit(10).changes().run(conn)
    squashed = t.order_by(index="v").limit(10).changes(squash=True).run(conn)
    # One write: twelve rows come in, then three of them go again (a second document with the same key deletes).
    added = [{"id": i, "v": 5} for i in range(12)]
    result = t.insert([*added, {"id": 1}, {"id": 8}, {"id": 9}], conflict=drop_conflicting).run(conn)
    assert (result["inserted"], result["deleted"]) == (12, 3)

    def row(i: int) -> dict[str, int]:
        return {"id": i, "v": 5}

    assert take(plain, 13) == [
        *({"old_val": None, "new_val": row(i)} for i in range(10)),
        {"old_val": row(1), "new_val": row(10)},
        {"old_val": row(8), "new_val": row(11)},
        {"old_val": row(9), "new_val": None},
    ]
    # As RethinkDB squashes: a change from what an earlier one brought in continues that one, where it stood.
    assert take(squashed, 9) == [{"old_val": None, "new_val": row(i)} for i in (0, 10, 2, 3, 4, 5, 6, 7, 11)]
    assert_quiet(squashed)


def test_a_batched_write_is_one_commit_on_a_primary_key_feed(conn: Any, r: RethinkDB, t: Any) -> None:
    t.insert([{"id": i, "v": i} for i in (5, 6)]).run(conn)
    by_key = t.order_by(index="id").limit(2).changes(include_offsets=True).run(conn)
    by_v = t.order_by(index="v").limit(2).changes(include_offsets=True).run(conn)

    def change(old: int | None, old_offset: int | None, new: int | None, new_offset: int | None) -> dict[str, Any]:
        rows = [None if i is None else {"id": i, "v": i} for i in (old, new)]
        return {"old_val": rows[0], "new_val": rows[1], "old_offset": old_offset, "new_offset": new_offset}

    t.insert([{"id": 0, "v": 0}, {"id": 0}], conflict=drop_conflicting).run(conn)  # in and out again, in one write
    assert take(by_v, 2) == [change(6, 1, 0, 0), change(0, 0, 6, 1)]  # a secondary index: document by document
    # Two rows beat both of the first two: the rows that left pair with the newcomers, the worst newcomer first.
    t.insert([{"id": i, "v": i} for i in (1, 2, 3)]).run(conn)
    assert take(by_key, 2) == [change(5, 0, 2, 0), change(6, 1, 1, 0)]  # nothing came of the first write
    assert take(by_v, 2) == [change(6, 1, 1, 0), change(5, 1, 2, 1)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_offsets_applied_in_turn_give_the_querys_rows(conn: Any, r: RethinkDB, t: Any, seed: int) -> None:
    chance = random.Random(seed)
    t.insert([{"id": i, "v": chance.randrange(20)} for i in range(20)]).run(conn)
    queries = [
        t.order_by(index="id").limit(5),
        t.order_by(index=r.desc("id")).filter(lambda row: row["v"] < 15).limit(4),
        t.order_by(index="v").limit(5),
        t.order_by(index=r.desc("v")).pluck("id", "v").limit(3),
        t.between(3, 15, index="v").order_by(index="v").limit(4),
    ]
    feeds = [query.changes(include_initial=True, include_offsets=True).run(conn) for query in queries]
    shown: list[list[Any]] = [[] for _ in feeds]
    writes = [random_write(t, r, chance, 100 + 10 * i) for i in range(40)]
    for write in [*writes, t.delete()]:  # the last leaves every feed empty, after all that came before it
        write.run(conn)
        for feed, rows, query in zip(feeds, shown, queries, strict=True):
            expected = list(query.run(conn))
            while [row["id"] for row in rows] != [row["id"] for row in expected]:
                apply(rows, feed.next(wait=WAIT))  # a write may leave a feed as it was, through changes that undo
    for feed in feeds:
        assert_quiet(feed)


def random_write(t: Any, r: RethinkDB, chance: random.Random, fresh: int) -> Any:
    """A write of several documents: new ones, changed ones, deleted ones, or some in and out again."""
    ids = chance.sample(range(fresh), 4)
    kind = chance.randrange(4)
    if kind == 0:
        return t.insert([{"id": fresh + i, "v": chance.randrange(25)} for i in range(chance.randrange(1, 5))])
    if kind == 1:
        return t.insert([{"id": i, "v": chance.randrange(25)} for i in ids], conflict="update")
    if kind == 2:
        return t.get_all(*ids).delete()
    docs = [{"id": i, "v": chance.randrange(25)} for i in ids] + [{"id": i} for i in ids[:2]]
    return t.insert(docs, conflict=lambda _key, old, new: r.branch(new.has_fields("v"), new, None))


def apply(rows: list[Any], change: dict[str, Any]) -> None:
    """Follow a change of a limit feed by its offsets, as a view does."""
    if change.get("old_offset") is not None:
        assert rows.pop(change["old_offset"]) == change["old_val"]
    if change.get("new_offset") is not None:
        rows.insert(change["new_offset"], change["new_val"])


def test_changes_that_squash_to_nothing_answer_no_continue(
    server: ServerProcess, conn: Any, r: RethinkDB, t: Any
) -> None:
    t.insert([{"id": 1, "v": 1}, {"id": 2, "v": 2}]).run(conn)
    sock = raw_connect(server)
    try:
        query = t.order_by(index="v").limit(1).changes(squash=True)
        send(sock, 1, f"[1,{ReQLEncoder().encode(query)},{{}}]".encode())
        assert receive(sock) == (1, {"t": 3, "r": [], "n": [3]})
        send(sock, 1, b"[2]")  # CONTINUE: held until there is a change to answer it with
        t.insert([{"id": 0, "v": 0}, {"id": 0}], conflict=drop_conflicting).run(conn)  # in and out: nothing
        t.get(1).update({"v": 5}).run(conn)
        token, reply = receive(sock)
        assert (token, reply["r"]) == (1, [{"old_val": {"id": 1, "v": 1}, "new_val": {"id": 2, "v": 2}}])
    finally:
        sock.close()


def test_a_multi_index_feeds_each_entry(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("tags", multi=True).run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": 1, "tags": [5, 1]}, {"id": 2, "tags": [3]}, {"id": 3, "tags": [2, 4]}]).run(conn)
    feed = t.order_by(index="tags").limit(4).changes(include_initial=True, include_offsets=True).run(conn)
    one, two, three = ({"id": 1, "tags": [5, 1]}, {"id": 2, "tags": [3]}, {"id": 3, "tags": [2, 4]})
    assert take(feed, 4) == [{"new_val": row, "new_offset": i} for i, row in enumerate([one, three, two, three])]
    t.get(3).update({"tags": [0]}).run(conn)
    # Entries are told apart by their place in the array: the first entry of 3 becomes its new one.
    moved = {"id": 3, "tags": [0]}
    assert take(feed, 2) == [
        {"old_val": three, "new_val": moved, "old_offset": 1, "new_offset": 0},
        {"old_val": three, "new_val": one, "old_offset": 3, "new_offset": 3},
    ]
    t.get(1).delete().run(conn)
    assert take(feed, 2) == [
        {"old_val": one, "new_val": None, "old_offset": 3, "new_offset": None},
        {"old_val": one, "new_val": None, "old_offset": 1, "new_offset": None},
    ]
    assert list(t.order_by(index="tags").limit(4).run(conn)) == [moved, two]
