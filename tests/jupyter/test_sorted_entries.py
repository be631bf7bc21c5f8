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


@pytest.mark.parametrize("held_count", [0, 5, 3 * CHUNK])
def test_entries_added_together_read_as_a_sorted_list(held_count: int) -> None:
    rng = random.Random(held_count)
    held = SortedEntries()
    reference = sorted((rng.randrange(10_000), 0, i) for i in range(held_count))
    held.extend_sorted(list(reference))
    for batch in range(1, 41):
        count = rng.choice([1, 7, CHUNK // 3, 2 * CHUNK + 5])
        # after all held (a snapshot's rows in order), or anywhere among them, some in one chunk by the thousand
        low = reference[-1][0] + 1 if batch % 4 == 0 and reference else rng.choice([0, 5000])
        added = sorted((rng.randrange(low, low + (50 if batch % 3 else 10_000)), batch, i) for i in range(count))
        held.add_sorted(added)
        reference = sorted(reference + added)
        assert list(held) == reference and len(held) == len(reference)
        assert all(0 < len(chunk) <= 2 * CHUNK for chunk in held._chunks)
        assert held.between(len(reference) // 2, len(reference) // 2 + 3) == reference[len(reference) // 2 :][:3]
    for entry in reference[::7]:  # found where they went
        held.remove(entry)
    assert list(held) == [entry for index, entry in enumerate(reference) if index % 7]
