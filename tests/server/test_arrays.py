"""Array terms: append/prepend, insert_at/splice_at/delete_at/change_at, set operations, difference, offsets_of,
sample, zip, union's ordered merge (interleave=...), the array size limit and the limit on stored arrays."""

from __future__ import annotations

from typing import Any

from reql_errors import INFINITE, fails
from rethinkdb import RethinkDB
from rethinkdb.errors import (
    ReqlNonExistenceError,
    ReqlQueryLogicError,
    ReqlResourceLimitError,
    ReqlServerCompileError,
)

LIMIT_4 = (
    "Array over size limit `4`.  To raise the number of allowed elements, modify the `array_limit` option to `.run` "
    "(not available in the Data Explorer), or use an index."
)
NOT_ORDERED = "The streams given as arguments are not ordered by given ordering."


def test_append_and_prepend(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 2]).append(3).run(conn) == [1, 2, 3]
    assert r.expr([1, 2]).prepend([0]).run(conn) == [[0], 1, 2]
    assert r.expr([]).append(None).run(conn) == [None]
    fails(conn, r.expr("abc").append(3), ReqlQueryLogicError, "Expected type ARRAY but found STRING.")
    fails(conn, r.expr(None).prepend(3), ReqlNonExistenceError, "Expected type ARRAY but found NULL.")
    fails(conn, r.expr([1, 2, 3, 4]).append(5), ReqlResourceLimitError, LIMIT_4, array_limit=4)
    fails(conn, r.expr([1, 2, 3, 4]).prepend(0), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_insert_at_counts_the_gaps(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3])
    assert nums.insert_at(0, 0).run(conn) == [0, 1, 2, 3]
    assert nums.insert_at(3, 4).run(conn) == [1, 2, 3, 4]
    assert nums.insert_at(-1, 4).run(conn) == [1, 2, 3, 4]
    assert nums.insert_at(-4, 0).run(conn) == [0, 1, 2, 3]
    fails(conn, nums.insert_at(4, 5), ReqlNonExistenceError, "Index `4` out of bounds for array of size: `3`.")
    fails(conn, nums.insert_at(-5, 0), ReqlNonExistenceError, "Index out of bounds: -5")
    fails(conn, nums.insert_at(1.5, 0), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, nums.insert_at(None, 0), ReqlNonExistenceError, "Expected type NUMBER but found NULL.")
    fails(conn, nums.append(4).insert_at(0, 0), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_splice_at(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 4]).splice_at(1, [2, 3]).run(conn) == [1, 2, 3, 4]
    assert r.expr([1, 2]).splice_at(-1, [3, 4]).run(conn) == [1, 2, 3, 4]
    assert r.expr([1, 2]).splice_at(0, []).run(conn) == [1, 2]
    fails(
        conn, r.expr([1, 2]).splice_at(3, [3]), ReqlNonExistenceError, "Index `3` out of bounds for array of size: `2`."
    )
    fails(conn, r.expr([1, 2]).splice_at(-4, [3]), ReqlNonExistenceError, "Index out of bounds: -4")
    fails(conn, r.expr([1, 4]).splice_at(1, 2), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER.")
    fails(conn, r.expr([1, 2]).splice_at(1, [3, 4, 5]), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_delete_at_one_element_or_a_range(conn: Any, r: RethinkDB) -> None:
    nums = r.expr([1, 2, 3, 4])
    assert nums.delete_at(0).run(conn) == [2, 3, 4]
    assert nums.delete_at(-1).run(conn) == [1, 2, 3]
    assert nums.delete_at(1, 3).run(conn) == [1, 4]
    assert nums.delete_at(1, -1).run(conn) == [1, 4]
    assert nums.delete_at(4, 4).run(conn) == [1, 2, 3, 4]
    assert r.expr([]).delete_at(0, 0).run(conn) == []
    fails(conn, nums.delete_at(4), ReqlNonExistenceError, "Index `4` out of bounds for array of size: `4`.")
    fails(conn, nums.delete_at(-5), ReqlNonExistenceError, "Index out of bounds: -5")
    fails(conn, nums.delete_at(0, 5), ReqlNonExistenceError, "Index `5` out of bounds for array of size: `4`.")
    fails(conn, nums.delete_at(3, 1), ReqlQueryLogicError, "Start index `3` is greater than end index `1`.")
    fails(conn, r.expr({"a": 1}).delete_at(0), ReqlQueryLogicError, "Expected type ARRAY but found OBJECT.")


def test_change_at(conn: Any, r: RethinkDB) -> None:
    assert r.expr([0, 2, 3]).change_at(0, 1).run(conn) == [1, 2, 3]
    assert r.expr([1, 2, 0]).change_at(-1, 3).run(conn) == [1, 2, 3]
    fails(
        conn,
        r.expr([1, 2, 3]).change_at(3, 4),
        ReqlNonExistenceError,
        "Index `3` out of bounds for array of size: `3`.",
    )
    fails(conn, r.expr([1, 2, 3]).change_at(-4, 1), ReqlNonExistenceError, "Index out of bounds: -4")


def test_set_operations_keep_first_occurrences_in_order(conn: Any, r: RethinkDB) -> None:
    dupes = r.expr([1, 1, 2, 3])
    assert dupes.set_insert(1).run(conn) == [1, 2, 3]
    assert dupes.set_insert(4).run(conn) == [1, 2, 3, 4]
    assert dupes.set_insert(1.0).run(conn) == [1, 2, 3]
    assert dupes.set_union([3, 4, 5, 5]).run(conn) == [1, 2, 3, 4, 5]
    assert dupes.set_intersection([3, 1, 1, 2, 7]).run(conn) == [3, 1, 2]
    assert dupes.set_intersection(["foo"]).run(conn) == []
    assert dupes.set_difference([1, 10]).run(conn) == [2, 3]
    assert r.expr([{"a": 1}, {"a": 1}]).set_union([{"a": 1}]).run(conn) == [{"a": 1}]
    fails(conn, dupes.set_union(1), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER.")
    fails(conn, dupes.set_union([4, 5]), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_difference_keeps_duplicates(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.expr([1, 2, 2, 3, 3]).difference([3]).run(conn) == [1, 2, 2]
    assert r.expr([1, 2, 3]).difference([]).run(conn) == [1, 2, 3]
    assert list(r.range(5).difference([1, 3]).run(conn)) == [0, 2, 4]
    r.table(table).insert([{"id": 1}, {"id": 2}, {"id": 3}]).run(conn)
    # A table stays a selection, so writes can follow.
    assert r.table(table).difference([{"id": 2}]).delete()["deleted"].run(conn) == 2
    assert list(r.table(table).run(conn)) == [{"id": 2}]
    fails(conn, r.expr([1]).difference(1), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_offsets_of(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.expr([1, 2, 3, 2]).offsets_of(2).run(conn) == [1, 3]
    assert r.expr([1, 2, 3, 4]).offsets_of(lambda x: x > 2).run(conn) == [2, 3]
    assert r.expr(["a", None]).offsets_of(lambda x: x).run(conn) == [0]
    assert r.expr([]).offsets_of(1).run(conn) == []
    assert list(r.range(10).offsets_of(lambda x: x % 3 == 0).run(conn)) == [0, 3, 6, 9]
    assert list(r.range().offsets_of(5).limit(1).run(conn)) == [5]
    r.table(table).insert([{"id": 1}, {"id": 2}, {"id": 3}]).run(conn)
    assert list(r.table(table).order_by("id").offsets_of(r.row["id"] >= 2).run(conn)) == [1, 2]
    fails(conn, r.expr([1]).offsets_of(r.table(table)), ReqlQueryLogicError, "Expected type DATUM but found TABLE:")
    fails(conn, r.expr(1).offsets_of(1), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")


def test_sample(conn: Any, r: RethinkDB, table: str) -> None:
    nums = list(range(20))
    picked = r.expr(nums).sample(5).run(conn)
    assert len(picked) == 5
    assert len(set(picked)) == 5
    assert set(picked) <= set(nums)
    assert sorted(r.expr([1, 2, 3]).sample(10).run(conn)) == [1, 2, 3]
    assert r.expr([1, 2, 3]).sample(0).run(conn) == []
    assert len(r.range(1000).sample(3).run(conn)) == 3
    r.table(table).insert([{"id": i} for i in range(10)]).run(conn)
    # A sample of a table is still a selection.
    assert r.table(table).sample(4).delete()["deleted"].run(conn) == 4
    assert r.table(table).count().run(conn) == 6
    fails(
        conn, r.expr([1]).sample(-1), ReqlQueryLogicError, "Number of items to sample must be non-negative, got `-1`."
    )
    fails(conn, r.expr([1]).sample(1.5), ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, r.expr(1).sample(1), ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(
        conn,
        r.range().sample(1),
        ReqlQueryLogicError,
        INFINITE,
    )
    fails(conn, r.range(10).sample(5), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_zip(conn: Any, r: RethinkDB, table: str) -> None:
    pairs = r.expr([{"left": {"a": 1, "b": {"c": 1}}, "right": {"b": {"d": 2}}}, {"left": {"a": 2}}])
    assert pairs.zip().run(conn) == [{"a": 1, "b": {"c": 1, "d": 2}}, {"a": 2}]
    r.table(table).insert([{"id": 1}, {"id": 2}]).run(conn)
    joined = r.table(table).order_by(index="id").map(lambda doc: {"left": doc, "right": {"n": doc["id"] * 10}})
    assert list(joined.zip().run(conn)) == [{"id": 1, "n": 10}, {"id": 2, "n": 20}]
    fails(conn, r.expr([{"right": 1}]).zip(), ReqlQueryLogicError, "ZIP can only be called on the result of a join.")
    fails(conn, r.expr([1]).zip(), ReqlQueryLogicError, "Expected type OBJECT but found NUMBER.")
    fails(conn, r.expr({"left": 1}).zip(), ReqlQueryLogicError, "Cannot convert OBJECT to SEQUENCE")


def test_union_interleave(conn: Any, r: RethinkDB) -> None:
    odd = r.expr([{"n": 1, "i": 0}, {"n": 3, "i": 0}, {"n": 5, "i": 0}])
    even = r.expr([{"n": 2, "i": 1}, {"n": 3, "i": 1}, {"n": 4, "i": 1}])
    by_n = [1, 2, 3, 3, 4, 5]
    assert odd.union(even, interleave=False)["n"].run(conn) == [1, 3, 5, 2, 3, 4]
    assert odd.union(even, interleave="n")["n"].run(conn) == by_n
    assert odd.union(even, interleave=lambda x: x["n"])["n"].run(conn) == by_n
    assert odd.union(even, interleave=r.asc("n"))["n"].run(conn) == by_n
    # Ties keep the order of the inputs.
    assert odd.union(even, interleave="n")["i"].run(conn) == [0, 1, 0, 1, 1, 0]
    assert even.union(odd, interleave=["n", r.desc("i")])["i"].run(conn) == [0, 1, 1, 0, 1, 0]
    descending = r.expr([{"n": 5}, {"n": 1}]).union([{"n": 3}], interleave=[r.desc(lambda x: x["n"])])
    assert descending["n"].run(conn) == [5, 3, 1]
    evens, odds = r.range(5).map(lambda x: x * 2), r.range(5).map(lambda x: x * 2 + 1)
    assert list(evens.union(odds, interleave=lambda x: x).run(conn)) == list(range(10))
    fails(conn, odd.union(even, interleave=r.desc("n")), ReqlQueryLogicError, NOT_ORDERED)
    fails(
        conn,
        odd.union(even, interleave=lambda x: r.desc(x["n"])),
        ReqlServerCompileError,
        "DESC may only be used as an argument to ORDER_BY or UNION.",
    )
    fails(conn, odd.union(even, interleave=1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, odd.union(even, interleave="n"), ReqlResourceLimitError, LIMIT_4, array_limit=4)


def test_array_limit_applies_to_literals_and_unions(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, 2, 3, 4]).union([5, 6, 7, 8]).run(conn, array_limit=8) == [1, 2, 3, 4, 5, 6, 7, 8]
    fails(conn, r.expr([1, 2, 3, 4]).union([5]), ReqlResourceLimitError, LIMIT_4, array_limit=4)
    fails(conn, r.expr([1, 2, 3, 4, 5]), ReqlResourceLimitError, LIMIT_4, array_limit=4)
    fails(conn, r.expr([1]), ReqlQueryLogicError, "Illegal array size limit `0`.  (Must be >= 1.)", array_limit=0)


def test_arrays_too_large_for_disk_are_not_written(conn: Any, r: RethinkDB, table: str) -> None:
    huge = r.range(100_001).coerce_to("array")
    result = r.table(table).insert({"id": 0, "nested": {"a": huge}}).run(conn, array_limit=200_000)
    assert (result["errors"], result["first_error"]) == (1, "Array too large for disk writes (limit 100,000 elements).")
    assert r.table(table).get(0).run(conn) is None
    r.table(table).insert({"id": 1, "a": []}).run(conn)
    update = r.table(table).get(1).update({"a": huge.delete_at(0).append(1)}).run(conn, array_limit=200_000)
    assert update["errors"] == 1
    assert r.table(table).get(1).update({"a": huge.delete_at(0)}).run(conn, array_limit=200_000)["replaced"] == 1
    assert r.table(table).get(1)["a"].count().run(conn) == 100_000
