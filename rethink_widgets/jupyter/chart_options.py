"""LiveChart's viewer options, checked in the kernel, so that a mistake is told where it was made, not only as a blank
chart in the page.

A name Perspective's viewer does not take, or a value of the wrong shape, is refused in the cell that makes the chart
(`refuse_bad_options`). Whether Perspective takes the values (an aggregate's name, a sort direction, a filter
operator, the columns named) depends on the table's schema, which is known only once rows arrive: `problem` asks
Perspective itself, by making a view with the viewer's configuration over a scratch table of the same schema holding
a sample of the chart's rows (`SAMPLE_ROWS`: cheap, whatever the size of the chart's table; some values fail only
over rows), and says what it refused in plain words. Documents have no schema: a field no row has yet may come with
the next write, so an option naming one is not refused, nor is a column asked of LiveChart (`columns`, kept aside
by chart_table.ChartTable until a row has it); `problem` says the chart waits for it (a typo shows there), and
checks the rest of the configuration without it. An aggregate that would break the chart's table never reaches it
(the viewer sets it aside: chart_probe.py), and is told too. `OptionCheck` asks again whenever the options or the
table change, and LiveChart shows the answer in its status line (`message`).

Imports Perspective: only LiveChart imports this module, when it is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from perspective.widget.viewer import PerspectiveViewer
from traitlets import TraitError

from rethink_widgets.jupyter.chart_engine import engine
from rethink_widgets.jupyter.chart_probe import scratch, view_error
from rethink_widgets.jupyter.chart_table import KEY_COLUMN

log = logging.getLogger(__name__)

# The viewer's options a Perspective view is made with, in the order they are checked: expressions first, as the
# others may name the columns they make.
VIEW_OPTIONS = (
    "expressions",
    "columns",
    "group_by",
    "split_by",
    "aggregates",
    "sort",
    "filter",
    "group_rollup_mode",
    "split_rollup_mode",
)
_COLUMN = re.compile(r'"((?:[^"\\]|\\.)*)"')  # a column named in an expression
SAMPLE_ROWS = 100  # rows of the chart's table the configuration is tried over


def viewer_options() -> list[str]:
    """The options Perspective's viewer takes (its `version` aside: it is Perspective's own, set when restoring)."""
    names = inspect.signature(PerspectiveViewer.__init__).parameters
    return [name for name in names if name not in ("self", "version")]


def refuse_bad_options(options: dict[str, Any]) -> None:
    """Raise ValueError for an option Perspective's viewer does not take, or a value its traits refuse (a list of
    columns given as one name, say)."""
    known = viewer_options()
    unknown = [name for name in options if name not in known]
    if unknown:
        raise ValueError(
            f"LiveChart has no option {', '.join(map(repr, unknown))}; "
            f"Perspective's viewer options are: {', '.join(known)}"
        )
    lists = [options.get(option) for option in ("columns", "group_by", "split_by")]
    named = [name for names in lists if isinstance(names, list | tuple) for name in names]
    if not all(name is None or isinstance(name, str) for name in named):  # None: an empty slot (X/Y Scatter)
        raise ValueError(f"LiveChart's columns, group_by and split_by name columns by text; not {named!r}")
    try:
        PerspectiveViewer(**options)  # its traits check the values' shapes; no widget, no table
    except TraitError as error:
        raise ValueError(f"LiveChart's options are refused: {error}") from None


class OptionCheck:
    """Checks a viewer's configuration over its table whenever either changes (a table made anew as the schema
    widens, an option set from Python or in the page), and tells `say`, on the loop, what is wrong: "" once nothing
    is. `asked` are the columns asked of LiveChart. Perspective is asked on its own thread (chart_engine.py), so the
    loop never waits for it."""

    def __init__(
        self,
        viewer: Any,
        loop: asyncio.AbstractEventLoop,
        say: Callable[[str], None],
        asked: Sequence[str | None] = (),
    ) -> None:
        self._viewer = viewer
        self._loop = loop
        self._say = say
        self._asked = asked
        self._engine = engine()
        self._due = False  # a check is to be made soon (options set together are checked once)
        self._checks = 0  # checks begun: only the last one's answer is told
        viewer.observe(self._changed, names=[*VIEW_OPTIONS, "table_name", "aggregates_set_aside"])

    def _changed(self, _change: Any) -> None:
        if not self._due:
            self._due = True
            self._loop.call_soon_threadsafe(self._check)

    def _check(self) -> None:
        self._due = False
        viewer = self._viewer
        if viewer.comm is None or viewer.table is None:  # closed
            return
        self._checks += 1
        config = {name: getattr(viewer, name) for name in VIEW_OPTIONS}
        aside = set_aside(viewer.aggregates_set_aside)
        self._engine.do(functools.partial(self._ask, self._checks, viewer.table, config, aside))

    def _ask(self, check: int, table: Any, config: dict[str, Any], aside: str) -> None:
        """On Perspective's thread (or at once on the loop: see chart_engine.Engine.do)."""
        try:
            said = " ".join(filter(None, (aside, problem(table, config, self._asked))))
        except Exception:  # a table already replaced and deleted: a later check has its successor
            log.exception("Checking a LiveChart's options failed")
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the kernel is going away
            self._loop.call_soon_threadsafe(self._told, check, said)

    def _told(self, check: int, said: str) -> None:
        if check == self._checks and self._viewer.comm is not None:
            self._say(said)


