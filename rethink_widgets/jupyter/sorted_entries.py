"""Entries kept sorted in chunks, so one row's change moves a few thousand references, not a million.

A flat sorted list of a million entries moves megabytes on every insert or delete; here an entry goes into a chunk of
at most `2 * CHUNK` found by bisecting the chunks' last entries, as sortedcontainers' SortedList does. Unlike
SortedList it is filled from entries already in order a slice at a time, without sorting them again in one call
(which takes some 400 ms for a million entries, longer than the kernel's loop may be held).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from typing import Any

CHUNK = 1000

Entry = tuple[Any, ...]


class SortedEntries:
    def __init__(self) -> None:
        self._chunks: list[list[Entry]] = []
        self._lasts: list[Entry] = []  # the last entry of each chunk
        self._length = 0
        self._starts: list[int] | None = None  # where each chunk starts, worked out again after a change

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Entry]:
        return itertools.chain.from_iterable(self._chunks)

    def extend_sorted(self, entries: list[Entry]) -> None:
        """Append `entries`, in order and all after those held."""
        for start in range(0, len(entries), CHUNK):
            chunk = entries[start : start + CHUNK]
            self._chunks.append(chunk)
            self._lasts.append(chunk[-1])
        self._length += len(entries)
        self._starts = None

    def add_sorted(self, entries: list[Entry]) -> None:
        """Add `entries`, in order, none of them held: appended when they all come after those held (a snapshot's
        rows, arriving in the order shown), else each group merged into the chunk it falls in."""
        if not entries:
            return
        if not self._chunks or self._lasts[-1] < entries[0]:
            self.extend_sorted(entries)
            return
        groups: dict[int, list[Entry]] = {}
        last = len(self._chunks) - 1
        for entry in entries:  # (in order: the chunks they fall in come in order too)
            groups.setdefault(min(bisect.bisect_left(self._lasts, entry), last), []).append(entry)
        for at in reversed(groups):  # from the last: splitting a chunk moves those after it
            merged = self._chunks[at] + groups[at]
            merged.sort()  # (two runs in order: merged in one pass)
            pieces = [merged[start : start + CHUNK] for start in range(0, len(merged), CHUNK)]
            if len(pieces) > 1 and len(pieces[-1]) < CHUNK // 2:
                pieces[-2:] = [pieces[-2] + pieces[-1]]
            self._chunks[at : at + 1] = pieces
            self._lasts[at : at + 1] = [piece[-1] for piece in pieces]
        self._length += len(entries)
        self._starts = None

    def add(self, entry: Entry) -> None:
        self._length += 1
        self._starts = None
        if not self._chunks:
            self._chunks.append([entry])
            self._lasts.append(entry)
            return
        at = min(bisect.bisect_left(self._lasts, entry), len(self._chunks) - 1)
        chunk = self._chunks[at]
        bisect.insort(chunk, entry)
        self._lasts[at] = chunk[-1]
        if len(chunk) > 2 * CHUNK:
            self._chunks[at : at + 1] = [chunk[:CHUNK], chunk[CHUNK:]]
            self._lasts.insert(at, chunk[CHUNK - 1])

    def remove(self, entry: Entry) -> None:
        """Remove `entry`; ValueError when it is not held."""
        at = bisect.bisect_left(self._lasts, entry)
        if at == len(self._chunks):
            raise ValueError(f"{entry!r} is not held")
        chunk = self._chunks[at]
        index = bisect.bisect_left(chunk, entry)
        if chunk[index] != entry:
            raise ValueError(f"{entry!r} is not held")
        del chunk[index]
        if chunk:
            self._lasts[at] = chunk[-1]
        else:
            del self._chunks[at], self._lasts[at]
        self._length -= 1
        self._starts = None

    def between(self, start: int, stop: int) -> list[Entry]:
        """The entries from position `start` to `stop`, as a list slice reads."""
        start, stop = max(0, start), min(stop, self._length)
        if start >= stop:
            return []
        if self._starts is None:
            self._starts = list(itertools.accumulate(map(len, self._chunks), initial=0))
        at = bisect.bisect_right(self._starts, start) - 1
        found: list[Entry] = []
        offset = start - self._starts[at]
        while len(found) < stop - start:
            found.extend(self._chunks[at][offset : offset + stop - start - len(found)])
            at, offset = at + 1, 0
        return found

    def drop_some(self, count: int) -> bool:
        """Let go of about `count` entries (freeing a million at once holds the loop as long as making them);
        True when none is left."""
        del self._chunks[-max(1, count // CHUNK) :]
        del self._lasts[len(self._chunks) :]
        self._length = sum(map(len, self._chunks))
        self._starts = None
        return not self._chunks
