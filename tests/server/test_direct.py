"""Point gets (with a field or a pluck) and inserts of literal documents answered without compiling their terms (see
evaluation/direct.py): the same answers and the same errors as the general path, and the same writes, keys, changes,
index entries and feeds.

A global optarg the direct path does not take (`array_limit`, given at its default) sends the same query down the
general path, so each query is run both ways and the answers compared."""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from background import in_background
from raw_client import raw_connect, receive, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlError, ReqlOpFailedError, ReqlPermissionError
from servers import ServerProcess

r = RethinkDB()
DOCS = [
    {"id": 1, "a": "x", "n": 1.0, "f": 2.5, "tiny": 1.5e-7, "big": 2**60, "list": [1, {"b": None}], "o": {"p": 1}},
    {"id": "k", "s": "é", "a": None},
    {"id": [1, "compound"]},
    {"id": 2.5, "when": r.epoch_time(0)},
]


def general(query: Any, conn: Any, **options: Any) -> Any:
    """The query run through the general path."""
    return query.run(conn, array_limit=100_000, **options)


def answer(run: Callable[[], Any]) -> str:
    """A query's result, or its error's class and full text (the query printed with the failing term marked), as
    JSON text: 1 and 1.0 differ."""
    try:
        return text(run())
    except ReqlError as error:
        return text([type(error).__name__, str(error)])


def text(value: Any) -> str:
    return json.dumps(value, default=lambda time: time.isoformat())


@pytest.mark.parametrize("durability", [None, "soft", "hard"])
def test_point_reads_answer_as_the_general_path(conn: Any, table: str, durability: str | None) -> None:
    t = r.table(table)
    t.insert(DOCS).run(conn)
    keys = [1, 1.0, "k", "missing", 2.5, [1, "compound"], None, True, "x" * 200, "a\x00b", {"o": 1}, 2**60]
    queries = [t.get(key) for key in keys]
    queries += [t.get(key)[field] for key in (1, "k", "missing") for field in ("a", "n", "list", "o", "nothing", 0)]
    queries += [t.get(key).get_field(field) for key in (1, "missing") for field in ("f", "nothing")]
    queries += [t.get(key).pluck(*fields) for key in (1, "k", 2.5, "missing") for fields in (["a"], ["n", "nothing"])]
    queries += [r.db("test").table(table).get(1), r.db("nowhere").table(table).get(1), r.table("nowhere").get(1)]
    options = {"durability": durability} if durability else {}
    for query in queries:
        direct = answer(functools.partial(query.run, conn, **options))
        assert direct == answer(functools.partial(general, query, conn, **options)), query
    assert t.get(1).run(conn)["n"] == 1 and isinstance(t.get(1).run(conn)["n"], int)
    assert t.get(1).run(conn, db="test") == t.get(1).run(conn)


def inserts(conn: Any, t: Any, run: Callable[[Any], Any]) -> list[str]:
    """Single inserts of every kind (run by `run`), then what the table holds (generated keys left out: random)."""
    writes = [
        t.insert({"id": 1, "v": 1.0, "s": "é"}),
        t.insert({"id": 1, "v": 2}),  # a duplicate primary key
        t.insert({"id": 1, "w": 3}, conflict="update", return_changes=True),
        t.insert({"id": 1, "x": 4}, conflict="replace", return_changes="always"),
        t.insert({"id": 1, "x": 4}, conflict="replace", return_changes="always"),  # unchanged
        t.insert({"id": 1}, conflict="error", return_changes="always"),
        t.insert({"id": 2}, durability="hard"),
        t.insert({"id": "x" * 200}),  # a key too long
        t.insert({"id": None}),
        t.insert({"id": 3, "nested": {"a": {"b": 1.5}}, "big": 2**60 + 1}, return_changes=True),
    ]
    out = [answer(functools.partial(run, query)) for query in writes]
    generated = run(t.insert({"v": 0}, return_changes=True))
    key = generated["generated_keys"][0]
    out.append(text((sorted(generated), generated["changes"][0]["new_val"] == {"id": key, "v": 0}, len(key))))
    out.append(text(sorted(t.filter(lambda doc: doc["id"] != key).run(conn), key=str)))
    return out


