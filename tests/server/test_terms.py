"""Compiling query terms: numbers read as RethinkDB reads them (every one a double)."""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.evaluation.terms import as_double


def test_integers_beyond_2_to_the_53_become_doubles_at_any_depth() -> None:
    big = 2**53 + 1
    value: dict[str, Any] = {"a": big, "b": [1, {"c": -big}], "d": {"e": [True, None, "x", 2.5]}}
    read = as_double(value)
    assert read == {"a": float(big), "b": [1, {"c": float(-big)}], "d": {"e": [True, None, "x", 2.5]}}
    assert [type(read["a"]), type(read["b"][1]["c"])] == [float, float]
    assert value["a"] == big and value["b"][1]["c"] == -big  # what was read from the wire is left as it was


def test_a_value_with_no_such_integer_comes_back_as_it_is() -> None:
    doc = {"v": 2**53, "text": "t", "flag": False, "nested": {"list": [1, -(2**53), 1.5]}}
    assert as_double(doc) is doc
    assert as_double([doc, 3])[0] is doc
    assert type(as_double(True)) is bool and as_double(2**60) == float(2**60)
