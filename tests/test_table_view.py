"""What a table view shows: filtered, sorted, paged, and kept current by changes."""

from __future__ import annotations

import random

from rethink_widgets.results import ResultSet
from rethink_widgets.table_view import TableView, cell_text


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
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1]) and scores[-1] is None
    view.configure("score", True, "")
    scores = [result.get(k).get("score") for k in view.page(0, 50)]
    assert scores[:-1] == sorted(scores[:-1], reverse=True) and scores[-1] is None


def test_changes_keep_the_order_as_a_full_rebuild_would() -> None:
    rng = random.Random(7)
    result = filled(200)
    view = TableView(result)
    view.configure("score", True, "1")
    for _ in range(500):
        i = rng.randrange(250)
        old = result.get(str(i))
        new = None if rng.random() < 0.2 else {"id": i, "name": f"n{rng.randrange(30)}", "score": rng.randrange(20)}
        view.apply(result.apply({"old_val": old, "new_val": new}))
    rebuilt = TableView(result)
    rebuilt.configure("score", True, "1")
    assert view.page(0, 1000) == rebuilt.page(0, 1000)
    assert len(view) == len(rebuilt) < len(result)


def test_filter_matches_any_cell_in_any_case() -> None:
    result = ResultSet("id")
    result.apply({"new_val": {"id": 1, "tags": ["Red", "blue"]}})
    result.apply({"new_val": {"id": 2, "name": "RED wine"}})
    result.apply({"new_val": {"id": 3, "name": "green"}})
    view = TableView(result)
    view.configure(None, False, "red")
    assert ids(view) == [1, 2]


def test_a_limit_feed_reads_in_offset_order_until_sorted() -> None:
    result = ResultSet("id", positioned=True)
    for offset, i in enumerate([5, 3, 9]):
        result.apply({"new_val": {"id": i}, "new_offset": offset})
    view = TableView(result)
    assert ids(view) == [5, 3, 9]
    view.configure("id", False, "")
    assert ids(view) == [3, 5, 9]


def test_cell_text() -> None:
    assert cell_text("plain") == "plain"
    assert cell_text({"a": [1, None]}) == '{"a": [1, null]}'
    assert cell_text(True) == "true"
