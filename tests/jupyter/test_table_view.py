"""What a table view shows: filtered, sorted, paged, and kept current by changes."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from typing import Any

import pytest

from rethink_widgets.jupyter.filtering import Filter, cell_text
from rethink_widgets.jupyter.results import ResultSet
from rethink_widgets.jupyter.sorting import sort_key
from rethink_widgets.jupyter.table_view import TableView


def filled(count: int) -> ResultSet:
    result = ResultSet("id")
    for i in range(count):
        result.apply({"new_val": {"id": i, "name": f"n{i}", "score": (i * 37) % 11}})
    return result


def ids(view: TableView, page: int = 0, size: int = 100) -> list[int]:
    return [view.result.get(key)["id"] for key in view.page(page, size)]


def test_default_order_is_by_primary_key_and_pages_slice_it() -> None:
    view = TableView(filled(25))
    assert ids(view, 0, 10) == list(range(10))
    assert ids(view, 2, 10) == list(range(20, 25))
    assert ids(view, 3, 10) == []


def test_sorting_by_a_column_keeps_blanks_last() -> None:
    result = filled(20)
    result.apply({"new_val": {"id": 99}})
    view = TableView(result)
    view.configure((("score", False),), "")
    view.settle()
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1]) and scores[-1] is None
    view.configure((("score", True),), "")
    view.settle()
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1], reverse=True) and scores[-1] is None


def test_changes_keep_the_order_as_a_full_rebuild_would() -> None:
    rng = random.Random(7)
    result = filled(200)
    view = TableView(result)
    view.configure((("score", True),), "1")
    view.settle()
    for _ in range(500):
        i = rng.randrange(250)
        old = result.get(str(i))
        new = None if rng.random() < 0.2 else {"id": i, "name": f"n{rng.randrange(30)}", "score": rng.randrange(20)}
        view.apply(result.apply({"old_val": old, "new_val": new}))
    rebuilt = TableView(result)
    rebuilt.configure((("score", True),), "1")
    rebuilt.settle()
    assert view.page(0, 1000) == rebuilt.page(0, 1000)
    assert len(view) == len(rebuilt) < len(result)


def test_filter_matches_any_cell_in_any_case() -> None:
    result = ResultSet("id")
    result.apply({"new_val": {"id": 1, "tags": ["Red", "blue"]}})
    result.apply({"new_val": {"id": 2, "name": "RED wine"}})
    result.apply({"new_val": {"id": 3, "name": "green"}})
    view = TableView(result)
    view.configure((), "red")
    view.settle()
    assert ids(view) == [1, 2]


def test_a_limit_feed_reads_in_offset_order_until_sorted() -> None:
    result = ResultSet("id", positioned=True)
    for offset, i in enumerate([5, 3, 9]):
        result.apply({"new_val": {"id": i}, "new_offset": offset})
    view = TableView(result)
    assert ids(view) == [5, 3, 9]
    view.configure((("id", False),), "")
    view.settle()
    assert ids(view) == [3, 5, 9]


def test_a_new_order_is_built_in_steps_and_exact_despite_changes_meanwhile() -> None:
    rng = random.Random(11)
    result = filled(300)
    view = TableView(result)
    view.step_rows = 7
    view.configure((("name", True),), "n1")
    steps = 0
    while not view.step():
        steps += 1
        assert all(key in result for key in view.page(0, 1000))  # what is on show is kept current
        i = rng.randrange(350)
        new = None if rng.random() < 0.3 else {"id": i, "name": f"n{rng.randrange(30)}", "score": 1}
        view.apply(result.apply({"old_val": result.get(str(i)), "new_val": new}))
    assert steps > 40
    rebuilt = TableView(result)
    rebuilt.configure((("name", True),), "n1")
    rebuilt.settle()
    assert view.page(0, 1000) == rebuilt.page(0, 1000) and len(view) == len(rebuilt) > 0
    names = [result.get(key)["name"] for key in view.page(0, 1000)]
    assert names == sorted(names, reverse=True) and all("n1" in name for name in names)


def test_rows_that_are_not_objects_sort_by_value() -> None:
    result = ResultSet(None)
    for n in [10, 100, 2, 9, "x", 2]:
        result.apply({"new_val": n})
    view = TableView(result)
    view.configure((("value", False),), "")
    view.settle()
    assert [result.get(key) for key in view.page(0, 10)] == [2, 2, 9, 10, 100, "x"]
    view.configure((("value", True),), "")
    view.settle()
    assert [result.get(key) for key in view.page(0, 10)] == ["x", 100, 10, 9, 2, 2]


def test_unfiltered_keys_keep_the_sort_and_ignore_the_filter() -> None:
    result = filled(30)
    view = TableView(result)
    view.configure((("score", True),), "n2")
    view.settle()
    assert len(view) == 11  # n2, n20..n29
    everything = [result.get(key) for key in view.unfiltered_keys()]
    assert len(everything) == 30
    assert [row["score"] for row in everything] == sorted((row["score"] for row in everything), reverse=True)


def test_cell_text() -> None:
    assert cell_text("plain") == "plain"
    assert cell_text({"a": [1, None]}) == '{"a": [1, null]}'
    assert cell_text(True) == "true"
    # Times and binary data read as views show them: a time as its ISO text in its own offset.
    when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert cell_text(when) == "2024-05-01T12:30:00+02:00"
    assert cell_text(when.replace(microsecond=120_000)) == "2024-05-01T12:30:00.120+02:00"
    assert (
        cell_text({"at": when, "blob": b"\x00\x01"})
        == '{"at": "2024-05-01T12:30:00+02:00", "blob": "<binary, 2 bytes>"}'
    )
    assert cell_text(b"abc") == "<binary, 3 bytes>"


def mixed_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Rows whose `v` is of every ReQL type, often tied, sometimes missing; keys numbers and strings."""
    rng = random.Random(seed)
    choices: list[Callable[[], Any]] = [
        lambda: rng.randrange(20),
        lambda: rng.randrange(20) / 4,
        lambda: rng.choice(["a", "B", "Straße", "STRASSE", "ß", "none", "null", "7"]),
        lambda: rng.random() < 0.5,
        lambda: None,
        lambda: [rng.randrange(3), "x"],
        lambda: {"k": rng.randrange(3)},
    ]
    rows = []
    for i in range(count):
        row: dict[str, Any] = {"id": i if i % 3 else f"k{i}", "name": rng.choice(["Ada", "bob", "Cy ß"])}
        if rng.random() < 0.9:
            row["v"] = rng.choice(choices)()
        rows.append(row)
    return rows


