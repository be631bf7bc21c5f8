"""The worker pool: work runs on threads made as needed, and a thread lowered for a long query is retired after it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from rethink_widgets.server.workers import LOWERED_NICENESS, Workers, lower_priority


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(4, "test")
    yield pool
    pool.shutdown()


def thread_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def long_work() -> tuple[threading.Thread, int]:
    lower_priority()
    return threading.current_thread(), thread_priority()


def test_results_and_errors_reach_the_caller(workers: Workers) -> None:
    assert workers.submit(sum, [1, 2, 3]).result(5) == 6
    with pytest.raises(ZeroDivisionError):
        workers.submit(lambda: 1 / 0).result(5)


def test_work_runs_side_by_side_up_to_the_limit(workers: Workers) -> None:
    all_in = threading.Barrier(4, timeout=5)
    futures = [workers.submit(all_in.wait) for _ in range(4)]
    assert sorted(f.result(5) for f in futures) == [0, 1, 2, 3]


def test_work_beyond_the_limit_waits_for_a_thread(workers: Workers) -> None:
    release = threading.Event()
    busy = [workers.submit(release.wait, 5) for _ in range(4)]
    later = workers.submit(threading.current_thread)
    assert not later.done()
    release.set()
    assert all(f.result(5) for f in busy)
    assert later.result(5).name.startswith("test_")


def test_an_idle_thread_is_used_again(workers: Workers) -> None:
    first = workers.submit(threading.current_thread).result(5)
    assert workers.submit(threading.current_thread).result(5) is first


def test_a_lowered_thread_runs_at_a_lower_priority_and_is_retired(workers: Workers) -> None:
    lowered, priority = workers.submit(long_work).result(5)
    assert priority == LOWERED_NICENESS
    lowered.join(5)
    assert not lowered.is_alive()
    nxt = workers.submit(lambda: (threading.current_thread(), thread_priority())).result(5)
    assert nxt[0] is not lowered
    assert nxt[1] == os.getpriority(os.PRIO_PROCESS, 0)


def test_work_waiting_on_a_full_pool_is_served_by_a_lowered_thread() -> None:
    pool = Workers(1, "test")
    release = threading.Event()
    first = pool.submit(lambda: (release.wait(5), long_work())[1])
    queued = pool.submit(threading.current_thread)
    release.set()
    assert queued.result(5) is first.result(5)[0]
    pool.shutdown()


def test_fresh_threads_never_inherit_a_lowered_priority(workers: Workers) -> None:
    lowered, _ = workers.submit(long_work).result(5)
    lowered.join(5)
    assert workers.submit(thread_priority).result(5) == os.getpriority(os.PRIO_PROCESS, 0)


def test_shutdown_finishes_queued_work_then_refuses_more(workers: Workers) -> None:
    futures = [workers.submit(sum, [i]) for i in range(10)]
    workers.shutdown()
    assert [f.result(0) for f in futures] == list(range(10))
    with pytest.raises(RuntimeError, match="shut down"):
        workers.submit(sum, [])


def test_a_full_pool_of_retiring_threads_leaves_no_work_behind() -> None:
    pool = Workers(2, "test")
    release = threading.Event()
    long = [pool.submit(lambda: (release.wait(5), long_work())[1]) for _ in range(2)]
    queued = [pool.submit(thread_priority) for _ in range(2)]  # the pool is full: these wait for a thread
    release.set()
    for done in long:
        done.result(5)
    for waited in queued:
        waited.result(5)
    # Every thread ran a long query; later work still finds a thread.
    assert [pool.submit(sum, [n]).result(5) for n in range(4)] == [0, 1, 2, 3]
    pool.shutdown()
