"""insert, update, replace, delete and sync: result shapes, conflicts, errors and concurrency."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlCompileError, ReqlQueryLogicError, ReqlUserError
from servers import ServerProcess, run_async

from rethink_widgets.server.evaluation.engine import Atom, Engine
from rethink_widgets.server.storage import Storage

ZERO = {"deleted": 0, "errors": 0, "inserted": 0, "replaced": 0, "skipped": 0, "unchanged": 0}
NOT_DETERMINISTIC = "Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?"


def test_insert_shapes(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    assert t.insert({"id": 1, "a": 1}).run(conn) == {**ZERO, "inserted": 1}
    result = t.insert([{"a": 2}, {"a": 3}]).run(conn)
    assert result["inserted"] == 2
    assert len(result["generated_keys"]) == 2
    assert t.get(result["generated_keys"][0]).run(conn)["a"] == 2
    # Random UUIDs, written as RethinkDB writes them.
    for key in result["generated_keys"]:
        assert str(uuid.UUID(key)) == key and uuid.UUID(key).version == 4 and uuid.UUID(key).variant == uuid.RFC_4122
    duplicate = t.insert({"id": 1, "b": 2}).run(conn)
    assert duplicate["errors"] == 1
    assert (
        duplicate["first_error"]
        == 'Duplicate primary key `id`:\n{\n\t"a":\t1,\n\t"id":\t1\n}\n{\n\t"b":\t2,\n\t"id":\t1\n}'
    )


def test_generated_keys_of_a_batch_are_distinct_random_uuids(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    result = t.insert([{"n": n} for n in range(1000)]).run(conn)
    generated = result["generated_keys"]
    assert len(set(generated)) == 1000
    for key in generated:
        assert str(uuid.UUID(key)) == key and uuid.UUID(key).version == 4 and uuid.UUID(key).variant == uuid.RFC_4122
    assert {key[19] for key in generated} == set("89ab")  # (the variant's digit carries two random bits)
    stored = {doc["id"]: doc["n"] for doc in t.run(conn)}
    assert [stored[key] for key in generated] == list(range(1000))


def test_insert_conflicts(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert({"id": 1, "a": 1, "b": 1}).run(conn)
    assert t.insert({"id": 1, "a": 2}, conflict="update").run(conn)["replaced"] == 1
    assert t.get(1).run(conn) == {"id": 1, "a": 2, "b": 1}
    assert t.insert({"id": 1, "c": 3}, conflict="replace").run(conn)["replaced"] == 1
    assert t.get(1).run(conn) == {"id": 1, "c": 3}
    assert t.insert({"id": 1, "c": 3}, conflict="replace").run(conn)["unchanged"] == 1
    merged = t.insert({"id": 1, "c": 4}, conflict=lambda key, old, new: old.merge({"c": old["c"] + new["c"]}))
    assert merged.run(conn)["replaced"] == 1
    assert t.get(1).run(conn)["c"] == 7


def test_insert_conflict_functions_and_options(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert({"id": 1, "a": 1}).run(conn)
    # A function of no arguments is accepted, as in RethinkDB: its value replaces the stored document.
    assert t.insert({"id": 1, "a": 2}, conflict=lambda: {"id": 1, "b": 2}).run(conn)["replaced"] == 1
    assert t.get(1).run(conn) == {"id": 1, "b": 2}
    for arity in (lambda x: x, lambda x, y: x, lambda w, x, y, z: x):
        fails(
            conn,
            t.insert({"id": 1}, conflict=arity),
            ReqlQueryLogicError,
            "The conflict function passed to `insert` should expect 3 arguments.",
        )
    fails(
        conn,
        t.insert({"id": 1}, conflict=lambda x: r.table(table).get(1)),  # determinism is checked first
        ReqlQueryLogicError,
        "The conflict function passed to `insert` must be deterministic.",
    )
    fails(conn, t.insert({"id": 1}, conflict=1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(
        conn,
        t.insert({"id": 1}, conflict="merge"),
        ReqlQueryLogicError,
        'Conflict option `merge` unrecognized (options are "error", "replace" and "update").',
    )
    fails(conn, t.insert({"id": 2}, durability=1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, t.insert({"id": 2}, return_changes=1), ReqlQueryLogicError, "Expected type BOOL but found NUMBER.")
    fails(
        conn,
        t.insert({"id": 2}, return_changes="never"),
        ReqlQueryLogicError,
        "Invalid return_changes value `never` (options are `true`, `false`, and `'always'`.)",
    )
    assert t.count().run(conn) == 1


def test_return_changes(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    result = t.insert({"id": 1}, return_changes=True).run(conn)
    assert result["changes"] == [{"new_val": {"id": 1}, "old_val": None}]
    result = t.get(1).update({"x": 1}, return_changes=True).run(conn)
    assert result["changes"] == [{"new_val": {"id": 1, "x": 1}, "old_val": {"id": 1}}]
    always = t.insert({"id": 1}, return_changes="always").run(conn)
    assert always["changes"][0]["error"].startswith("Duplicate primary key `id`:")


def test_key_errors(conn: Any, r: RethinkDB, table: str) -> None:
    result = r.table(table).insert({"id": "a" * 200}).run(conn)
    assert result["errors"] == 1
    assert result["first_error"].startswith("Primary key too long (max 127 characters):")
    with pytest.raises(ReqlQueryLogicError, match=r"^Cannot convert NUMBER to SEQUENCE in"):
        r.table(table).insert(5).run(conn)


def test_update_replace_delete(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": i, "n": i, "nested": {"a": 1, "b": 2}} for i in range(5)]).run(conn)
    assert t.get(0).update({"nested": {"a": 9}}).run(conn)["replaced"] == 1
    assert t.get(0).run(conn)["nested"] == {"a": 9, "b": 2}
    assert t.get(1).update({"nested": r.literal({"z": 1})}).run(conn)["replaced"] == 1
    assert t.get(1).run(conn)["nested"] == {"z": 1}
    assert t.update(lambda row: {"n": row["n"] * 10}).run(conn)["replaced"] == 4  # n=0 stays 0
    assert t.get(3).run(conn)["n"] == 30
    assert t.get(99).update({"n": 1}).run(conn) == {**ZERO, "skipped": 1}
    assert t.get(2).update({"n": 20}).run(conn) == {**ZERO, "unchanged": 1}
    # Unchanged is ReQL's equality: 20.0 is 20, but true is not 1.
    assert t.get(2).update({"n": 20.0, "nested": {"a": 1.0}}).run(conn) == {**ZERO, "unchanged": 1}
    assert t.get(2).update({"nested": {"a": True}}).run(conn)["replaced"] == 1
    assert t.get(2).update({"nested": {"a": 1}}).run(conn)["replaced"] == 1
    changed = t.get(2).replace({"id": 3}).run(conn)
    assert changed["errors"] == 1
    assert changed["first_error"].startswith("Primary key `id` cannot be changed")
    assert t.get(2).replace({"id": 2, "only": True}).run(conn)["replaced"] == 1
    assert t.get(2).run(conn) == {"id": 2, "only": True}
    assert t.between(0, 2).delete().run(conn)["deleted"] == 2
    assert t.delete().run(conn)["deleted"] == 3
    assert t.sync().run(conn) == {"synced": 1}


def test_large_batch_insert(conn: Any, r: RethinkDB, table: str) -> None:
    result = r.table(table).insert([{"id": i} for i in range(5000)], durability="soft").run(conn)
    assert result["inserted"] == 5000
    assert len(list(r.table(table).run(conn))) == 5000


def test_large_batch_insert_meets_rows_stored_and_its_own(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": i, "v": "old"} for i in range(0, 3000, 3)]).run(conn)
    docs = [{"id": i, "v": "new"} for i in range(3000)] + [{"id": 5, "v": "again"}, {"v": "keyless"}]
    result = t.insert(docs, conflict="update", durability="soft").run(conn)
    counts = (result["inserted"], result["replaced"], result["errors"], len(result["generated_keys"]))
    assert counts == (2001, 1001, 0, 1)
    assert t.get(3).run(conn) == {"id": 3, "v": "new"}
    assert t.get(5).run(conn) == {"id": 5, "v": "again"}
    assert t.get(result["generated_keys"][0]).run(conn)["v"] == "keyless"
    refused = t.insert([{"id": 2999}, {"id": 3000}, {"id": 3000}]).run(conn)
    assert (refused["inserted"], refused["errors"]) == (1, 2)
    assert t.count().run(conn) == 3002


def test_concurrent_increments_lose_nothing(server: ServerProcess, r: RethinkDB, conn: Any, table: str) -> None:
    r.table(table).insert({"id": "counter", "n": 0}).run(conn)

    def bump() -> None:
        c = r.connect(port=server.port)
        for _ in range(50):
            r.table(table).get("counter").update(lambda row: {"n": row["n"] + 1}).run(c)
        c.close()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert r.table(table).get("counter").run(conn)["n"] == 200


@pytest.mark.parametrize("loop_type", ["asyncio", "tornado"])
def test_async_writes(server: ServerProcess, table: str, loop_type: str) -> None:
    async def body(r: RethinkDB, conn: Any) -> Any:
        await r.table(table).insert({"id": loop_type}).run(conn)
        return await r.table(table).get(loop_type).run(conn)

    assert run_async(server, loop_type, body) == {"id": loop_type}


def test_writes_nested_in_stream_operations_are_refused(conn: Any, r: RethinkDB, table: str) -> None:
    nested = [
        r.expr([1, 2]).map(r.table(table).insert({"n": r.row})),
        r.expr([1, 2]).map(r.db("test").table_create("never_made")),
        r.table(table).filter(lambda row: r.table(table).insert({})),
        r.table(table).update(lambda row: r.table(table).delete()),
    ]
    for query in nested:
        with pytest.raises(ReqlCompileError, match=r"^Cannot nest writes or meta ops in stream operations"):
            query.run(conn)
    assert r.table(table).count().run(conn) == 0
    assert "never_made" not in r.table_list().run(conn)
    # Where a write runs once it stands: through r.do, and in for_each, once per element.
    assert r.expr(1).do(r.table(table).insert({"n": r.row}))["inserted"].run(conn) == 1
    assert r.expr([1, 2]).for_each(lambda n: r.table(table).insert({"n": n}))["inserted"].run(conn) == 2


def test_insert_of_documents_that_are_not_objects(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    result = t.insert([True, {"id": 1}, None]).run(conn)
    assert result == {**ZERO, "inserted": 1, "errors": 2, "first_error": "Expected type OBJECT but found BOOL."}


def test_changes_and_generated_keys_truncated_to_the_array_limit(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    inserted = t.insert(r.range(5).map(lambda n: {"n": n})).run(conn, array_limit=3)
    assert len(inserted["generated_keys"]) == 3
    assert inserted["warnings"] == ["Too many generated keys (5), array truncated to 3."]
    updated = t.update({"a": 1}, return_changes=True).run(conn, array_limit=3)
    assert updated["replaced"] == 5
    assert len(updated["changes"]) == 3
    assert updated["warnings"] == ["Too many changes, array truncated to 3."]
    assert "warnings" not in t.update({"a": 2}, return_changes=True).run(conn)


def test_values_spliced_by_r_args_keep_their_determinism(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": i} for i in range(1, 11)]).run(conn)
    # t.get(0) reads the table (and is null): written out, replace refuses it, and through r.args too, rather than
    # replacing every row with null, which deletes them.
    for query in (
        t.replace(t.get(0)),
        t.replace(r.args([t.get(0)])),
        t.update(r.args([t.get(1)])),
        t.get(1).replace(r.args([r.expr([t.get(1)])[0]])),
        t.update(r.args([{"n": r.table(table).count()}])),
    ):
        fails(conn, query, ReqlQueryLogicError, NOT_DETERMINISTIC)
    assert t.count().run(conn) == 10
    assert t.order_by("id").run(conn) == [{"id": i} for i in range(1, 11)]
    # Deterministic values spliced in write as before; non_atomic lets a read through, as asked.
    assert t.get(1).replace(r.args([{"id": 1, "a": 1}])).run(conn) == {**ZERO, "replaced": 1}
    assert t.get(2).update(r.args([{"a": r.literal({"b": 1})}])).run(conn) == {**ZERO, "replaced": 1}
    assert t.get(2).run(conn) == {"id": 2, "a": {"b": 1}}
    copied = t.get(3).replace(r.args([t.get(1).merge({"id": 3})]), non_atomic=True).run(conn)
    assert copied == {**ZERO, "replaced": 1}
    assert t.get(3).run(conn) == {"id": 3, "a": 1}
    assert t.count().run(conn) == 10


def test_replace_evaluates_a_value_that_is_not_a_function_once(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": i} for i in range(1, 4)]).run(conn)
    # Once, before any write, as RethinkDB does: its error is the query's, not each document's.
    fails(conn, t.replace(r.error("boom")), ReqlUserError, "boom")
    fails(conn, t.replace(r.error("boom"), non_atomic=True), ReqlUserError, "boom")
    assert t.order_by("id").run(conn) == [{"id": 1}, {"id": 2}, {"id": 3}]
    # update puts its patch inside a function of each document: its errors are the documents'.
    failed = t.update(r.error("boom")).run(conn)
    assert (failed["errors"], failed["first_error"]) == (3, "boom")
    # A constant is every document's new value: it keeps the key of one of them only.
    replaced = t.replace({"id": 2, "a": 1}).run(conn)
    assert (replaced["replaced"], replaced["errors"]) == (1, 2)
    assert t.order_by("id").run(conn) == [{"id": 1}, {"id": 2, "a": 1}, {"id": 3}]


def test_for_each_runs_a_write_that_is_not_a_function_once(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    # As RethinkDB 2.4 does (its issue #3700): the insert runs once, and its result counts once per element.
    result = r.expr([1, 2, 3]).for_each(t.insert({})).run(conn)
    assert {key: value for key, value in result.items() if key != "generated_keys"} == {**ZERO, "inserted": 3}
    assert len(result["generated_keys"]) == 3
    assert len(set(result["generated_keys"])) == 1
    assert t.count().run(conn) == 1
    # Evaluated before the first element, so an empty sequence still runs it once.
    assert r.expr([]).for_each(t.insert({"id": "empty"})).run(conn) == {}
    assert t.get("empty").run(conn) == {"id": "empty"}
    # A function runs once per element, r.row making one of the write.
    assert r.expr([1, 2, 3]).for_each(t.insert({"n": r.row})).run(conn)["inserted"] == 3
    assert r.expr([1, 2, 3]).for_each(lambda n: t.insert({})).run(conn)["inserted"] == 3
    assert t.count().run(conn) == 8
    fails(conn, r.expr([1, 2]).for_each(t), ReqlQueryLogicError, "Expected type FUNCTION but found TABLE:")


def test_a_write_reads_its_selection_as_it_was_before_it(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    # More rows than the first pages of a scan and a chunk of writes, so that reading goes on after writes commit.
    t.insert([{"id": i, "v": i, "n": 0} for i in range(1500)], durability="soft").run(conn)
    t.index_create("v").run(conn)
    t.index_wait("v").run(conn)
    # Each update moves its row forward along the index, still inside the range: read as it is, the rest of the
    # range would hold rows already updated.
    moved = t.between(0, 4000, index="v").update(lambda d: {"v": d["v"] + 2000, "n": d["n"] + 1}, durability="soft")
    assert moved.run(conn)["replaced"] == 1500
    assert t.filter(r.row["n"] != 1).count().run(conn) == 0
    each = t.between(2000, 6000, index="v").for_each(
        lambda d: t.get(d["id"]).update(lambda x: {"v": x["v"] + 2000, "n": x["n"] + 1}, durability="soft")
    )
    assert each.run(conn)["replaced"] == 1500
    assert t.filter(r.row["n"] != 2).count().run(conn) == 0
    assert t.sum("v").run(conn) == sum(range(1500)) + 1500 * 4000


def test_a_soft_write_of_one_document_is_answered_once_before_it_commits(tmp_path: Path, r: RethinkDB) -> None:
    """As RethinkDB answers a soft write it holds in memory: the answer of a soft update of one document that is the
    whole query leaves while another SQLite connection still reads the row as it was; any other write is answered
    with its result, after its commit."""
    storage = Storage(tmp_path, Engine.index_compiler, {"salt": "x"})
    try:
        engine = Engine(storage)
        table = storage.table_create("test", "t")
        with storage.transaction("soft") as txn:
            txn.put(table, {"id": 1, "n": 0})
        answers: list[tuple[Any, Any]] = []

        def answer(text: str) -> None:
            with contextlib.closing(sqlite3.connect(tmp_path / "data.sqlite")) as other:
                (stored,) = other.execute(f"SELECT doc FROM {table.sql}").fetchone()
            answers.append((json.loads(text), json.loads(stored)["n"]))

        def run(query: Any, durability: str = "soft") -> Any:
            result = engine.start(json.loads(ReQLEncoder().encode(query)), {"durability": durability}, answer=answer)
            assert isinstance(result, Atom)
            return result.value

        t = r.table("t")
        assert run(t.get(1).update({"n": 1})) == {**ZERO, "replaced": 1}
        assert answers == [({**ZERO, "replaced": 1}, 0)]  # (answered while the row still held n = 0)
        assert run(t.get(1).update({"n": 2})["replaced"]) == 1  # (not the whole query)
        assert run(t.get(1).update({"n": 3}), durability="hard") == {**ZERO, "replaced": 1}
        assert run(t.get(1).delete()) == {**ZERO, "deleted": 1}
        assert answers == [({**ZERO, "replaced": 1}, 0), ({**ZERO, "deleted": 1}, 3)]
        assert storage.get(table, 1) is None
    finally:
        storage.close()


@pytest.mark.parametrize("durability", ["soft", "hard"])
def test_a_write_of_one_system_table_row_answers_with_its_result(
    conn: Any, r: RethinkDB, table: str, durability: str
) -> None:
    """A system table writes through the catalog: soft or hard, one row's write answers with its result."""
    users = r.db("rethinkdb").table("users")
    name = f"user_{table}_{durability}"
    assert users.insert({"id": name, "password": False}).run(conn)["inserted"] == 1
    assert users.get(name).update({"password": "secret"}).run(conn, durability=durability) == {**ZERO, "replaced": 1}
    assert r.table(table).config().update({"durability": "soft"}).run(conn, durability=durability)["replaced"] == 1
    assert users.get(name).delete().run(conn, durability=durability) == {**ZERO, "deleted": 1}
    assert users.get(name).run(conn) is None