def built(rows: list[dict[str, Any]], sort: list[tuple[str, bool]], needle: str, step_rows: int = 97) -> TableView:
    """A view of `rows` with its order built, by steps of `step_rows` (97: many runs to merge)."""
    result = ResultSet("id")
    for row in rows:
        result.apply({"new_val": row})
    view = TableView(result)
    view.step_rows = step_rows
    view.configure(tuple(sort), needle)
    view.settle()
    return view


def expected(rows: list[dict[str, Any]], sort: list[tuple[str, bool]], needle: str) -> list[Any]:
    """The ids a view sorted by `sort` ((column, descending) for each key) and filtered by `needle` shows: Python's
    sorted in ReQL's order, one stable sort per key from the least significant, rows without a key's column last
    either way, ties in every key by primary key."""
    kept = [
        row for row in rows if not needle or any(needle.casefold() in cell_text(v).casefold() for v in row.values())
    ]
    ordered = sorted(kept, key=lambda row: sort_key(row["id"]))
    for column, descending in reversed(sort):
        having = sorted(
            (row for row in ordered if column in row), key=lambda row: sort_key(row[column]), reverse=descending
        )
        ordered = having + [row for row in ordered if column not in row]
    return [row["id"] for row in ordered]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("needle", ["", "a", "ss", "none", "null", "7", "TRUE", '"k": 1'])
def test_sort_and_filter_match_pythons_sorted_in_reql_order(descending: bool, needle: str) -> None:
    rows = mixed_rows(2000, seed=len(needle) + descending)
    view = built(rows, [("v", descending)], needle)
    result = view.result
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", descending)], needle)
    assert view.page(3, 10) == view.ordered_keys()[30:40]


