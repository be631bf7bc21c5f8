"""Turns between long runs: each waits its turn at its check points, and every one of them gets it, however late it
wakes up to take it."""

from __future__ import annotations

import threading
import time

import pytest

from rethink_widgets.server import fairness
from rethink_widgets.server.fairness import Turns
from rethink_widgets.server.interrupts import Interruptor, Run


def long_run(turns: Turns, connection: str, check_points: int) -> None:
    """A run that is long from its first check point on, doing a little work between check points."""
    run = Run(Interruptor(), ("admin", connection), turns)
    turns.begin(run)
    run.started -= 1  # (it began a second ago)
    try:
        for _ in range(check_points):
            run.checkpoint()
            time.sleep(0.0002)
    finally:
        turns.end(run)


def test_every_long_run_gets_its_turn_even_when_it_wakes_after_its_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    # A lease shorter than a thread takes to wake up: turns pass on before their holder has taken them (on a busy
    # machine a lowered thread can take longer than the real lease). A run passed over that way must still get one.
    monkeypatch.setattr(fairness, "LEASE", 0.0005)
    monkeypatch.setattr(fairness, "SLICE", 0.0002)
    turns = Turns()
    runs = [threading.Thread(target=long_run, args=(turns, f"c{i}", 300), daemon=True) for i in range(4)]
    for thread in runs:
        thread.start()
    deadline = time.monotonic() + 60
    for thread in runs:
        thread.join(max(0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in runs), "a long run never got its turn back"
