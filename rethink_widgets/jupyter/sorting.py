"""Sorting rows as they come from the driver (Python values), in ReQL's order of types.

ReQL orders values of different types by type name: arrays, booleans, null, numbers, objects, binary, times,
strings. Views sort their rows the same way, so a table sorted by a mixed column reads as it would in `order_by`.

A value's key is (group, comparable): its type's place in that order and a value that compares within the type.
Sorting a million rows by such tuples takes seconds; `sorted_positions` sorts the comparables of each group as
plain floats or strings instead, which Python sorts several times faster, in runs then merged in one pass, so that
no single step takes long: it is a generator that yields between steps and returns the sorted positions. A
descending key is sorted forwards over the positions reversed, then reversed; its `inverted` keys (which entries
hold, so that each key of a sort has its own direction) are, for numbers, texts and booleans, plain values too.
"""

from __future__ import annotations

import array
import bisect
import datetime
import itertools
import operator
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

_ARRAY, _BOOL, _NULL, _NUMBER, _OBJECT, _BINARY, _TIME, _STRING = range(8)
# Types whose values compare as they are (numbers as floats, as ReQL holds them) and so sort in one group.
_LAST_TYPE = _STRING
_SIMPLE = {int: _NUMBER, float: _NUMBER, str: _STRING, bool: _BOOL}

Steps = Generator[None, None, Any]


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders any driver value as ReQL orders it (objects by their sorted items)."""
    kind = type(value)  # (texts and numbers first: most keys and columns hold them)
    if kind is str:
        return (_STRING, value)
    if kind is int or kind is float:
        return (_NUMBER, float(value))
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


def sort_keys(values: list[Any], run: int, key: Callable[[Any], tuple[int, Any]] = sort_key) -> Steps:
    """The `key` of each value as two columns, groups and comparables, a step per `run` values; returns the two. The
    groups are one number when the values share a simple type, the common case, which takes C loops only. Numbers
    are held in an array: unlike a list of a million floats, the garbage collector never walks it."""
    kinds: set[type] = set()
    for start in range(0, len(values), run):
        kinds.update(map(type, values[start : start + run]))
        yield
    groups = {_SIMPLE.get(kind) for kind in kinds}
    if len(groups) == 1 and (group := groups.pop()) is not None:
        if group != _NUMBER:
            return group, values
        numbers = array.array("d")
        for start in range(0, len(values), run):
            numbers.extend(map(float, values[start : start + run]))
            yield
        return group, numbers
    each: list[int] = []
    comparables: list[Any] = []
    for start in range(0, len(values), run):
        keys = list(map(key, values[start : start + run]))
        each.extend(map(_GROUP, keys))
        comparables.extend(map(_COMPARABLE, keys))
        yield
    return each, comparables


_GROUP = operator.itemgetter(0)
_COMPARABLE = operator.itemgetter(1)


def inverted(group: int, comparable: Any) -> tuple[int, Any]:
    """A key that sorts as `(group, comparable)` does, backwards (for a descending sort key)."""
    return _LAST_TYPE - group, inverted_comparable(comparable)


class _Backwards:
    """A comparable that sorts backwards: for nested values and binary data, which have no negative (its
    comparisons run in Python, so the common types get inverted values that compare in C)."""

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


# A text's backwards comparable: its UTF-8 bytes (which sort as its code points do, lone surrogates included) each
# turned round within 0x00-0xF4, the bytes UTF-8 uses, then 0xFF, above them all, so that a text sorts after the
# longer texts it starts.
_TURNED_ROUND = bytes(0xF4 - byte if byte <= 0xF4 else byte for byte in range(256))
_AFTER_ALL = b"\xff"


def _backwards_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(_TURNED_ROUND) + _AFTER_ALL


def inverted_comparable(comparable: Any) -> Any:
    """A comparable that sorts backwards among those of its type."""
    if isinstance(comparable, bool):
        return not comparable
    if isinstance(comparable, int | float):
        return -comparable
    if isinstance(comparable, str):
        return _backwards_text(comparable)
    return _Backwards(comparable)


def inverted_comparables(group: int, comparables: Sequence[Any]) -> Sequence[Any]:
    """`inverted_comparable` of each of a group's comparables, by C loops for numbers, texts and booleans."""
    if group == _NUMBER:
        return array.array("d", map(operator.neg, comparables))
    if group == _STRING:
        encoded = map(str.encode, comparables, itertools.repeat("utf-8"), itertools.repeat("surrogatepass"))
        turned = map(bytes.translate, encoded, itertools.repeat(_TURNED_ROUND))
        return list(map(operator.add, turned, itertools.repeat(_AFTER_ALL)))
    if group == _BOOL:
        return list(map(operator.not_, comparables))
    return list(map(inverted_comparable, comparables))