@pytest.mark.parametrize("directions", [(False, True), (True, False), (True, True)])
def test_two_sort_keys_each_in_its_own_direction(directions: tuple[bool, bool]) -> None:
    rng = random.Random(sum(directions))
    rows = mixed_rows(2000, seed=3)
    for row in rows:
        row["w"] = rng.choice([1, 2.5, "a", "b", None, True, [1], {"k": 1}])
        if rng.random() < 0.1:
            del row["w"]
    sort = [("name", directions[0]), ("w", directions[1])]
    view = built(rows, sort, "")
    result = view.result
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, sort, "")
    for i in range(300):  # one row at a time: each moves where it belongs, by both keys
        old = rows[rng.randrange(len(rows))]
        new = {**old, "w": rng.choice([0, "c", None, False]), "name": rng.choice(["Ada", "bob"])}
        view.apply(result.apply({"old_val": result.get(result.key_of(old)), "new_val": new}))
        rows[rows.index(old)] = new
        if i % 100 == 0:
            assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, sort, "")
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, sort, "")


def test_a_pinned_row_stays_in_place_until_the_next_sort() -> None:
    result = filled(10)  # score (i * 37) % 11: 0, 4, 8, 1, 5, 9, 2, 6, 10, 3
    view = TableView(result)
    view.configure((("score", False),), "")
    view.settle()
    before = view.ordered_keys()
    view.pin(result.key_of({"id": 8}))
    view.apply(result.apply({"old_val": result.get("8"), "new_val": {"id": 8, "name": "n8", "score": -1}}))
    assert view.ordered_keys() == before  # edited to sort first, it stays where it was
    view.apply(result.apply({"old_val": result.get("1"), "new_val": {"id": 1, "name": "n1", "score": 99}}))
    assert ids(view)[-1] == 1  # other rows move as ever
    view.configure((("score", True),), "")
    view.settle()
    assert ids(view)[-1] == 8  # the next sort puts it where it belongs
    view.pin("8")
    view.apply(result.apply({"old_val": result.get("8"), "new_val": None}))
    assert 8 not in ids(view) and len(view) == 9  # a pinned row deleted goes
    view.pin("3")
    view.apply(result.apply({"old_val": result.get("3"), "new_val": {"id": 3, "name": "n3", "score": 1000}}))
    view.unpin("3")
    assert ids(view)[0] == 3
    view.configure((), "")  # on the same order again, without pins
    view.settle()
    assert ids(view) == [0, 1, 2, 3, 4, 5, 6, 7, 9]


def test_a_filter_reads_many_rows_as_it_reads_one() -> None:
    rows: list[Any] = mixed_rows(500, seed=5)
    plain = [{k: v for k, v in row.items() if not isinstance(v, list | dict)} for row in rows]  # read by C loops
    # As many fields in every row (read a cell position at a time), in two orders: a position mixes fields.
    even = [{"v": None, **row} if i % 2 else dict(reversed({"v": 7, **row}.items())) for i, row in enumerate(rows)]
    even_plain = [{k: v if not isinstance(v, list | dict) else "[1]" for k, v in row.items()} for row in even]
    numbers = [{"id": i, "n": [None, True, 1.5, i][i % 4], "s": "x"} for i in range(200)]  # columns without text
    for needle in ["ss", "none", "null", "true", "fa", "1.5", "a\x00b", "[1, ", "x", "straße", "k1", "7", "b"]:
        for kind in [rows, plain, even, even_plain, numbers]:
            assert Filter(needle).matching(kind) == [Filter(needle).passes(row) for row in kind], needle
    assert sum(Filter("ss").matching(plain)) > 100
    assert sum(Filter("7").matching(even)) > 100
    assert sum(Filter("7").matching(numbers)) == 38
    values: list[Any] = [5, "Ss", None, [1], True]  # rows that are not objects
    assert Filter("s").matching(values) == [False, True, False, False, False]


def test_changes_while_sorted_and_filtered_and_a_big_change_at_once() -> None:
    rng = random.Random(9)
    rows = mixed_rows(1500, seed=9)
    view = built(rows, [("v", True)], "a", step_rows=200)
    result = view.result
    for i in range(400):  # one row at a time: each moves where it belongs
        old = rows[rng.randrange(len(rows))]
        new = {**old, "v": rng.choice([rng.randrange(9), "abc", None, False])}
        view.apply(result.apply({"old_val": result.get(result.key_of(old)), "new_val": new}))
        rows[rows.index(old)] = new
        if i % 50 == 0:
            assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", True)], "a")
    result.begin_snapshot()  # a fresh snapshot that differs in many rows: the order is built again in steps
    rows = mixed_rows(1200, seed=10)
    for row in rows:
        result.apply({"new_val": row})
    view.apply(result.end_snapshot())
    assert view.building and all(key in result for key in view.page(0, 2000))
    view.settle()
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", True)], "a")


