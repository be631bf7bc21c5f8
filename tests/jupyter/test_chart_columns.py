"""Rows as Perspective columns: the type each field's values make, and the values as that column holds them."""

from __future__ import annotations

import datetime

import pytest

from rethink_widgets.jupyter import chart_columns
from rethink_widgets.jupyter.chart_columns import column_type, columns, converted, fit_for_index, kinds


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, -5, None], "integer"),
        ([1, 2**40], "float"),  # beyond Perspective's 32-bit integers, within what a float holds exactly
        ([2**60], "string"),  # beyond what a float holds exactly: text, no digit lost
        ([1, 2.5], "float"),
        ([True, False], "boolean"),
        ([True, 1], "string"),
        (["a", 1], "string"),
        ([{"a": 1}], "string"),
        ([[1, 2]], "string"),
        ([b"\x00"], "string"),
        ([datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)], "datetime"),
    ],
)
def test_a_columns_type_follows_the_kinds_of_its_values(values: list[object], expected: str) -> None:
    assert column_type(kinds(values)) == expected


def test_null_says_nothing_of_a_columns_type() -> None:
    assert kinds([None, None]) == set()
    assert kinds([None, "a"]) == {"string"}


def test_rows_become_columns_by_field_in_order_of_appearance() -> None:
    rows = [{"id": 1, "a": "x"}, {"id": 2, "b": True}]
    assert columns(rows) == {"id": [1, 2], "a": ["x", None], "b": [None, True]}
    assert columns([1, {"a": 2}]) == {"value": [1, None], "a": [None, 2]}


def test_values_go_in_exactly_or_visibly_changed() -> None:
    at = datetime.datetime(2024, 5, 1, 14, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert converted([0.1, None, 3], "float") == ["0.1", None, 3]  # floats as their text: read exactly
    assert converted([at, None], "datetime") == [at.timestamp() * 1000, None]
    texts = converted(["a\x00b", {"at": at, "n": 1}, b"\x00\x01", 2**60, None], "string")
    assert texts == [f"a{chart_columns.NUL_SHOWN}b", '{"at":"2024-05-01T12:30:00+00:00","n":1}', "<binary, 2 bytes>",
                     str(2**60), None]  # fmt: skip
    assert converted([1, 2], "integer") == [1, 2]


@pytest.mark.parametrize(
    ("keys", "fit"),
    [
        ([1, 2.0, 2**53], True),
        ([1.5], False),  # Perspective may read it a bit off: two keys a bit apart would be one row
        ([2.0**54], False),
        (["a", "b"], True),
        (["a\x00b"], False),  # Perspective cuts text at a NUL: it would be another key's row
    ],
)
def test_keys_are_fit_for_the_index_only_when_perspective_holds_them_exactly(keys: list[object], fit: bool) -> None:
    assert fit_for_index(keys) is fit
