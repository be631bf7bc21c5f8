"""Entries kept sorted in chunks: the same as one sorted list, whatever is added and removed."""

from __future__ import annotations

import random

import pytest

from rethink_widgets.jupyter.sorted_entries import CHUNK, SortedEntries


def test_adds_and_removes_read_as_a_sorted_list() -> None:
    rng = random.Random(3)
    held = SortedEntries()
    start = sorted((rng.randrange(10_000), i) for i in range(3 * CHUNK))
    held.extend_sorted(start)
    reference = list(start)
    for i in range(6 * CHUNK):  # enough to split chunks and to empty some
        if reference and rng.random() < 0.45:
            entry = reference.pop(rng.randrange(len(reference)))
            held.remove(entry)
        else:
            entry = (rng.randrange(10_000), 10_000 + i)
            held.add(entry)
            reference.append(entry)
            reference.sort()
        if i % 500 == 0:
            assert list(held) == reference
    assert list(held) == reference and len(held) == len(reference)
    for start_at, stop in [(0, 10), (CHUNK - 3, CHUNK + 3), (len(reference) - 5, len(reference) + 5), (-4, 2)]:
        assert held.between(start_at, stop) == reference[max(0, start_at) : stop]
    with pytest.raises(ValueError, match="not held"):
        held.remove((-1, -1))


def test_letting_go_in_parts() -> None:
    held = SortedEntries()
    held.extend_sorted([(i,) for i in range(5 * CHUNK)])
    parts = 1
    while not held.drop_some(2 * CHUNK):
        parts += 1
        assert len(held) == len(list(held))
    assert parts == 3 and len(held) == 0 and held.between(0, 10) == []
