"""What changefeed subscriptions queue and test: one change as an `Entry`, and a range's `Bounds` as encoded keys."""

from __future__ import annotations

from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.evaluation.changefeed_sources import RangeWatch


class Entry:
    """One queued change: the document's key, its old and new values, and offsets on a limit feed.

    Feeds that follow the same documents share one entry per change, and with it the change document as JSON, in
    each shape (`text`, and `typed_text` with its `type`), so a write with a hundred feeds attached is encoded once.
    None until a feed encoded it; "" when the change shows nothing.
    """

    __slots__ = ("key", "new", "new_offset", "old", "old_offset", "text", "typed_text")

    def __init__(
        self, key: bytes, old: Any, new: Any, old_offset: int | None = None, new_offset: int | None = None
    ) -> None:
        self.key, self.old, self.new = key, old, new
        self.old_offset, self.new_offset = old_offset, new_offset
        self.text: str | None = None
        self.typed_text: str | None = None


class Bounds:
    """A range watch's bounds as encoded keys."""

    def __init__(self, watch: RangeWatch) -> None:
        self.low, self.high = keys.encode(watch.lower), keys.encode(watch.upper)
        self.low_open, self.high_open = watch.lower_open, watch.upper_open
        self.unbounded = watch.lower is keys.MINVAL and watch.upper is keys.MAXVAL

    def contains(self, key: bytes) -> bool:
        above = key > self.low or (key == self.low and not self.low_open)
        below = key < self.high or (key == self.high and not self.high_open)
        return above and below
