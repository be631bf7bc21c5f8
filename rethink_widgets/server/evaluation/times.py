"""Times, UUIDs and binary values: r.now, r.time, r.epoch_time, r.iso8601, their accessors, r.uuid, r.binary.

A time is the pseudo-type {"$reql_type$": "TIME", "epoch_time": seconds, "timezone": "+HH:MM"}: an instant (rounded
to the millisecond) and the offset it is shown in.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation

UUID_NAMESPACE = uuid.UUID("91461c99-f89d-49d2-af96-d8e2e14e9b58")
_TZ = re.compile(r"^(?:Z|([+-])(\d\d)(?::?(\d\d))?)$")


def make_time(epoch: float, tz: str = "+00:00") -> dict[str, Any]:
    return {"$reql_type$": "TIME", "epoch_time": datums.number(round(epoch, 3)), "timezone": tz}


def is_time(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$reql_type$") == "TIME"


def as_time(ctx: Context, node: Any) -> dict[str, Any]:
    value = ctx.datum(node)
    if not is_time(value):
        raise type_error("PTYPE<TIME>", value)
    return value


def parse_timezone(text: str) -> tuple[str, timedelta]:
    """A time zone as RethinkDB writes it (+HH:MM) and as an offset."""
    match = _TZ.match(text)
    if not match:
        raise ReqlQueryLogicError(f"Timezone `{text}` does not start with `-` or `+`.")
    if text == "Z":
        return "+00:00", timedelta(0)
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ReqlQueryLogicError(f"Timezone `{text}` out of range.")
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    return f"{sign}{hours:02}:{minutes:02}", offset


def local(value: dict[str, Any]) -> datetime:
    """The time as a datetime in its own time zone."""
    _, offset = parse_timezone(value["timezone"])
    return datetime.fromtimestamp(value["epoch_time"], timezone(offset))


@operation("NOW", 0)
def now(ctx: Context, term: Term) -> dict[str, Any]:
    return ctx.now


@operation("EPOCH_TIME", 1)
def epoch_time(ctx: Context, term: Term) -> dict[str, Any]:
    return make_time(ctx.number(term.args[0]))


@operation("TIME", (0, VARIADIC))
def time_term(ctx: Context, term: Term) -> dict[str, Any]:
    if len(term.args) not in (4, 7):
        raise ReqlQueryLogicError(f"Got {len(term.args)} arguments to TIME (expected 4 or 7).")
    parts = [ctx.number(node) for node in term.args[:-1]]
    tz, offset = parse_timezone(ctx.string(term.args[-1]))
    year, month, day = (int(p) for p in parts[:3])
    hour, minute, second = [*parts[3:], 0, 0, 0][:3] if len(parts) == 6 else (0, 0, 0)
    if not 1400 <= year <= 10000:
        raise ReqlQueryLogicError("Error in time logic: Year is out of valid range: 1400..10000.")
    try:
        start = datetime(year, month, day, tzinfo=timezone(offset))
    except ValueError as error:
        raise ReqlQueryLogicError(f"Error in time logic: {error}.") from None
    epoch = start.timestamp() + hour * 3600 + minute * 60 + second
    return make_time(epoch, tz)


@operation("ISO8601", 1, optargs=("default_timezone",))
def iso8601(ctx: Context, term: Term) -> dict[str, Any]:
    text = ctx.string(term.args[0])
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReqlQueryLogicError(f"Invalid date string `{text}`.") from None
    if parsed.tzinfo is None:
        default = ctx.optarg(term, "default_timezone")
        if default is None:
            raise ReqlQueryLogicError("ISO 8601 string has no time zone, and no default time zone was provided.")
        tz, offset = parse_timezone(default)
        parsed = parsed.replace(tzinfo=timezone(offset))
    else:
        offset = parsed.utcoffset() or timedelta(0)
        tz, _ = parse_timezone(_offset_text(offset))
    return make_time(parsed.timestamp(), tz)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


@operation("TO_ISO8601", 1)
def to_iso8601(ctx: Context, term: Term) -> str:
    when = local(as_time(ctx, term.args[0]))
    fraction = f".{when.microsecond // 1000:03}" if when.microsecond else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + _offset_text(when.utcoffset() or timedelta(0))


@operation("TO_EPOCH_TIME", 1)
def to_epoch_time(ctx: Context, term: Term) -> float:
    return as_time(ctx, term.args[0])["epoch_time"]


@operation("TIMEZONE", 1)
def timezone_term(ctx: Context, term: Term) -> str:
    return as_time(ctx, term.args[0])["timezone"]


@operation("IN_TIMEZONE", 2)
def in_timezone(ctx: Context, term: Term) -> dict[str, Any]:
    value = as_time(ctx, term.args[0])
    tz, _ = parse_timezone(ctx.string(term.args[1]))
    return make_time(value["epoch_time"], tz)


@operation("DURING", 3, optargs=("left_bound", "right_bound"))
def during(ctx: Context, term: Term) -> bool:
    value, start, end = (as_time(ctx, node)["epoch_time"] for node in term.args)
    left = ctx.optarg(term, "left_bound", "closed")
    right = ctx.optarg(term, "right_bound", "open")
    after_start = value > start or (left == "closed" and value == start)
    before_end = value < end or (right == "closed" and value == end)
    return after_start and before_end


def _accessor(name: str, read: Any) -> None:
    @operation(name, 1)
    def access(ctx: Context, term: Term) -> Any:
        return read(local(as_time(ctx, term.args[0])))


_accessor("YEAR", lambda d: d.year)
_accessor("MONTH", lambda d: d.month)
_accessor("DAY", lambda d: d.day)
_accessor("HOURS", lambda d: d.hour)
_accessor("MINUTES", lambda d: d.minute)
_accessor("SECONDS", lambda d: datums.number(round(d.second + d.microsecond / 1e6, 3)))
_accessor("DAY_OF_WEEK", lambda d: d.isoweekday())
_accessor("DAY_OF_YEAR", lambda d: d.timetuple().tm_yday)
_accessor(
    "TIME_OF_DAY", lambda d: datums.number(round(d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6, 3))
)


@operation("DATE", 1)
def date(ctx: Context, term: Term) -> dict[str, Any]:
    value = as_time(ctx, term.args[0])
    day = local(value).replace(hour=0, minute=0, second=0, microsecond=0)
    return make_time(day.timestamp(), value["timezone"])


def _constant(name: str, number: int) -> None:
    operation(name, 0)(lambda ctx, term: number)


for _number, _name in enumerate(("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"), 1):
    _constant(_name, _number)
for _number, _name in enumerate(
    ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER",
     "DECEMBER"), 1,
):  # fmt: skip
    _constant(_name, _number)


@operation("UUID", (0, 1))
def uuid_term(ctx: Context, term: Term) -> str:
    if term.args:
        return str(uuid.uuid5(UUID_NAMESPACE, ctx.string(term.args[0])))
    return str(uuid.uuid4())


@operation("BINARY", 1)
def binary(ctx: Context, term: Term) -> dict[str, Any]:
    value = ctx.datum(term.args[0])
    if isinstance(value, dict) and value.get("$reql_type$") == "BINARY":
        return value
    if not isinstance(value, str):
        raise type_error("STRING", value)
    return {"$reql_type$": "BINARY", "data": base64.b64encode(value.encode("utf-8")).decode("ascii")}


def utc_now() -> dict[str, Any]:
    return make_time(datetime.now(UTC).timestamp())