def set_aside(aggregates: dict[str, list[str]]) -> str:
    """What the viewer's aggregates set aside (chart_table.Viewer) are, in plain words ("" when none)."""
    if not aggregates:
        return ""
    named = {column: how for column, (how, _) in aggregates.items()}
    errors = "; ".join(dict.fromkeys(why for _, why in aggregates.values()))
    them = "it" if len(named) == 1 else "them"
    return (
        f"Perspective refused the option aggregates={named!r}: {errors} once the table holds rows. The chart leaves "
        f"{them} out (Perspective would break the chart's table) and uses the column's default aggregate."
    )


def problem(table: Any, config: dict[str, Any], asked: Sequence[str | None] = ()) -> str:
    """What is wrong with a viewer's configuration (its VIEW_OPTIONS) over `table`, in plain words, or "" when
    Perspective takes it; `asked`: the columns asked of LiveChart. It asks Perspective (on its thread, or while it
    has nothing to do)."""
    schema = table.schema()
    if not schema.keys() - {KEY_COLUMN}:  # no row yet: nothing is known of the fields
        return ""
    columns = config.get("columns")
    if asked and isinstance(columns, list):
        config = {**config, "columns": columns + _asked_waiting(asked, columns, schema, config.get("expressions"))}
    config, waiting = _without_waiting(config, set(schema))
    with scratch(schema, _sample(table)) as trial:
        refused = _refusal(trial, config)
    if refused:
        return refused
    if waiting:
        named = ", ".join(f"{name!r} (in {', '.join(options)})" for name, options in waiting.items())
        return f"Waiting for fields no row has yet: {named}; the chart uses each once a row has it."
    return ""


def _sample(table: Any) -> dict[str, list[Any]]:
    """The first SAMPLE_ROWS rows of `table`, as its columns."""
    view = table.view()
    try:
        columns: dict[str, list[Any]] = view.to_columns(end_row=SAMPLE_ROWS)
    finally:
        view.delete()
    return columns


def _asked_waiting(
    asked: Sequence[str | None], shown: list[str | None], schema: dict[str, str], expressions: Any
) -> list[str]:
    """The columns asked of LiveChart that no row has yet, while the viewer shows those asked that exist (or, none
    existing yet, every column: chart_table.ChartTable's default, which takes in each asked as a row has it); none
    once other columns are chosen."""
    names = set(schema) | set(expressions or ())
    missing = [name for name in asked if isinstance(name, str) and name not in names]
    present = [name for name in asked if name is None or name in names]
    if any(name is not None for name in present):
        default = shown == present
    else:  # every column of the table but the synthetic key's
        default = all(name in shown or name.startswith(KEY_COLUMN) for name in schema)
    return missing if default else []


def _refusal(trial: Any, config: dict[str, Any]) -> str:
    """Perspective's refusal of `config`, naming the first option it refuses (options added one at a time, in
    VIEW_OPTIONS' order: some of its errors do not name the option, as "stod" for a filter's value)."""
    tried: dict[str, Any] = {}
    for name, value in config.items():
        tried[name] = value
        error = view_error(trial, tried)
        if error is not None:
            return f"Perspective refused the option {name}={value!r}: {error}"
    return ""


def _without_waiting(config: dict[str, Any], fields: set[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`config` without what names a column no row has yet (`fields` are those the table has), and those names, each
    with the options naming it. Entries not of the usual shape are kept, for Perspective to judge."""
    waiting: dict[str, list[str]] = {}

    def known(name: Any, option: str) -> bool:
        if not isinstance(name, str) or name in fields:
            return True
        waiting.setdefault(name, []).append(option)
        return False

    kept = dict(config)
    expressions = config.get("expressions")
    if isinstance(expressions, dict):
        kept["expressions"] = {
            name: text
            for name, text in expressions.items()
            if not isinstance(text, str) or not [c for c in _COLUMN.findall(text) if not known(c, "expressions")]
        }
        fields = fields | set(kept["expressions"])  # columns the other options may name (`known` reads this)
    for option in ("columns", "group_by", "split_by"):
        if isinstance(config.get(option), list):
            kept[option] = [name for name in config[option] if known(name, option)]
    if isinstance(config.get("aggregates"), dict):
        kept["aggregates"] = {name: how for name, how in config["aggregates"].items() if known(name, "aggregates")}
    for option in ("sort", "filter"):
        if isinstance(config.get(option), list):
            kept[option] = [entry for entry in config[option] if known(_head(entry), option)]
    return kept, {name: list(dict.fromkeys(options)) for name, options in waiting.items()}


def _head(entry: Any) -> Any:
    """The column a sort or filter entry names (None when it is not of that shape)."""
    return entry[0] if isinstance(entry, list | tuple) and entry else None