def test_a_row_edited_while_an_order_is_built_is_not_pinned() -> None:
    result = filled(300)
    view = TableView(result)
    view.step_rows = 7
    view.configure((("score", False),), "")
    view.settle()
    result.begin_snapshot()  # a fresh snapshot that differs in many rows: the order is built again in steps
    for i in range(300):
        result.apply({"new_val": {"id": i, "name": f"m{i}", "score": i % 5}})
    view.apply(result.end_snapshot())
    assert view.building
    view.pin("8")  # an edit from a view now: the order on show does not hold row 8 as it is
    view.apply(result.apply({"old_val": result.get("8"), "new_val": {"id": 8, "name": "m8", "score": -1}}))
    view.configure((("score", True),), "")  # the next sort (which lets pinned rows go) must not fail
    view.unpin("8")
    view.settle()
    assert ids(view, size=300)[-1] == 8


@pytest.mark.parametrize("text_missing", [False, True])
@pytest.mark.parametrize("directions", [(True, False), (True, True), (False, True)])
def test_texts_sort_by_code_point_either_way_with_ties_by_the_next_key(
    directions: tuple[bool, bool], text_missing: bool
) -> None:
    """A column of texts only (sorted as plain values, a descending one held inverted) or with some rows lacking
    it; ties by a number column that some rows lack, then by primary key; then rows changed one at a time."""
    rng = random.Random(sum(directions) + text_missing)
    texts = ["", "a", "a\x00", "ab", "Ab", "ß", "ss", "é", "e\u0301", "\uffff", "😀", "\U0010ffff", "z" * 30]
    rows = []
    for i in range(1500):
        row: dict[str, Any] = {"id": i, "t": rng.choice(texts), "n": rng.randrange(4)}
        if text_missing and i % 13 == 0:
            del row["t"]
        if i % 17 == 0:
            del row["n"]
        rows.append(row)
    sort = [("t", directions[0]), ("n", directions[1])]
    view = built(rows, sort, "")
    result = view.result
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, sort, "")
    for _ in range(300):  # each row's entry, made on its own, goes where the whole build put it
        old = rows[rng.randrange(len(rows))]
        new = {**old, "t": rng.choice(texts), "n": rng.randrange(4)}
        view.apply(result.apply({"old_val": old, "new_val": new}))
        rows[rows.index(old)] = new
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, sort, "")


def test_a_new_filter_on_the_same_sort_is_exact_despite_changes_meanwhile() -> None:
    """A filter on the order held keeps its entries (kept current by the order on show); rows change while its
    own are picked, and again once it shows; a third filter replaces it while it is being built."""
    rng = random.Random(13)
    result = filled(300)
    view = TableView(result)
    view.configure((("score", True), ("name", False)), "")
    view.settle()

    def change() -> None:
        i = rng.randrange(350)
        new = None if rng.random() < 0.3 else {"id": i, "name": f"n{rng.randrange(30)}", "score": rng.randrange(9)}
        view.apply(result.apply({"old_val": result.get(str(i)), "new_val": new}))

    def rebuilt(needle: str) -> TableView:
        fresh = TableView(result)
        fresh.configure((("score", True), ("name", False)), needle)
        fresh.settle()
        return fresh

    view.step_rows = 7
    for needle in ["n1", "n2"]:  # the second starts before the first is done
        view.configure((("score", True), ("name", False)), needle)
        for _ in range(20):
            assert not view.step()
            change()
    while not view.step():
        change()
    for _ in range(100):
        change()
    assert view.ordered_keys() == rebuilt("n2").ordered_keys() and len(view) > 0
    assert view.unfiltered_keys() == rebuilt("").ordered_keys()
    view.configure((("score", True), ("name", False)), "")  # no filter: every row, as held
    assert view.ordered_keys() == rebuilt("").ordered_keys()


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("needle", ["", "a", "7", "null"])
def test_rows_of_many_field_sets_sort_and_filter_as_dicts_would(descending: bool, needle: str) -> None:
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    for i in range(1500):  # runs of rows with one field set (read a field at its position), and runs that mix
        block = i // 200
        v = rng.choice([rng.randrange(30), "a7", None, True, [1, "a"], {"k": 7}])
        if block == 0:
            row = {"id": i, "name": f"n{i}", "v": v}
        elif block == 1:
            row = {"v": v, "name": f"a{i}", "id": i}  # the same fields in another order
        elif block == 2:
            row = {"id": i, "name": f"n{i}"}  # without the sorted column
        elif block == 3:
            row = {"id": i, "v": v, "deep": {"x": [i, {"y": "null"}]}}
        else:
            row = {"id": i, "v": v} if i % 2 else {"v": v, "id": i, "extra": i % 7}
        rows.append(row)
    rng.shuffle(rows[:400])  # the first two runs mixed together
    view = built(rows, [("v", descending)], needle)
    result = view.result
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", descending)], needle)
    for _ in range(200):  # fields added and removed by changes
        old = rows[rng.randrange(len(rows))]
        new = {k: w for k, w in old.items() if k != "v"} if "v" in old else {**old, "v": rng.randrange(30)}
        view.apply(result.apply({"old_val": old, "new_val": new}))
        rows[rows.index(old)] = new
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", descending)], needle)
    view.configure((("name", not descending),), needle)  # built again from the rows as held now
    view.settle()
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("name", not descending)], needle)


