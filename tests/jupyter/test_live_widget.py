"""Coalescing updates (the first change after a quiet spell at once, then a bounded rate), and what every live
widget shares in a kernel: a status that is current, and view updates applied on the main thread."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB

from rethink_widgets.jupyter.live_widget import Budget, Throttle, asset


def test_a_burst_of_pokes_makes_few_flushes() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        flushes: list[float] = []
        throttle = Throttle(loop, lambda: flushes.append(loop.time()), per_second=10, budget=Budget(1000))
        throttle.poke()
        await asyncio.sleep(0)
        assert len(flushes) == 1  # at once after quiet
        for _ in range(1000):
            throttle.poke()
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0.25)
        return flushes

    flushes = asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(flushes)]
    assert len(flushes) < 1000 / 10 and min(gaps) >= 0.099


def test_cancel_drops_a_pending_flush() -> None:
    async def main() -> int:
        flushes: list[int] = []
        throttle = Throttle(asyncio.get_running_loop(), lambda: flushes.append(1), per_second=10, budget=Budget(1000))
        throttle.poke()
        throttle.cancel()
        await asyncio.sleep(0.01)
        return len(flushes)

    assert asyncio.run(main()) == 0


def test_front_end_modules_are_found() -> None:
    # The bundle (js/ built by esbuild) ends with `export default { render };` in esbuild's words.
    module = asset("live_table.js").read_text()
    assert re.search(r"var (\w+) = \{ render \};\s*export \{\s*\1 as default\s*\};\s*$", module)


def test_a_missing_front_end_says_how_to_build_it() -> None:
    with pytest.raises(FileNotFoundError, match="npm ci && npm run build"):
        asset("no_such_widget.js")


class RecordingBudget(Budget):
    """A budget that remembers the slots it gave out."""

    def __init__(self, per_second: float) -> None:
        super().__init__(per_second)
        self.slots: list[float] = []

    def reserve(self, now: float) -> float:
        wait = super().reserve(now)
        self.slots.append(now + wait)
        return wait


def test_widgets_share_a_budget() -> None:
    """Fifty busy widgets together flush no faster than the kernel's shared budget."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        flushes: list[float] = []
        throttles = [Throttle(loop, lambda: flushes.append(loop.time()), 30, budget) for _ in range(50)]
        for _ in range(20):
            for throttle in throttles:
                throttle.poke()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        return flushes

    budget = RecordingBudget(per_second=100)
    flushes = asyncio.run(main())
    # Every flush took a slot of the shared budget (some slots are still to come), and the slots are 1/100 s apart,
    # whoever took them. (The times the flushes ran are not checked: a loop that stalls runs late timers together.)
    assert 20 < len(flushes) <= len(budget.slots)
    assert all(later - earlier >= 0.01 - 1e-9 for earlier, later in itertools.pairwise(budget.slots))


# ---------------------------------------------------------------- in a real kernel


def test_status_and_repr_are_current_once_ready(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": 1}, {"id": 2}]).run(conn)
    cell = kernel.run(
        f"t9 = LiveTable(r.table('{table}')); t10 = LiveTable(r.table('{table}').get(1))\n"
        "await t9.ready(); await t10.ready()\n"
        "t9.status, t10"
    )
    assert cell.text == f"('ready', LiveTable(test.{table}, 1 row, ready))"


def test_view_updates_from_a_subshell_are_applied_on_the_main_thread(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i} for i in range(15)]).run(conn)
    cell = kernel.run(f"t = LiveTable(r.table('{table}'), page_size=10); await t.ready(); t")
    comm = kernel.widget(cell)
    kernel.run(
        "import threading; on_main = []\n"
        "t.observe(lambda _: on_main.append(threading.current_thread() is threading.main_thread()), names='filter')"
    )
    subshell = kernel.subshell()
    kernel.drain(quiet=1.5)  # the widget's own updates from the main loop die down ...
    kernel.run("t.message = 'from a subshell'", subshell=subshell)  # ... so the comm now hears from that subshell
    kernel.send_update(comm, {"filter": "1"}, subshell)
    filtered = ["1", "10", "11", "12", "13", "14"]
    kernel.wait_for(lambda: [row["key"] for row in kernel.state(comm)["window_rows"]] == filtered, what="filtered")
    assert kernel.run("on_main, t.filter").text == "([True], '1')"


def test_a_view_asking_is_answered_while_a_cell_runs(kernel: Kernel, table: str) -> None:
    """Views ask every few seconds whether the kernel still has their widget. ipykernel routes a comm's messages to
    the subshell it last sent from: there, the answer comes at once even while a cell keeps the main thread busy."""
    comm = kernel.widget(kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready(); t"))
    subshell = kernel.subshell()
    kernel.drain(quiet=1.5)  # the widget's own updates from the main loop die down ...
    kernel.run("t.message = 'from a subshell'", subshell=subshell)  # ... so the comm now hears from that subshell
    running = kernel.start("import time; time.sleep(60)")
    # Asked once the cell runs: an interrupt sent before it ran would be lost, and the cell would run its full minute.
    kernel.wait_for(lambda: running in kernel.busy, what="the cell to run")
    kernel.send_custom(comm, {"type": "hello"}, subshell)
    try:
        kernel.wait_for(lambda: (comm, {"type": "live"}) in kernel.custom, timeout=45, what="the kernel's answer")
    finally:
        kernel.manager.interrupt_kernel()
        kernel.finish(running)
