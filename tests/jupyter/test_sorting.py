"""Driver values sort in ReQL's order of types."""

from __future__ import annotations

import datetime

from rethink_widgets.jupyter.sorting import sort_key


def test_order_of_types() -> None:
    when = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    values = ["s", when, b"\x00", {"a": 1}, 2.5, 1, None, False, True, [1]]
    assert sorted(values, key=sort_key) == [[1], False, True, None, 1, 2.5, {"a": 1}, b"\x00", when, "s"]


def test_within_a_type() -> None:
    assert sorted([[2], [1, 5], [1]], key=sort_key) == [[1], [1, 5], [2]]
    assert sorted([{"b": 1}, {"a": 2}], key=sort_key) == [{"a": 2}, {"b": 1}]
