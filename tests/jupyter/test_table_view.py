"""What a table view shows: filtered, sorted, paged, and kept current by changes."""

from __future__ import annotations

import random

from rethink_widgets.jupyter.results import ResultSet
from rethink_widgets.jupyter.table_view import TableView, cell_text


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
    view.configure("score", False, "")
    view.settle()
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1]) and scores[-1] is None
    view.configure("score", True, "")
    view.settle()
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1], reverse=True) and scores[-1] is None


def test_changes_keep_the_order_as_a_full_rebuild_would() -> None:
    rng = random.Random(7)
    result = filled(200)
    view = TableView(result)
    view.configure("score", True, "1")
    view.settle()
    for _ in range(500):
        i = rng.randrange(250)
        old = result.get(str(i))
        new = None if rng.random() < 0.2 else {"id": i, "name": f"n{rng.randrange(30)}", "score": rng.randrange(20)}
        view.apply(result.apply({"old_val": old, "new_val": new}))
    rebuilt = TableView(result)
    rebuilt.configure("score", True, "1")
    rebuilt.settle()
    assert view.page(0, 1000) == rebuilt.page(0, 1000)
    assert len(view) == len(rebuilt) < len(result)


def test_filter_matches_any_cell_in_any_case() -> None:
    result = ResultSet("id")
    result.apply({"new_val": {"id": 1, "tags": ["Red", "blue"]}})
    result.apply({"new_val": {"id": 2, "name": "RED wine"}})
    result.apply({"new_val": {"id": 3, "name": "green"}})
    view = TableView(result)
    view.configure(None, False, "red")
    view.settle()
    assert ids(view) == [1, 2]


def test_a_limit_feed_reads_in_offset_order_until_sorted() -> None:
    result = ResultSet("id", positioned=True)
    for offset, i in enumerate([5, 3, 9]):
        result.apply({"new_val": {"id": i}, "new_offset": offset})
    view = TableView(result)
    assert ids(view) == [5, 3, 9]
    view.configure("id", False, "")
    view.settle()
    assert ids(view) == [3, 5, 9]


def test_a_new_order_is_built_in_steps_and_exact_despite_changes_meanwhile() -> None:
    rng = random.Random(11)
    result = filled(300)
    view = TableView(result)
    view.step_rows = 7
    view.configure("name", True, "n1")
    steps = 0
    while not view.step():
        steps += 1
        assert all(key in result for key in view.page(0, 1000))  # what is on show is kept current
        i = rng.randrange(350)
        new = None if rng.random() < 0.3 else {"id": i, "name": f"n{rng.randrange(30)}", "score": 1}
        view.apply(result.apply({"old_val": result.get(str(i)), "new_val": new}))
    assert steps > 40
    rebuilt = TableView(result)
    rebuilt.configure("name", True, "n1")
    rebuilt.settle()
    assert view.page(0, 1000) == rebuilt.page(0, 1000) and len(view) == len(rebuilt) > 0
    names = [result.get(key)["name"] for key in view.page(0, 1000)]
    assert names == sorted(names, reverse=True) and all("n1" in name for name in names)


def test_rows_that_are_not_objects_sort_by_value() -> None:
    result = ResultSet(None)
    for n in [10, 100, 2, 9, "x", 2]:
        result.apply({"new_val": n})
    view = TableView(result)
    view.configure("value", False, "")
    view.settle()
    assert [result.get(key) for key in view.page(0, 10)] == [2, 2, 9, 10, 100, "x"]
    view.configure("value", True, "")
    view.settle()
    assert [result.get(key) for key in view.page(0, 10)] == ["x", 100, 10, 9, 2, 2]


def test_unfiltered_keys_keep_the_sort_and_ignore_the_filter() -> None:
    result = filled(30)
    view = TableView(result)
    view.configure("score", True, "n2")
    view.settle()
    assert len(view) == 11  # n2, n20..n29
    everything = [result.get(key) for key in view.unfiltered_keys()]
    assert len(everything) == 30
    assert [row["score"] for row in everything] == sorted((row["score"] for row in everything), reverse=True)


def test_cell_text() -> None:
    assert cell_text("plain") == "plain"
    assert cell_text({"a": [1, None]}) == '{"a": [1, null]}'
    assert cell_text(True) == "true"
