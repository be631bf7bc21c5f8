"""The storage's write lock, which a query waiting for it may be stopped out of."""

from __future__ import annotations

import threading

from rethink_widgets.server import interrupts

LOCK_POLL_SECONDS = 0.05


class WriteLock:
    """The storage's (re-entrant) write lock. A query holding it never waits its turn: writers would wait too."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        # A query stopped while it waits for the lock gives up waiting; one stopped meanwhile writes nothing.
        if not self._lock.acquire(blocking=False):
            with interrupts.blocked():
                while not self._lock.acquire(timeout=LOCK_POLL_SECONDS):
                    interrupts.raise_if_interrupted()
        try:
            interrupts.raise_if_interrupted()
        except BaseException:
            self._lock.release()
            raise
        interrupts.entered_write_lock()

    def __exit__(self, *exc: object) -> None:
        interrupts.left_write_lock()
        self._lock.release()
