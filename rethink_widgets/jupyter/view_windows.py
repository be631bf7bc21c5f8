"""The windows of rows a LiveTable's views show, each view's its own, so two views of one table scroll independently.

A view (named by an id it makes up) asks for the rows around those in sight; on every update after that, the kernel
sends it those rows when they differ from what it was last sent (see messages.py). Views come and go without the
kernel always hearing of it (a page reloaded, a tab closed), so what is kept is bounded:
- a view that says goodbye (it was removed) is forgotten at once;
- at most `MAX_VIEWS` are kept: a view asking beyond that pushes out the one that asked least recently;
- a view that has not asked for `RENEW_SECONDS` is sent its changed rows once more, and forgotten if it has not asked
  again `GRACE_SECONDS` later: a live view asks again when rows come that long after it asked (js/live_table.js).
Silence alone proves nothing, since a view whose rows do not change has no reason to speak, and nothing speaks to it
every so often (that would keep an idle kernel from being culled). A view forgotten while still there learns it from
the list of views kept, sent with every update that changes it, and asks again.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from rethink_widgets.jupyter import messages

MAX_WINDOW = 1000  # rows a view may ask for at once
MAX_VIEWS = 8
RENEW_SECONDS = 60.0
GRACE_SECONDS = 30.0


@dataclass
class Window:
    """The rows a view asked for, from `start` to `stop` (from 0, in display order)."""

    start: int
    stop: int
    asked: float  # when, on the kernel loop's clock
    offered: float | None = None  # when it was first sent rows long after it asked (it was due to ask again)
    sent: Hashable = None  # what it was last sent, in short (see `ViewWindows.send`)


class ViewWindows:
    """The views' windows, by view id, the view that asked least recently first."""

    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}
        self._kept: list[str] = []  # the views last told they are kept

    def ask(self, view: str, start: int, stop: int, now: float) -> None:
        """Keep `view`'s window from `start` to `stop`; ValueError when it is not one."""
        if not 0 <= start <= stop <= start + MAX_WINDOW:
            raise ValueError(
                f"A view's window must be from start to stop with 0 <= start <= stop <= start + {MAX_WINDOW}, not "
                f"from {start} to {stop}."
            )
        window = self._windows.pop(view, None)
        if window is None:
            window = Window(start, stop, now)
        else:  # what it was sent stays: rows it has already are not sent again
            window.start, window.stop, window.asked, window.offered = start, stop, now, None
        self._windows[view] = window
        while len(self._windows) > MAX_VIEWS:
            del self._windows[next(iter(self._windows))]

    def forget(self, view: str) -> None:
        self._windows.pop(view, None)

    def items(self) -> list[tuple[str, Window]]:
        return list(self._windows.items())

    def send(self, view: str, shown: Hashable, now: float) -> bool:
        """Whether to send `view` its rows, now `shown` (in short: what tells them apart); they are taken as sent.
        False when the view has them already, or has been forgotten: it was due to ask again and did not."""
        window = self._windows[view]
        if shown == window.sent:
            return False
        if now - window.asked > RENEW_SECONDS:
            if window.offered is None:
                window.offered = now
            elif now - window.offered > GRACE_SECONDS:
                del self._windows[view]
                return False
        window.sent = shown
        return True

    def message(self, windows: dict[str, dict[str, Any]]) -> messages.Rows | None:
        """What to tell the views: `windows`, the rows new to each, and which views are kept; None when that says
        nothing new."""
        kept = list(self._windows)
        if not windows and kept == self._kept:
            return None
        self._kept = kept
        return messages.Rows(windows, kept)