def test_a_filter_reads_rows_as_a_result_holds_them() -> None:
    rows: list[Any] = mixed_rows(300, seed=9)
    same_fields = [{"id": row["id"], "name": row["name"], "v": row.get("v")} for row in rows]
    for kind in [rows, same_fields, [*same_fields[:100], 5, "Ss", [1]]]:
        result = ResultSet(None)
        for row in kind:
            result.apply({"new_val": row})
        keys: list[str] = []
        held: list[Any] = []
        result.copy_into(keys, held)
        for needle in ["ss", "none", "null", "true", "1.5", "a\x00b", "k1", "7"]:
            assert Filter(needle).matching(held) == [Filter(needle).passes(result.get(key)) for key in keys], needle


@pytest.mark.parametrize("descending", [False, True])
def test_numbers_of_every_size_keep_their_order_as_rows_change(descending: bool) -> None:
    # Whole numbers and fractions as ReQL's numbers (doubles) come from the driver: whole ones as ints, some huge.
    rng = random.Random(11)
    numbers = [0, -0.0, 1, 1.0, 2.5, -3, 2**53, 2**53 + 2, 2**60, 2**60 + 256, 2**70, 1e300, -1e-300]
    ids = [*numbers, *(i / 4 for i in range(40))]
    rows = list({i: {"id": i, "v": rng.choice(numbers)} for i in ids}.values())  # one row per key (0 and -0.0 share)
    view = built(rows, [("v", descending)], "", step_rows=7)
    result = view.result
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", descending)], "")
    for _ in range(100):
        old = rows[rng.randrange(len(rows))]
        new = {**old, "v": rng.choice(numbers)}
        view.apply(result.apply({"old_val": result.get(result.key_of(old)), "new_val": new}))
        rows[rows.index(old)] = new
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [("v", descending)], "")
    view.configure((), "")
    view.settle()
    assert [result.get(key)["id"] for key in view.ordered_keys()] == expected(rows, [], "")


@pytest.mark.parametrize("needle", ["", "a"])
def test_many_changes_taken_before_a_read_show_as_one_at_a_time_would(needle: str) -> None:
    """Rows arriving in any order, some changed or gone again before the view is read, as a snapshot's come in."""
    rng = random.Random(len(needle))
    rows = {row["id"]: row for row in mixed_rows(3000, seed=5)}
    result = ResultSet("id")
    view = TableView(result)
    view.configure((("v", False),), needle)
    view.settle()
    live: dict[Any, dict[str, Any]] = {}
    order = list(rows)
    rng.shuffle(order)
    for start in range(0, len(order), 400):
        for key in order[start : start + 400]:  # added (in no order), then now and then changed or removed
            live[key] = rows[key]
            view.apply(result.apply({"new_val": rows[key]}))
            if rng.random() < 0.1:
                changed = {**live[key], "v": rng.choice([1, "b", None])}
                view.apply(result.apply({"old_val": live[key], "new_val": changed}))
                live[key] = changed
            if rng.random() < 0.05:
                view.apply(result.apply({"old_val": live.pop(key), "new_val": None}))
        wanted = expected(list(live.values()), [("v", False)], needle)
        assert [result.get(key)["id"] for key in view.ordered_keys()] == wanted
        assert len(view) == len(wanted)
