"""Sorting rows as they come from the driver (Python values), in ReQL's order of types.

ReQL orders values of different types by type name: arrays, booleans, null, numbers, objects, binary, times,
strings. Views sort their rows the same way, so a table sorted by a mixed column reads as it would in `order_by`.

A value's key is (group, comparable): its type's place in that order and a value that compares within the type.
Sorting a million rows by such tuples takes seconds; `sorted_positions` sorts the comparables of each group as
plain floats or strings instead, which Python sorts several times faster, in runs merged pairwise, so that no
single step takes long: it is a generator that yields between steps and returns the sorted positions.
"""

from __future__ import annotations

import array
import bisect
import datetime
from collections.abc import Callable, Generator, Sequence
from typing import Any

_ARRAY, _BOOL, _NULL, _NUMBER, _OBJECT, _BINARY, _TIME, _STRING = range(8)
# Types whose values compare as they are (numbers as floats, as ReQL holds them) and so sort in one group.
_LAST_TYPE = _STRING
_SIMPLE = {int: _NUMBER, float: _NUMBER, str: _STRING, bool: _BOOL}

Steps = Generator[None, None, Any]


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders any driver value as ReQL orders it (objects by their sorted items)."""
    if value is None:
        return (_NULL, 0)
    if isinstance(value, bool):
        return (_BOOL, value)
    if isinstance(value, int | float):
        return (_NUMBER, float(value))
    if isinstance(value, str):
        return (_STRING, value)
    if isinstance(value, list | tuple):
        return (_ARRAY, tuple(sort_key(item) for item in value))
    if isinstance(value, dict):
        return (_OBJECT, tuple((str(k), sort_key(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))))
    if isinstance(value, datetime.datetime):
        return (_TIME, value.timestamp())
    if isinstance(value, bytes | bytearray):
        return (_BINARY, bytes(value))
    return (_STRING, str(value))


def sort_keys(values: list[Any]) -> tuple[int | list[int], Sequence[Any]]:
    """The `sort_key` of each value as two columns, groups and comparables; the groups are one number when the
    values share a simple type, the common case, which takes no Python loop at all. Numbers are held in an array:
    unlike a list of a million floats, the garbage collector never walks it."""
    groups = {_SIMPLE.get(kind) for kind in set(map(type, values))}
    if len(groups) == 1 and (group := groups.pop()) is not None:
        return group, array.array("d", map(float, values)) if group == _NUMBER else values
    keys = list(map(sort_key, values))
    return [key[0] for key in keys], [key[1] for key in keys]


def inverted(group: int, comparable: Any) -> tuple[int, Any]:
    """A key that sorts as `(group, comparable)` does, backwards (for a descending sort key)."""
    return _LAST_TYPE - group, inverted_comparable(comparable)


class _Backwards:
    """A comparable that sorts backwards: for strings and nested values, which have no negative."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Backwards) -> bool:
        return bool(other.value < self.value)

    def __le__(self, other: _Backwards) -> bool:
        return bool(other.value <= self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Backwards) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def inverted_comparable(comparable: Any) -> Any:
    """A comparable that sorts backwards among those of its type."""
    if isinstance(comparable, bool):
        return not comparable
    if isinstance(comparable, float):
        return -comparable
    return _Backwards(comparable)


def sorted_positions(positions: Sequence[int], groups: int | list[int], comparables: Sequence[Any], run: int) -> Steps:
    """`positions` (indexes into the two columns) sorted by group and then comparable, stably: positions that tie
    keep their order. Runs of `run` positions are sorted a step each, then merged pairwise a step each."""
    if isinstance(groups, int):
        return (yield from _sorted_by(positions, comparables, run))
    by_group: dict[int, list[int]] = {}
    for start in range(0, len(positions), run):
        for position in positions[start : start + run]:
            by_group.setdefault(groups[position], []).append(position)
        yield
    ordered: list[int] = []
    for group in sorted(by_group):
        ordered.extend((yield from _sorted_by(by_group.pop(group), comparables, run)))
    return ordered


def _sorted_by(positions: Sequence[int], comparables: Sequence[Any], run: int) -> Steps:
    key = comparables.__getitem__
    runs = []
    for start in range(0, len(positions), run):
        runs.append(sorted(positions[start : start + run], key=key))
        yield
    while len(runs) > 1:
        paired = []
        for left in range(0, len(runs) - 1, 2):
            paired.append((yield from _merged(runs[left], runs[left + 1], key, run)))  # noqa: PERF401 (it yields)
        runs = paired + runs[len(paired) * 2 :]
    return runs[0] if runs else []


def _merged(first: list[int], second: list[int], key: Callable[[int], Any], run: int) -> Steps:
    """Two sorted runs merged, those of `first` before those of `second` that tie, about `run` positions a step."""
    if key(first[-1]) <= key(second[0]):  # already in order, as rows in primary key order are
        first.extend(second)  # grown in place: a new list of a million would be young, walked by the collector
        return first
    merged: list[int] = []
    i = j = 0
    while i < len(first):
        # Up to `run` of the first, and the second's that go before the last of them.
        i_end = min(len(first), i + run)
        j_end = bisect.bisect_left(second, key(first[i_end - 1]), j, key=key)
        part = first[i:i_end] + second[j:j_end]
        part.sort(key=key)  # two sorted runs: Python's sort merges them in one linear pass, stably
        merged.extend(part)
        i, j = i_end, j_end
        yield
    merged.extend(second[j:])
    return merged