def test_single_inserts_write_as_the_general_path(conn: Any, table: str) -> None:
    other = f"{table}_general"
    r.table_create(other).run(conn)
    try:
        direct = inserts(conn, r.table(table), lambda query: query.run(conn))
        assert direct == inserts(conn, r.table(other), lambda query: general(query, conn))
        assert "Duplicate primary key `id`:" in direct[1]
        assert direct[-2] == text(
            (
                ["changes", "deleted", "errors", "generated_keys", "inserted", "replaced", "skipped", "unchanged"],
                True,
                36,
            )
        )
    finally:
        r.table_drop(other).run(conn)


def batch_inserts(conn: Any, t: Any, run: Callable[[Any], Any]) -> list[str]:
    """Inserts of arrays of documents of every kind (run by `run`), then what the table holds (generated keys left
    out: random)."""
    writes = [
        t.insert([{"id": 10, "a": [1, {"b": [2.0, "é"]}], "f": 1.0}, {"id": 11, "big": 2**60 + 1, "o": {"p": None}}]),
        t.insert([{"id": 12}, {"id": 12, "again": True}]),  # one key twice
        t.insert([{"id": 13}, {"id": 10, "taken": True}]),  # a key taken
        t.insert([{"id": 10, "x": 1}, {"id": 14}], conflict="update", return_changes=True),
        t.insert([{"id": 10, "y": 1}, {"id": 15}], conflict="replace", return_changes="always"),
        t.insert([{"id": 16}, 5, "text"]),  # documents that are no objects
        t.insert([{"id": 17, "when": r.epoch_time(0)}, {"id": 18}]),  # a pseudo-type
        t.insert([{"id": 19, "sum": r.expr(1) + 2}]),  # a term to evaluate
        t.insert([{"id": 20, "bad": {"$reql_type$": "NOPE"}}]),  # an error a pseudo-type makes
        t.insert([{"id": "x" * 200}, {"id": 21}]),  # a key too long
        t.insert([{"id": None}, {"id": [22, "compound"]}, {"id": {"o": 1}}]),
        t.insert([{"id": 23, "list": list(range(5))}], return_changes="always", durability="hard"),
        t.insert([]),
        t.insert([{"id": 1000 + i} for i in range(1001)]),  # longer than a chunk
    ]
    out = [answer(functools.partial(run, query)) for query in writes]
    generated = run(t.insert([{"v": 0}, {"id": 30, "v": 1}, {"v": 2}], return_changes=True))
    made = generated["generated_keys"]
    news = sorted((change["new_val"] for change in generated["changes"]), key=lambda doc: doc["v"])
    out.append(text((sorted(generated), len(made), [doc["id"] for doc in news] == [made[0], 30, made[1]])))
    out.append(text(sorted(t.filter(lambda doc: r.expr(made).contains(doc["id"]).not_()).run(conn), key=str)))
    return out


def test_batch_inserts_write_as_the_general_path(conn: Any, table: str) -> None:
    t = r.table(table)  # (the same table both ways: errors print the query, and its name)
    direct = batch_inserts(conn, t, lambda query: query.run(conn))
    t.delete().run(conn)
    assert direct == batch_inserts(conn, t, lambda query: general(query, conn))
    assert json.loads(direct[0])["inserted"] == 2
    assert "Duplicate primary key `id`:" in direct[1]
    assert json.loads(direct[-2]) == [
        ["changes", "deleted", "errors", "generated_keys", "inserted", "replaced", "skipped", "unchanged"],
        2,
        True,
    ]


