"""Coalescing updates: the first change after a quiet spell at once, then a bounded rate."""

from __future__ import annotations

import asyncio
import itertools

from rethink_widgets.live_widget import Budget, Throttle, asset


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
    assert asset("live_table.js").read_text().rstrip().endswith("export default { render };")


def test_widgets_share_a_budget() -> None:
    """Fifty busy widgets together flush no faster than the kernel's shared budget."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        flushes: list[float] = []
        budget = Budget(per_second=100)
        throttles = [Throttle(loop, lambda: flushes.append(loop.time()), 30, budget) for _ in range(50)]
        for _ in range(20):
            for throttle in throttles:
                throttle.poke()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        return flushes

    flushes = asyncio.run(main())
    busiest = max(sum(1 for t in flushes if start <= t < start + 0.2) for start in flushes)
    assert len(flushes) > 20 and busiest <= 21  # 100 a second: 20 in any 0.2 s, one more at the window's edge
