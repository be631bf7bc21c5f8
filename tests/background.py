"""Waiting in tests: for a condition to hold, and for work run on a thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def eventually(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Wait until `condition()` holds (generously: it is never a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.02)


def in_background(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run `work()` on a thread; the list receives its result or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome
