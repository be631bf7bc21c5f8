"""The JavaScript worker process on its own: its answers, one query's globals kept from the next, and that it never
outlives its server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from background import eventually

FOREVER = "while (true) {}"


class Worker:
    def __init__(self, parent: int, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rethink_widgets.server.javascript_worker", str(parent)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )

    def send(self, query: int, source: str, args: list[Any] | None = None, timeout: float = 5) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(
            json.dumps({"query": query, "source": source, "args": args, "timeout": timeout}) + "\n"
        )
        self.process.stdin.flush()

    def ask(self, query: int, source: str, args: list[Any] | None = None, timeout: float = 5) -> dict[str, Any]:
        self.send(query, source, args, timeout)
        assert self.process.stdout is not None
        reply: dict[str, Any] = json.loads(self.process.stdout.readline())
        return reply


@pytest.fixture
def worker() -> Iterator[Worker]:
    found = Worker(os.getpid())
    yield found
    found.process.kill()
    found.process.wait()


def test_answers(worker: Worker) -> None:
    assert worker.ask(1, "[1, 'a', {b: null}]") == {"value": [1, "a", {"b": None}]}
    assert worker.ask(1, "(function (a, b) { return a * b; })") == {"function": True}
    assert worker.ask(1, "(function (a, b) { return a * b; })", [6, 7]) == {"value": 42}
    time = {"$reql_type$": "TIME", "epoch_time": 1.5, "timezone": "+02:00"}
    # A time goes in as a Date and comes back in UTC, as in RethinkDB.
    assert worker.ask(1, "(function (t) { return t; })", [time]) == {"value": {**time, "timezone": "+00:00"}}
    assert worker.ask(1, "null.x") == {"error": "TypeError: cannot read property 'x' of null"}
    assert worker.ask(1, FOREVER, timeout=0.2) == {"timeout": True}


def test_text_is_utf8_whatever_the_locale() -> None:
    worker = Worker(os.getpid(), {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"})
    try:
        assert worker.ask(1, "'é' + '😀'") == {"value": "é😀"}
        assert worker.ask(1, "(function (s) { return s.length; })", ["é😀"]) == {"value": 3}
    finally:
        worker.process.kill()
        worker.process.wait()


def test_queries_do_not_share_globals(worker: Worker) -> None:
    assert worker.ask(1, "var kept = 'one'; kept") == {"value": "one"}
    assert worker.ask(1, "kept") == {"value": "one"}
    assert worker.ask(2, "typeof kept") == {"value": "undefined"}


def test_the_worker_ends_with_its_server_even_inside_a_script() -> None:
    # A worker whose server has gone already by the time it starts (its parent is not the server it was told of).
    orphan = Worker(os.getppid())
    orphan.send(1, FOREVER, timeout=600)
    eventually(lambda: orphan.process.poll() is not None)


def test_the_worker_ends_when_its_server_closes_the_pipe(worker: Worker) -> None:
    assert worker.process.stdin is not None
    worker.process.stdin.close()
    assert worker.process.wait(30) == 0
