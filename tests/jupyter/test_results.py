"""The kernel's result set: keyed rows, snapshots swapped in at ready, rows placed by offsets."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rethink_widgets.jupyter.results import ResultSet, RowChange, canonical, unpacked


def test_rows_keyed_by_primary_key() -> None:
    result = ResultSet("id")
    assert result.apply({"new_val": {"id": 1, "a": 1}}) == [RowChange("1", None, {"id": 1, "a": 1})]
    assert result.apply({"old_val": {"id": 1, "a": 1}, "new_val": {"id": 1, "a": 2}}) == [
        RowChange("1", {"id": 1, "a": 1}, {"id": 1, "a": 2})
    ]
    result.apply({"new_val": {"id": "x"}})
    assert result.rows() == [{"id": 1, "a": 2}, {"id": "x"}]
    assert result.apply({"old_val": {"id": 1, "a": 2}, "new_val": None}) == [RowChange("1", {"id": 1, "a": 2}, None)]
    assert len(result) == 1 and result.revision("1") == 0


def test_revisions_change_with_every_write() -> None:
    result = ResultSet("id")
    result.apply({"new_val": {"id": 1}})
    first = result.revision("1")
    result.apply({"old_val": {"id": 1}, "new_val": {"id": 1, "b": 1}})
    assert result.revision("1") > first


def test_rows_without_a_key_are_keyed_by_value() -> None:
    result = ResultSet(None)
    result.apply({"new_val": 5})
    result.apply({"new_val": 5})
    result.apply({"new_val": {"b": 1, "a": 2}})
    assert sorted(map(str, result.rows())) == ["5", "5", "{'b': 1, 'a': 2}"]
    result.apply({"old_val": 5, "new_val": 6})
    assert sorted(map(str, result.rows())) == ["5", "6", "{'b': 1, 'a': 2}"]
    result.apply({"old_val": {"a": 2, "b": 1}, "new_val": None})  # same object, other key order
    assert len(result) == 2


def test_a_new_snapshot_replaces_the_old_at_ready() -> None:
    result = ResultSet("id")
    for i in range(3):
        result.apply({"new_val": {"id": i, "v": 0}})
    result.begin_snapshot()
    assert result.apply({"new_val": {"id": 1, "v": 0}}) == []
    result.apply({"new_val": {"id": 2, "v": 9}})
    result.apply({"new_val": {"id": 3, "v": 0}})
    assert len(result) == 3 and result.initializing
    changes = result.end_snapshot()
    assert sorted((c.key, c.new) for c in changes) == [("0", None), ("2", {"id": 2, "v": 9}), ("3", {"id": 3, "v": 0})]
    assert [row["id"] for row in result.rows()] == [1, 2, 3]


def test_rows_placed_by_offsets() -> None:
    result = ResultSet("id", positioned=True)
    for offset, score in enumerate([9, 7, 5]):
        result.apply({"new_val": {"id": score, "s": score}, "new_offset": offset})
    result.apply({"old_val": {"id": 5, "s": 5}, "new_val": {"id": 8, "s": 8}, "old_offset": 2, "new_offset": 1})
    assert [row["s"] for row in result.rows()] == [9, 8, 7]
    moved = result.apply({"old_val": {"id": 9, "s": 9}, "new_val": {"id": 9, "s": 1}, "old_offset": 0, "new_offset": 2})
    assert moved == [RowChange("9", {"id": 9, "s": 9}, {"id": 9, "s": 1})]
    assert [row["s"] for row in result.rows()] == [8, 7, 1]


def test_canonical_text_of_equal_values() -> None:
    assert canonical({"b": 1, "a": [1, "x"]}) == canonical({"a": [1, "x"], "b": 1})
    result = ResultSet("id")
    result.apply({"new_val": {"id": 1.0}})
    assert "1" in result


def test_the_first_snapshot_fills_the_result_as_it_comes() -> None:
    result = ResultSet("id")
    result.begin_snapshot()
    assert result.initializing and result.arrived == 0
    assert result.apply({"new_val": {"id": 1}}) == [RowChange("1", None, {"id": 1})]
    result.apply({"new_val": {"id": 2, "v": 0}})
    # RethinkDB may send a change to a row it already sent before it says ready.
    assert result.apply({"old_val": {"id": 2, "v": 0}, "new_val": {"id": 2, "v": 1}}) == [
        RowChange("2", {"id": 2, "v": 0}, {"id": 2, "v": 1})
    ]
    result.apply({"old_val": {"id": 1}, "new_val": None})
    result.apply({"new_val": {"id": 3}})
    assert result.arrived == 2 and len(result) == 2
    assert result.end_snapshot() == [] and not result.initializing
    assert result.rows() == [{"id": 2, "v": 1}, {"id": 3}]


def test_a_snapshot_after_one_that_broke_off_is_gathered_aside() -> None:
    result = ResultSet("id")
    result.begin_snapshot()
    result.apply({"new_val": {"id": 1, "v": 0}})
    result.apply({"new_val": {"id": 2, "v": 0}})
    result.begin_snapshot()  # the connection dropped: a fresh snapshot, while the rows so far stay on show
    assert result.apply({"new_val": {"id": 2, "v": 5}}) == [] and result.arrived == 1 and len(result) == 2
    result.apply({"new_val": {"id": 4, "v": 0}})
    changes = result.end_snapshot()
    assert sorted((c.key, c.new) for c in changes) == [("1", None), ("2", {"id": 2, "v": 5}), ("4", {"id": 4, "v": 0})]
    assert result.rows() == [{"id": 2, "v": 5}, {"id": 4, "v": 0}]


def test_a_fresh_snapshot_finds_every_change_python_would_call_equal() -> None:
    result = ResultSet("id")
    before = [{"id": 1, "v": 1}, {"id": 2, "v": [1]}, {"id": 3, "v": "x"}, {"id": 4, "a": 1, "b": 2}, {"id": 5, "v": 0}]
    for row in before:
        result.apply({"new_val": row})
    result.begin_snapshot()
    after = [{"id": 1, "v": True}, {"id": 2, "v": [True]}, {"id": 3, "v": "x"}, {"id": 4, "b": 2, "a": 1}, {"id": 5}]
    for row in after:
        result.apply({"new_val": row})
    ending = result.ending(2)  # in steps of two rows: what is held stays until the last
    steps = 0
    while True:
        try:
            next(ending)
        except StopIteration as done:
            changes = done.value
            break
        steps += 1
        assert result.get("1") == {"id": 1, "v": 1}
    assert steps >= 4
    assert sorted(change.key for change in changes) == ["1", "2", "5"]  # Python holds 1 and True equal, ReQL not
    assert result.get("1") == {"id": 1, "v": True} and not result.initializing


def test_rows_of_a_snapshot_share_a_revision_until_they_change() -> None:
    result = ResultSet("id")
    result.begin_snapshot()
    result.apply({"new_val": {"id": 1}})
    result.apply({"new_val": {"id": 2}})
    first = result.revision("1")
    assert first == result.revision("2") > 0 and result.revision("3") == 0
    result.apply({"old_val": {"id": 2}, "new_val": {"id": 2, "v": 1}})  # changed before ready
    result.end_snapshot()
    assert result.revision("2") not in (0, first)
    result.apply({"old_val": {"id": 1}, "new_val": None})
    assert result.revision("1") == 0
    result.apply({"old_val": None, "new_val": {"id": 1}})  # back, as it was: still another revision
    assert result.revision("1") not in (0, first, result.revision("2"))


def test_rows_read_as_they_came_whatever_their_fields() -> None:
    result = ResultSet("id")
    rows: list[Any] = [
        {"id": 1, "a": 1, "b": "x"},
        {"id": 2, "b": "y", "a": 2},  # the same fields in another order
        {"id": 3, "nested": {"k": [1, {"z": None}]}, "when": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)},
        {"id": 4},
        {"id": 5, "": 0},
    ]
    for row in rows:
        result.apply({"new_val": row})
    assert result.rows() == rows
    assert [list(row) for row in result.rows()] == [list(row) for row in rows]  # fields in their order
    assert result.by_key() == {str(row["id"]): row for row in rows}
    added = {"id": 1, "a": 1, "b": "x", "c": [1]}
    assert result.apply({"old_val": rows[0], "new_val": added}) == [RowChange("1", rows[0], added)]
    removed = {"id": 1, "b": "x"}
    assert result.apply({"old_val": added, "new_val": removed}) == [RowChange("1", added, removed)]
    assert result.get("1") == removed and result.get("9") is None
    read = result.get("2")
    read["a"] = 99  # a row read out is the caller's own
    assert result.get("2") == {"id": 2, "b": "y", "a": 2}


def test_rows_that_are_not_objects_and_keyless_rows_read_as_they_came() -> None:
    result = ResultSet(None)
    rows: list[Any] = [5, "x", [1, 2], (1, "tuple"), {"a": 1}, {"a": 1}, {"b": {"c": 2}}, True, 1, 1.5]
    for row in rows:
        result.apply({"new_val": row})
    assert result.rows() == rows and [type(row) for row in result.rows()] == list(map(type, rows))
    assert [change.old for change in result.apply({"old_val": (1, "tuple"), "new_val": None})] == [(1, "tuple")]
    assert [change.old for change in result.apply({"old_val": {"a": 1}, "new_val": None})] == [{"a": 1}]
    assert result.rows() == [5, "x", [1, 2], {"a": 1}, {"b": {"c": 2}}, True, 1, 1.5]
    keyed = ResultSet("id")
    keyed.apply({"new_val": {"no_id": 1}})  # an object without the primary key: keyed by value
    assert keyed.rows() == [{"no_id": 1}]


def test_a_fresh_snapshot_counts_only_rows_that_differ_as_values() -> None:
    result = ResultSet("id")
    held = [{"id": 1, "a": 1, "b": 2}, {"id": 2, "a": 1}, {"id": 3, "a": 1}, {"id": 4, "n": {"k": [1]}}, {"id": 5}]
    for row in held:
        result.apply({"new_val": row})
    result.begin_snapshot()
    fresh = [
        {"id": 1, "b": 2, "a": 1},  # the same value, its fields in another order
        {"id": 2, "a": True},  # 1 and True differ in ReQL
        {"id": 3, "a": 1, "c": None},  # a field more
        {"id": 4, "n": {"k": [1]}},
        {"id": 5},
    ]
    for row in fresh:
        result.apply({"new_val": row})
    changes = result.end_snapshot()
    assert sorted((change.key, change.old, change.new) for change in changes) == [
        ("2", {"id": 2, "a": 1}, {"id": 2, "a": True}),
        ("3", {"id": 3, "a": 1}, {"id": 3, "a": 1, "c": None}),
    ]
    assert result.rows() == fresh


def test_a_copy_tells_the_field_names_when_every_row_has_the_same() -> None:
    result = ResultSet("id")
    keys: list[str] = []
    rows: list[Any] = []
    assert result.copy_into(keys, rows) is None  # no rows
    for i in range(3):
        result.apply({"new_val": {"id": i, "a": i}})
    assert result.copy_into(keys, rows) == ("id", "a") and keys == ["0", "1", "2"]
    assert [unpacked(row) for row in rows] == result.rows()
    result.apply({"old_val": {"id": 1, "a": 1}, "new_val": {"id": 1, "a": 1, "b": 2}})  # a field more
    assert result.copy_into([], []) is None
    result.begin_snapshot()
    for i in range(3):
        result.apply({"new_val": {"id": i, "a": i}})
    result.end_snapshot()  # a fresh snapshot of rows that agree again
    assert result.copy_into([], []) == ("id", "a")
    result.apply({"new_val": {"a": 3, "id": 3}})  # another order of the fields
    assert result.copy_into([], []) is None


# Messages of a snapshot and what may come among them: changes to rows sent already, a row added, a row sent twice,
# keys of every kind (1.0 and 1 are one key, True another), rows without the key and rows that are not objects.
MIXED: list[dict[str, Any]] = [
    {"new_val": {"id": 1, "v": 0}},
    {"new_val": {"id": "a", "v": 1}},
    {"new_val": {"id": 2.0, "v": 2}},
    {"new_val": {"id": True, "v": 3}},
    {"new_val": {"id": [1, 2], "v": 4}},
    {"new_val": {"v": 5}},
    {"new_val": 7},
    {"new_val": 7},
    {"old_val": {"id": 1, "v": 0}, "new_val": {"id": 1, "v": 9}},
    {"new_val": {"id": 2, "v": 6}},
    {"old_val": None, "new_val": {"id": 4, "v": 0}},
    {"old_val": {"id": "a", "v": 1}, "new_val": None},
    {"new_val": {"id": "a", "v": 8}},
    {"new_val": {"id": 3}, "new_offset": 0},
]


def one_at_a_time(result: ResultSet, messages: list[dict[str, Any]]) -> list[RowChange]:
    return [change for message in messages for change in result.apply(message)]


def together(result: ResultSet, messages: list[dict[str, Any]]) -> list[RowChange]:
    changes: list[RowChange] = []
    result.apply_all(messages, changes)
    return changes


def test_changes_applied_together_are_those_applied_one_at_a_time() -> None:
    for positioned in (False, True):
        for primary_key in ("id", None):
            results, told = [], []
            for apply in (one_at_a_time, together):
                result = ResultSet(primary_key, positioned=positioned)
                result.begin_snapshot()
                changes = apply(result, MIXED)  # a first snapshot: rows show as they come
                changes += result.end_snapshot()
                changes += apply(result, MIXED)  # changes once ready
                result.begin_snapshot()
                changes += apply(result, MIXED[:5])  # a fresh snapshot, gathered aside
                changes += result.end_snapshot()
                results.append((result.rows(), [result.revision(key) for key in result.ordered_keys()]))
                told.append(changes)
            assert told[0] == told[1], (positioned, primary_key)
            assert results[0] == results[1], (positioned, primary_key)


def test_changes_applied_together_are_told_up_to_a_message_that_fails() -> None:
    result = ResultSet("id")
    result.begin_snapshot()
    changes: list[RowChange] = []
    unkeyable = {"new_val": {"id": object()}}  # no value the driver gives, but a failure all the same
    with pytest.raises(TypeError):
        result.apply_all([{"new_val": {"id": 1}}, {"new_val": {"id": 2}}, unkeyable, {"new_val": {"id": 3}}], changes)
    assert [change.key for change in changes] == ["1", "2"] and len(result) == 2
