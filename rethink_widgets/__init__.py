"""rethink_widgets: live RethinkDB changefeed widgets for Jupyter, with an embedded ReQL server.

    %load_ext rethink_widgets
    LiveTable(r.table("todo"))

The widgets are imported on first use, so `python -m rethink_widgets.server` never loads Jupyter.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "LiveChart",
    "LiveTable",
    "TodoList",
    "connect",
    "feed",
    "load_ipython_extension",
    "unload_ipython_extension",
    "watch",
]

_LAZY = {
    "LiveChart": "rethink_widgets.jupyter.live_chart",
    "LiveTable": "rethink_widgets.jupyter.live_table",
    "TodoList": "rethink_widgets.jupyter.todo_list",
    "connect": "rethink_widgets.jupyter.extension",
    "watch": "rethink_widgets.jupyter.extension",
    "feed": "rethink_widgets.jupyter.extension",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rethink_widgets' has no attribute {name!r}")


def load_ipython_extension(shell: Any) -> None:
    from rethink_widgets.jupyter.extension import load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    from rethink_widgets.jupyter.extension import unload

    unload(shell)
