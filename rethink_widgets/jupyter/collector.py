"""Python's garbage collector held off while a burst of work makes tens of thousands of objects.

Left on, it runs a young collection every 700 new objects and moves what survives into older generations, so the
objects a burst makes and keeps for a moment (a feed's decoded batch, the entries of a new order) soon count as
long-lived and bring on full collections, each a walk of every object the kernel holds. Held off, the burst is
followed by one young collection, in which most of them are gone already.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block (none was run anyway if the collector was off already)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