def test_a_batch_insert_reaches_indexes_and_feeds(conn: Any, table: str) -> None:
    t = r.table(table)
    t.index_create("tags", multi=True).run(conn)
    t.index_wait().run(conn)
    feed = t.changes().run(conn)
    t.insert([{"id": i, "tags": ["all", f"n{i}"]} for i in range(300)]).run(conn)
    t.insert([{"tags": ["generated"]}, {"tags": ["generated"]}]).run(conn, durability="hard")
    seen = [feed.next(wait=5)["new_val"] for _ in range(302)]
    assert [doc["id"] for doc in seen[:300]] == list(range(300))
    assert [doc["tags"] for doc in seen[300:]] == [["generated"]] * 2
    assert t.get_all("all", index="tags").count().run(conn) == 300
    assert [doc["id"] for doc in t.get_all("n7", index="tags").run(conn)] == [7]
    assert t.get_all("generated", index="tags").count().run(conn) == 2
    feed.close()


def test_a_single_insert_reaches_indexes_and_feeds(conn: Any, table: str) -> None:
    t = r.table(table)
    t.index_create("v").run(conn)
    t.index_wait().run(conn)
    feed = t.changes().run(conn)
    point = t.get(5).changes(include_initial=True).run(conn)
    assert point.next(wait=5) == {"new_val": None}
    t.insert({"id": 5, "v": "five"}).run(conn)
    t.insert({"v": "six"}).run(conn, durability="soft")
    assert feed.next(wait=5) == {"new_val": {"id": 5, "v": "five"}, "old_val": None}
    assert feed.next(wait=5)["new_val"]["v"] == "six"
    assert point.next(wait=5) == {"new_val": {"id": 5, "v": "five"}, "old_val": None}
    assert [doc["id"] for doc in t.get_all("five", index="v").run(conn)] == [5]
    assert t.get_all("six", index="v").count().run(conn) == 1
    feed.close()
    point.close()


def test_a_write_hook_still_runs_on_a_single_insert(conn: Any, table: str) -> None:
    t = r.table(table)
    t.set_write_hook(lambda ctx, old, new: new.merge({"hooked": True})).run(conn)
    t.insert({"id": 1}).run(conn, durability="soft")
    assert t.get(1).run(conn) == {"id": 1, "hooked": True}


def test_a_user_reads_and_writes_directly_only_what_it_may(private: ServerProcess) -> None:
    admin = r.connect(port=private.port)
    r.db("rethinkdb").table("users").insert({"id": "bob", "password": "pw"}).run(admin)
    r.table_create("notes").run(admin)
    r.table("notes").insert({"id": 1, "a": 1}).run(admin)
    bob = r.connect(port=private.port, user="bob", password="pw")
    notes = r.table("notes")
    for query in (notes.get(1), notes.get(1)["a"], notes.insert({"id": 2}), notes.insert([{"id": 2}, {"id": 3}])):
        with pytest.raises(ReqlPermissionError, match="does not have the required"):
            query.run(bob)
    r.table("notes").grant("bob", {"read": True}).run(admin)
    assert r.table("notes").get(1).pluck("a").run(bob) == {"a": 1}
    with pytest.raises(ReqlPermissionError, match="`write` permission"):
        r.table("notes").insert({"id": 2}).run(bob, durability="soft")
    r.table("notes").grant("bob", {"write": True}).run(admin)
    assert r.table("notes").insert({"id": 2}).run(bob, durability="soft")["inserted"] == 1
    assert r.table("notes").insert([{"id": 3}, {"id": 4}]).run(bob)["inserted"] == 2
    bob.close()
    admin.close()


def test_a_table_dropped_and_made_again_is_read_anew(conn: Any, table: str) -> None:
    r.table(table).insert({"id": 1}).run(conn)
    assert r.table(table).get(1).run(conn) == {"id": 1}
    r.table_drop(table).run(conn)
    with pytest.raises(ReqlOpFailedError, match="does not exist"):
        r.table(table).get(1).run(conn)
    r.table_create(table).run(conn)
    assert r.table(table).get(1).run(conn) is None


