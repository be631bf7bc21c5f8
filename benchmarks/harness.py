"""What the benchmarks that run kernels and browsers share: code that notes how long a kernel's loop is held, code
run in a kernel through jupyter_client, a database with JupyterLab and Chromium started together, and figures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from jupyter_lab import CHROMIUM_FLAGS, Lab, chromium_path, serve  # noqa: E402
from servers import ServerProcess, start_server  # noqa: E402

# Run in a kernel: a task that sleeps 5 ms and notes its lateness, so `lag["max"]` is the longest the loop was held.
LOOP_PROBE = """
import asyncio, time
lag = {"max": 0.0}
async def _probe():
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        lag["max"] = max(lag["max"], time.perf_counter() - before - 0.005)
_probing = asyncio.ensure_future(_probe())
"""


# s: loading a million rows may take minutes on a loaded machine; code that never ends fails its run.
TIMEOUT = 900


def run(client: BlockingKernelClient, code: str, timeout: float = TIMEOUT) -> str:
    """Runs code in the kernel; returns what it printed."""
    printed: list[str] = []

    def output(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

    reply = client.execute_interactive(code, store_history=False, timeout=timeout, output_hook=output)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the kernel raised {''.join(printed)}")
    return "".join(printed)


@contextmanager
def lab_and_browser(directory: Path) -> Iterator[tuple[ServerProcess, Lab, Browser]]:
    """A database (the embedded server), a JupyterLab whose kernels use it, and Chromium, stopped afterwards."""
    server = start_server(directory / "database")
    try:
        with serve("lab", server, directory) as lab, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            try:
                yield server, lab, browser
            finally:
                browser.close()
    finally:
        server.stop()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
