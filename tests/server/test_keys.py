"""The order-preserving key encoding: byte order equals ReQL order, and equal values encode equally."""

from __future__ import annotations

import random

from rethink_widgets.server import keys

TIME = "$reql_type$"

ORDERED = [
    keys.MINVAL,
    [], [1], [1, 2], [1, "a"], [2],
    False, True,
    None,
    -1e300, -5.5, -1, 0, 1, 1.5, 2**60,
    {}, {"a": 1}, {"a": 1, "b": 0}, {"a": 2}, {"b": 0},
    {TIME: "BINARY", "data": ""}, {TIME: "BINARY", "data": "AA=="},
    {TIME: "TIME", "epoch_time": -10, "timezone": "+00:00"}, {TIME: "TIME", "epoch_time": 5, "timezone": "+02:00"},
    "", "a", "a\x00", "a\x00b", "a\x01", "ab", "b", "é", "中",
    keys.MAXVAL,
]  # fmt: skip


def test_encoding_order_is_reql_order() -> None:
    shuffled = ORDERED[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=keys.encode) == ORDERED


def test_distinct_values_encode_distinctly() -> None:
    encoded = [keys.encode(v) for v in ORDERED]
    assert len(set(encoded)) == len(encoded)


def test_equal_values_encode_equally() -> None:
    assert keys.encode(1) == keys.encode(1.0)
    assert keys.encode(0.0) == keys.encode(-0.0)
    assert keys.encode({"b": 1, "a": 2}) == keys.encode({"a": 2, "b": 1})
    same_instant = [{TIME: "TIME", "epoch_time": 5, "timezone": tz} for tz in ("+00:00", "-07:00")]
    assert keys.encode(same_instant[0]) == keys.encode(same_instant[1])


def test_booleans_are_not_numbers() -> None:
    assert keys.encode(True) != keys.encode(1)
    assert keys.encode(False) != keys.encode(0)


def test_nul_in_strings_keeps_arrays_apart() -> None:
    assert keys.encode(["a", "b"]) != keys.encode(["a\x00Sb"])
