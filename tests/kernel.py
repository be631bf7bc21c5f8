"""A real IPython kernel driven through jupyter_client, seen the way a front end sees it.

`Kernel.run(code)` executes a cell and returns its outputs; every widget comm the kernel opens is followed, so
`state(comm_id)` is the model state a view would draw, and `send_custom`/`send_update` act as a view would.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager


@dataclass
class Cell:
    stdout: str = ""
    stderr: str = ""
    text: str = ""  # text/plain of the last result or display
    error: str = ""  # "Name: value" of an exception
    comms: list[str] = field(default_factory=list)  # widget comms opened while it ran


class Kernel:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env={**os.environ, **env})
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.states: dict[str, dict[str, Any]] = {}
        self.models: dict[str, str] = {}  # comm id -> model name (e.g. AnyModel)
        self.updates: list[tuple[float, str, dict[str, Any]]] = []  # (time sent, comm id, state) of every update
        self.custom: list[tuple[str, Any]] = []
        self.closed: set[str] = set()
        self.busy: set[str] = set()  # requests the kernel began to handle

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def subshell(self) -> str:
        """A new subshell (ipykernel 7): its own thread, as JupyterLab 4.4+ uses for comm messages."""
        self.client.control_channel.send(self.client.session.msg("create_subshell_request", {}))
        reply = self.client.get_control_msg(timeout=10)
        return str(reply["content"]["subshell_id"])

    def run(self, code: str, timeout: float = 60, subshell: str | None = None, cell_id: str | None = None) -> Cell:
        """Execute a cell; `cell_id` is sent in the request's metadata, as JupyterLab does."""
        return self.finish(self.start(code, subshell, cell_id), timeout)

    def finish(self, msg_id: str, timeout: float = 60) -> Cell:
        """Wait for a cell sent with `start` to finish; returns its outputs."""
        cell = Cell()
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if msg is None:
                raise TimeoutError(f"cell {msg_id} did not finish in {timeout} s")
            opened = self._follow(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if opened:
                cell.comms.append(opened)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                setattr(cell, content["name"], getattr(cell, content["name"]) + content["text"])
            elif kind in ("execute_result", "display_data"):
                cell.text = content["data"].get("text/plain", cell.text)
            elif kind == "error":
                cell.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return cell

    def start(self, code: str, subshell: str | None = None, cell_id: str | None = None) -> str:
        """Send a cell to run without waiting for it; returns the request's message id."""
        content = {"code": code, "silent": False, "store_history": True}
        msg = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else None)
        if subshell is not None:
            msg["header"]["subshell_id"] = subshell
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def wait_for(self, check: Callable[[], Any], timeout: float = 10, what: str = "a condition") -> Any:
        """Read what the kernel sends until `check()` is true; returns its value."""
        deadline = time.monotonic() + timeout
        while not (value := check()):
            if time.monotonic() > deadline:  # (also while the kernel keeps sending what does not satisfy it)
                raise TimeoutError(f"timed out waiting for {what}")
            msg = self._next(min(deadline, time.monotonic() + 0.1))
            if msg is not None:
                self._follow(msg)
        return value

    def drain(self, quiet: float = 0.3) -> None:
        """Read until the kernel has sent nothing for `quiet` seconds."""
        while (msg := self._next(time.monotonic() + quiet)) is not None:
            self._follow(msg)

    def state(self, comm_id: str) -> dict[str, Any]:
        return self.states[comm_id]

    def widget(self, cell: Cell) -> str:
        """The comm id of the anywidget a cell made."""
        return next(c for c in cell.comms if self.models.get(c) == "AnyModel")

    def open_widget(self, code: str, name: str = "w", before: str = "") -> tuple[str, Cell]:
        """Run `name = code` (a widget), wait until it is ready, kernel side and in its synced state; returns its comm
        id and the cell (whose text is the widget's repr). `before` runs first, in the same cell."""
        cell = self.run(f"{before}\n{name} = {code}; await {name}.ready(); {name}")
        assert not cell.error, cell.error
        comm = self.widget(cell)
        self.wait_for(lambda: self.state(comm)["status"] == "ready", what="ready")
        return comm, cell

    def send_update(self, comm_id: str, state: dict[str, Any], subshell: str | None = None) -> None:
        self._send(comm_id, {"method": "update", "state": state, "buffer_paths": []}, subshell)

    def send_custom(self, comm_id: str, content: dict[str, Any], subshell: str | None = None) -> None:
        self._send(comm_id, {"method": "custom", "content": content}, subshell)

    def _send(self, comm_id: str, data: dict[str, Any], subshell: str | None = None) -> None:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if subshell is not None:
            msg["header"]["subshell_id"] = subshell
        self.client.shell_channel.send(msg)

    def _next(self, deadline: float) -> dict[str, Any] | None:
        try:
            return self.client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def _follow(self, msg: dict[str, Any]) -> str | None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            comm_id: str = content["comm_id"]
            state = content["data"]["state"]
            self.states[comm_id] = dict(state)
            self.models[comm_id] = state.get("_model_name", "")
            return comm_id
        if kind == "comm_msg" and content["comm_id"] in self.states:
            data = content["data"]
            if data.get("method") == "update":
                self.states[content["comm_id"]].update(data["state"])
                sent = msg["header"]["date"].timestamp()  # when the kernel sent it, not when it was read here
                self.updates.append((sent, content["comm_id"], data["state"]))
            elif data.get("method") == "custom":
                self.custom.append((content["comm_id"], data["content"]))
        if kind == "comm_close":
            self.closed.add(content["comm_id"])
        if kind == "status" and content["execution_state"] == "busy":
            self.busy.add(msg["parent_header"].get("msg_id"))
        return None