def test_hard_inserts_of_concurrent_writers_are_each_answered_once(server: ServerProcess, table: str) -> None:
    conns = [r.connect(server.host, server.port) for _ in range(8)]

    def write(conn: Any, writer: int) -> list[Any]:
        return [r.table(table).insert({"id": f"{writer}-{i}"}).run(conn, durability="hard") for i in range(25)]

    threads = [in_background(functools.partial(write, conn, n)) for n, conn in enumerate(conns)]
    for thread, _ in threads:
        thread.join(60)
    results = [result for _, outcome in threads for result in outcome[0]]
    assert [result["inserted"] for result in results] == [1] * 200
    assert r.table(table).count().run(conns[0]) == 200
    r.table(table).insert({"id": "noreply"}).run(conns[0], durability="hard", noreply=True)
    conns[0].noreply_wait()
    assert r.table(table).get("noreply").run(conns[1]) == {"id": "noreply"}
    for conn in conns:
        conn.close()


def test_a_batch_insert_nobody_waits_for_is_written(conn: Any, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": i} for i in range(50)]).run(conn, noreply=True)
    t.insert([{"id": 49}, {"id": 50}]).run(conn, noreply=True)  # a key taken: the general path writes the rest
    t.insert([{"id": 60 + i} for i in range(2000)]).run(conn, noreply=True, durability="hard")
    conn.noreply_wait()
    assert t.count().run(conn) == 2051


@pytest.mark.parametrize("depth", [60, 70, 260, 300])
def test_deep_documents_insert_and_read_as_the_general_path(conn: Any, table: str, depth: int) -> None:
    """Nested arrays and objects, up to past what a query may nest (arrays are refused sooner than objects): the
    insert answers as the general path does, and what it stored reads back whole, by key and by a scan."""
    t = r.table(table)
    array: Any = 1
    obj: Any = 1
    for _ in range(depth):
        array, obj = [array], {"a": obj}
    for value in (array, obj):
        insert = t.insert(r.expr({"id": 1, "x": value}, nesting_depth=depth + 10))
        outcomes = []
        for run in (insert.run, functools.partial(general, insert)):
            outcomes.append([answer(functools.partial(run, conn)), answer(functools.partial(t.get(1).run, conn))])
            outcomes[-1].append(answer(lambda: list(t.run(conn))))
            t.delete().run(conn)
        assert outcomes[0] == outcomes[1]
        stored = json.loads(outcomes[0][1])
        assert stored is None or stored == {"id": 1, "x": value}


def test_a_soft_batch_answered_before_its_commit_is_seen_by_every_later_query(
    server: ServerProcess, table: str
) -> None:
    """A soft batch is answered before its commit (see Storage.insert_new): whatever another connection asks once
    the answer has come (a point get answered on the loop, a count, a feed) finds the batch written."""
    writer, reader = r.connect(server.host, server.port), r.connect(server.host, server.port)
    t = r.table(table)
    padding = "x" * 2000  # (a longer commit: more time for a read to slip in before it)
    for round_ in range(30):
        # Keys generated (answered before the batch is stored) or given (answered once stored, before the commit).
        batch = [{"round": round_, "n": n, "padding": padding} for n in range(300)]
        if round_ % 2:
            batch = [{"id": f"{round_}-{doc['n']}", **doc} for doc in batch]
        result = t.insert(batch).run(writer, durability="soft")
        last = result["generated_keys"][-1] if "generated_keys" in result else f"{round_}-299"
        assert t.get(last)["n"].run(reader) == 299
        assert t.count().run(reader) == 300 * (round_ + 1)
    for round_ in range(10):
        t.insert([{"feed": round_, "padding": padding} for _ in range(300)]).run(writer, durability="soft")
        feed = t.changes().run(reader)
        t.insert({"after": round_}).run(writer)
        assert feed.next(wait=5)["new_val"]["after"] == round_  # (not a change of the batch answered before)
        feed.close()
    writer.close()
    reader.close()


def test_soft_batches_of_a_client_gone_before_their_answers_are_whole_or_absent(
    server: ServerProcess, table: str
) -> None:
    """Each batch is written whole or not at all, however its answer (sent before its commit) fails to arrive."""
    for round_ in range(20):
        sock = raw_connect(server)
        for n in range(4):
            batch = [{"round": round_, "batch": n, "padding": "x" * 500} for _ in range(250)]
            query = [1, r.table(table).insert(batch), {"durability": "soft"}]
            send(sock, n + 1, ReQLEncoder().encode(query).encode())
        if round_ % 2:
            receive(sock)  # (one answer read, the others left unread)
        sock.close()
    conn = r.connect(server.host, server.port)
    sizes = r.table(table).group("round", "batch").count().run(conn)
    assert set(sizes.values()) == {250}
    assert r.table(table).insert({"after": True}).run(conn, durability="soft")["inserted"] == 1
    conn.close()


def test_a_token_is_free_again_the_moment_a_soft_batch_is_answered(server: ServerProcess, table: str) -> None:
    """A soft batch is answered before its commit: its token may be used again at once, as after any answer."""
    sock = raw_connect(server)
    for round_ in range(20):
        batch = [{"round": round_, "padding": "x" * 2000} for _ in range(300)]
        send(sock, 1, ReQLEncoder().encode([1, r.table(table).insert(batch), {"durability": "soft"}]).encode())
        token, reply = receive(sock)
        assert (token, reply["r"][0]["inserted"]) == (1, 300)
        send(sock, 1, ReQLEncoder().encode([1, r.table(table).count(), {}]).encode())
        assert receive(sock) == (1, {"t": 1, "r": [300 * (round_ + 1)]})
    sock.close()


def test_a_soft_batch_answered_before_its_commit_is_counted_and_has_left_the_jobs(
    server: ServerProcess, table: str
) -> None:
    writer, reader = r.connect(server.host, server.port), r.connect(server.host, server.port)
    t = r.table(table)
    table_id = t.info().run(reader)["id"]
    for round_ in range(20):
        t.insert([{"padding": "x" * 2000} for _ in range(300)]).run(writer, durability="soft")
        # (The server is shared: other tests' queries may still be running, never one of this table.)
        jobs = [job["info"]["query"] for job in r.db("rethinkdb").table("jobs").run(reader)]
        assert [query[:200] for query in jobs if table in query] == []
        stats = {tuple(row["id"][:2]): row for row in r.db("rethinkdb").table("stats").run(reader)}
        assert stats[("table_server", table_id)]["query_engine"]["written_docs_total"] == 300 * (round_ + 1)
    writer.close()
    reader.close()


def test_a_single_insert_answered_on_the_loop_is_answered_once(server: ServerProcess, table: str) -> None:
    """A soft single insert on the loop is answered before its commit (the hard one once on disk, the noreply one
    never): each query gets one answer, and the next query, sent alone or in the same packet, finds the write."""

    def query(term: Any, **optargs: Any) -> bytes:
        text: str = ReQLEncoder().encode([1, term, optargs])
        return text.encode()

    t = r.table(table)
    sock = raw_connect(server)
    writes = [
        query(t.insert({"n": 1}), durability="soft"),
        query(t.insert({"id": "given", "n": 2}), durability="soft"),
        query(t.insert({"n": 3}), durability="hard"),
        query(t.insert({"n": 4}), durability="soft", noreply=True),
    ]
    for count, payload in enumerate(writes, 1):
        send(sock, 1, payload)
        send(sock, 2, query(t.count()))
        replies = [receive(sock) for _ in range(1 if count == len(writes) else 2)]
        if count < len(writes):
            assert replies[0][0] == 1
            assert replies[0][1]["r"][0]["inserted"] == 1
        assert replies[-1] == (2, {"t": 1, "r": [count]})
    # A point get answered on the loop, then inserts answered before their commits, then a count on a worker:
    # their replies in the order asked.
    frames = [
        (3, t.get("given")["n"]),
        (4, t.insert({"together": 4})),
        (5, t.insert({"together": 5})),
        (6, t.filter({"together": 4}).count()),
    ]
    sock.sendall(
        b"".join(
            struct.pack("<qL", token, len(payload)) + payload
            for token, payload in ((token, query(term, durability="soft")) for token, term in frames)
        )
    )
    replies = [receive(sock) for _ in frames]
    assert [token for token, _ in replies] == [3, 4, 5, 6]
    assert (replies[0][1]["r"], replies[-1][1]["r"]) == ([2], [1])
    send(sock, 7, query(t.count()))
    assert receive(sock) == (7, {"t": 1, "r": [6]})
    sock.close()
