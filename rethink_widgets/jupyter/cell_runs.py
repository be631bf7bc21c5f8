"""What a cell made is closed when the cell runs again: its widgets, watches and feeds go as soon as it runs again,
so re-running a cell never leaves a feed running behind.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, Protocol


class Closable(Protocol):
    def close(self) -> None: ...


# Per cell: the run (message id) that made its widgets, watches and feeds, and those.
_BY_CELL: dict[str, tuple[str, list[weakref.ref[Any]]]] = {}


def end_earlier_run() -> None:
    """Close what an earlier run of the cell being run made: its widgets and feeds go as soon as it runs again,
    whatever this run does (a widget refused in it too), so no feed is left running behind."""
    cell, run = current_cell()
    if cell is None:
        return
    earlier_run, made_there = _BY_CELL.get(cell, (run, []))
    if earlier_run != run:
        for ref in made_there:
            if (earlier := ref()) is not None:
                earlier.close()
        _BY_CELL[cell] = (run, [])


def replace_earlier_run(made: Closable) -> None:
    """Close what an earlier run of the cell being run made (`end_earlier_run`), and remember `made`, for the next
    run to close."""
    end_earlier_run()
    cell, run = current_cell()
    if cell is not None:
        _BY_CELL.setdefault(cell, (run, []))[1].append(weakref.ref(made))


def current_cell() -> tuple[str | None, str]:
    """The cell being run (its id when the front end sends one, as JupyterLab does, else its code) and this run's
    message id."""
    with contextlib.suppress(Exception):
        from IPython import get_ipython

        shell = get_ipython()
        parent = shell.kernel.get_parent() if shell is not None else None
        if parent:
            cell = parent.get("metadata", {}).get("cellId") or parent.get("content", {}).get("code")
            return cell, parent.get("header", {}).get("msg_id", "")
    return None, ""
