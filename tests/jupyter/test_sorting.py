"""Driver values sort in ReQL's order of types."""

from __future__ import annotations

import datetime
import random
from collections.abc import Generator
from typing import Any

import pytest

from rethink_widgets.jupyter.sorting import (
    inverted_comparable,
    inverted_comparables,
    sort_key,
    sort_keys,
    sorted_positions,
)


def test_order_of_types() -> None:
    when = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    values = ["s", when, b"\x00", {"a": 1}, 2.5, 1, None, False, True, [1]]
    assert sorted(values, key=sort_key) == [[1], False, True, None, 1, 2.5, {"a": 1}, b"\x00", when, "s"]


def test_within_a_type() -> None:
    assert sorted([[2], [1, 5], [1]], key=sort_key) == [[1], [1, 5], [2]]
    assert sorted([{"b": 1}, {"a": 2}], key=sort_key) == [{"a": 2}, {"b": 1}]


# Texts that order by code point in every tricky way: prefixes of one another, the empty text, NUL, combining marks,
# characters beyond the Basic Multilingual Plane, the last code point, a lone surrogate (Python holds one as text).
TEXTS = ["", "\x00", "a", "a\x00", "ab", "aß", "B", "é", "e\u0301", "ÿ", "\uffff", "😀", "\U0001d518", "\U0001d518a"]
TEXTS += ["\U0010ffff", "\ud800"]


def test_an_inverted_text_sorts_backwards_by_code_point() -> None:
    assert sorted(TEXTS, key=inverted_comparable) == sorted(TEXTS, reverse=True)
    for first in TEXTS:
        for second in TEXTS:
            assert (inverted_comparable(first) < inverted_comparable(second)) == (second < first), (first, second)


def test_inverted_columns_are_the_inverted_values() -> None:
    numbers = [3.5, -1.0, 0.0, 1e300, -(2.0**53)]
    assert list(inverted_comparables(sort_key(1)[0], numbers)) == [-3.5, 1.0, 0.0, -1e300, 2.0**53]
    assert list(inverted_comparables(sort_key("")[0], TEXTS)) == list(map(inverted_comparable, TEXTS))
    assert list(inverted_comparables(sort_key(True)[0], [True, False])) == [False, True]
    nested = [sort_key([1, "a"])[1], sort_key([1])[1]]
    backwards = sorted(inverted_comparables(sort_key([])[0], nested))
    assert [value.value for value in backwards] == sorted(nested, reverse=True)


def settled(steps: Generator[None, None, Any]) -> Any:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


@pytest.mark.parametrize("run", [7, 100, 5000])
@pytest.mark.parametrize("distinct", [1, 3, 40, 10_000])
def test_sorted_positions_are_pythons_stable_sort(run: int, distinct: int) -> None:
    """Runs cut and merged in one pass, with values often tied or all different, read as one stable sort."""
    rng = random.Random(run + distinct)
    texts: list[Any] = [str(rng.randrange(distinct)) for _ in range(3000)]
    numbers: list[Any] = [float(rng.randrange(distinct)) for _ in range(3000)]
    for values in [texts, numbers]:
        groups, comparables = settled(sort_keys(values, run))
        positions = list(range(len(values)))
        rng.shuffle(positions)  # ties keep this order
        ordered = settled(sorted_positions(positions, groups, comparables, run))
        assert list(ordered) == sorted(positions, key=values.__getitem__)


def test_sorted_positions_of_mixed_types() -> None:
    rng = random.Random(5)
    values = [rng.choice([1, 2.5, "b", "a", None, True, [1], {"k": 1}, b"x"]) for _ in range(2000)]
    groups, comparables = settled(sort_keys(values, 50))
    ordered = settled(sorted_positions(range(len(values)), groups, comparables, 50))
    assert list(ordered) == sorted(range(len(values)), key=lambda position: sort_key(values[position]))