def sorted_positions(positions: Sequence[int], groups: int | list[int], comparables: Sequence[Any], run: int) -> Steps:
    """`positions` (indexes into the two columns) sorted by group and then comparable, stably: positions that tie
    keep their order; returns them as an array. Runs of `run` positions are sorted a step each, then merged about
    `run` positions a step. Positions are held in arrays between steps: a list of a million would hold a million
    int objects, and the garbage collector would walk them."""
    if isinstance(groups, int):
        return (yield from _sorted_by(positions, comparables, run))
    by_group: dict[int, array.array[int]] = {}
    for start in range(0, len(positions), run):
        for position in positions[start : start + run]:
            by_group.setdefault(groups[position], _positions()).append(position)
        yield
    ordered = _positions()
    for group in sorted(by_group):
        ordered.extend((yield from _sorted_by(by_group.pop(group), comparables, run)))
    return ordered


def _positions(items: Iterable[int] = ()) -> array.array[int]:
    return array.array("q", items)


def _sorted_by(positions: Sequence[int], comparables: Sequence[Any], run: int) -> Steps:
    key = comparables.__getitem__
    runs = []
    for start in range(0, len(positions), run):
        runs.append(_positions(sorted(positions[start : start + run], key=key)))
        yield
    if all(key(first[-1]) <= key(second[0]) for first, second in itertools.pairwise(runs)):
        ordered = _positions()  # already in order, as rows in primary key order are
        for positions_run in runs:
            ordered.extend(positions_run)
        return ordered
    return (yield from _merged(runs, key, run))


def _merged(runs: list[array.array[int]], key: Callable[[int], Any], run: int) -> Steps:
    """Sorted runs (of positions in that order) merged stably, in one pass: cut at values taken from them, the
    parts between two values (about `run` positions) each sorted in one call, a step each (a sort merges the
    sorted pieces of a part in a linear pass); those equal to a value need no sort at all."""
    merged = _positions()
    starts = [0] * len(runs)

    def take(cut: Callable[..., int], value: Any) -> list[array.array[int]]:
        """The positions of each run from where the last part ended up to `cut` at `value`."""
        pieces = []
        for index, positions in enumerate(runs):
            stop = cut(positions, value, starts[index], key=key) if value is not _END else len(positions)
            pieces.append(positions[starts[index] : stop])
            starts[index] = stop
        return pieces

    for value in [*_splitters(runs, key, run), _END]:
        below = list(itertools.chain.from_iterable(take(bisect.bisect_left, value)))
        below.sort(key=key)
        merged.extend(below)
        if value is not _END:
            for equal in take(bisect.bisect_right, value):
                merged.extend(equal)
        yield
    return merged


_END = object()


def _splitters(runs: list[array.array[int]], key: Callable[[int], Any], run: int) -> list[Any]:
    """Distinct values, in order, that cut the runs together into parts of about `run` positions between two of
    them: every so many of a sample taken from each run at even spaces (a part's positions lie between two
    samples of each run, so it exceeds `run` by at most a spacing for each run)."""
    spacing = max(1, run // (4 * len(runs)))
    samples = sorted(map(key, itertools.chain.from_iterable(positions[spacing // 2 :: spacing] for positions in runs)))
    count = sum(map(len, runs)) // run + 1  # parts
    return list(dict.fromkeys(samples[len(samples) * part // count] for part in range(1, count)))
