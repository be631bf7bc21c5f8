"""The garbage collector held off for a burst of work, and on again after it, as it was."""

from __future__ import annotations

import asyncio
import gc

import pytest

from rethink_widgets.jupyter import collector


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_failure() -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError
    assert gc.isenabled()


def test_a_collector_turned_off_by_its_user_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_holds_nest_and_the_collector_comes_on_with_the_last() -> None:
    async def main() -> list[bool]:
        seen = []
        first, second = collector.Hold(), collector.Hold()
        first.start()
        second.start()
        with collector.paused():
            seen.append(gc.isenabled())
        await asyncio.sleep(0)
        first.stop()
        seen.append(gc.isenabled())
        second.stop()
        second.stop()  # (a second stop, as after a failure, is nothing)
        seen.append(gc.isenabled())
        return seen

    assert asyncio.run(main()) == [False, False, True]


def test_a_hold_lets_the_collector_run_after_a_while_until_renewed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot that stalls must not keep the collector off for the garbage others make meanwhile."""
    monkeypatch.setattr(collector, "HOLD_SECONDS", 0.05)

    async def main() -> list[bool]:
        hold = collector.Hold()
        hold.start()
        seen = [gc.isenabled()]
        await asyncio.sleep(0.1)
        seen.append(gc.isenabled())
        hold.renew()
        seen.append(gc.isenabled())
        hold.stop()
        hold.renew()  # (stopped: not taken again)
        seen.append(gc.isenabled())
        return seen

    assert asyncio.run(main()) == [False, True, False, True]


def test_a_hold_leaves_a_collector_its_user_turned_off_off() -> None:
    async def main() -> bool:
        hold = collector.Hold()
        hold.start()
        hold.stop()
        return gc.isenabled()

    gc.disable()
    try:
        assert asyncio.run(main()) is False
    finally:
        gc.enable()


def test_overlapping_holds_let_the_collector_run_every_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two snapshots coming in at once, each taking the collector again at its own pace: it still runs."""
    monkeypatch.setattr(collector, "HOLD_SECONDS", 0.05)

    async def main() -> set[bool]:
        first, second = collector.Hold(), collector.Hold()
        first.start()
        await asyncio.sleep(0.025)  # (half a round: alone, each would end its round while the other holds)
        second.start()
        seen = set()
        for _ in range(250):  # each renews between its blocks of work, about every millisecond
            await asyncio.sleep(0.001)
            seen.add(gc.isenabled())
            first.renew()
            second.renew()
        first.stop()
        second.stop()
        return seen

    assert asyncio.run(main()) == {False, True}
    assert gc.isenabled()


def test_a_stopped_hold_lets_go_once_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its round ending after it stopped lets nothing go again (the next pause must still hold the collector)."""
    monkeypatch.setattr(collector, "HOLD_SECONDS", 0.02)

    async def main() -> bool:
        hold = collector.Hold()
        hold.start()
        hold.stop()
        await asyncio.sleep(0.05)
        with collector.paused():
            return gc.isenabled()

    assert asyncio.run(main()) is False
    assert gc.isenabled()
