"""Viewer configurations tried out on scratch tables, away from the charts' own, which some of them would break.

Perspective takes some aggregates over a table with no rows, and fails on them only once it holds some, midway
through making the view: the average of text or of times over groups (`avg`, `mean`) aborts with "Unexpected dtype",
and that table's next update crashes the kernel. So such an aggregate must never reach a chart's table, nor the
viewer's configuration, from which views in the page make theirs: `sound_aggregates` leaves them out, having tried
each (aggregate, column type) once here. `scratch` is where chart_options.py tries a whole configuration.

The scratch tables are on a Perspective server of their own, which processes each change at once (the charts' is
polled: chart_engine.py), and each is deleted after its tries: deleting a broken table is safe, updating one is not.

Imports Perspective: only LiveChart imports this module, when it is made.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import perspective

_lock = threading.Lock()  # one scratch table at a time, from the kernel's loop or Perspective's thread
_client: Any = None
# A value of each Perspective type, for rows to try an aggregate over.
_VALUES = {"string": "text", "integer": 1, "float": 1.5, "boolean": True, "datetime": 1.7e12, "date": "2024-01-01"}


@contextlib.contextmanager
def scratch(schema: Mapping[str, str], columns: Mapping[str, list[Any]] | None = None) -> Iterator[Any]:
    """A table of `schema` holding `columns` (its rows, as Perspective's columns), deleted afterwards."""
    global _client
    with _lock:
        if _client is None:
            _client = perspective.Server().new_local_client()
        table = _client.table(dict(schema))
        try:
            if columns and any(columns.values()):  # Perspective refuses an update of no rows
                table.update(dict(columns))
            yield table
        finally:
            table.delete()


def view_error(table: Any, config: Mapping[str, Any]) -> str | None:
    """Perspective's error making a view of `table` with `config`, in its own words; None when it makes one."""
    try:
        view = table.view(**{name: value for name, value in config.items() if value is not None})
    except Exception as error:  # Perspective raises its own errors, and plain ones for values of the wrong shape
        return str(error).removeprefix("Abort(): ").strip() or type(error).__name__
    view.delete()
    return None


@functools.cache
def breaking(aggregate: str, column_type: str) -> str | None:
    """Perspective's error computing `aggregate` over groups of a column of `column_type` that holds values, when it
    takes it over no rows (a view failing so breaks its table); None when it computes it, or refuses it at once."""
    config = {"group_by": ["group"], "columns": ["value"], "aggregates": {"value": aggregate}}
    schema = {"group": "integer", "value": column_type}
    with scratch(schema) as empty:
        if view_error(empty, config) is not None:
            return None  # refused cleanly, whatever the rows: chart_options.py tells it
    value = _VALUES.get(column_type)
    with scratch(schema, {"group": [1, 2], "value": [value, value]}) as full:
        return view_error(full, config)


def sound_aggregates(
    aggregates: Mapping[str, Any], types: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`aggregates` without those that would break a table whose columns have these `types`, and those, by column:
    [aggregate, Perspective's error]."""
    kept: dict[str, Any] = {}
    aside: dict[str, list[str]] = {}
    for column, how in aggregates.items():
        why = breaking(how, types[column]) if isinstance(how, str) and column in types else None
        if why is None:
            kept[column] = how
        else:
            aside[column] = [how, why]
    return kept, aside
