"""Times, UUIDs and binary values: r.now, r.time, r.epoch_time, r.iso8601, their accessors, r.uuid, r.binary.

A time is the TIME pseudo-type (see `time_values`): an instant (rounded to the millisecond) and the offset it is shown
in. Its calendar fields are worked out by `calendar_dates`, for the years 1400 to 10000 that RethinkDB's Boost calendar
spans.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.calendar_dates import (
    MS_PER_DAY,
    check_year,
    civil_from_days,
    date_days,
    days_from_civil,
    time_logic_error,
)
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.terms import Term, operation
from rethink_widgets.server.evaluation.time_values import (
    IsoReader,
    is_time,
    make_time,
    parse_timezone,
    round_millis,
    sanitize,
    truncated,
    valid_timezone,
)

UUID_NAMESPACE = uuid.UUID("91461c99-f89d-49d2-af96-d8e2e14e9b58")
_WEEK_DATES = (
    "Due to limitations in the boost time library we use for parsing, we cannot support ISO week dates right now.  "
    "Sorry about that!  Please use years, calendar dates, or ordinal dates instead."
)


def as_time(ctx: Context, node: Any) -> dict[str, Any]:
    value = ctx.datum(node)
    if not is_time(value):
        raise ReqlQueryLogicError(f"Not a TIME pseudotype: `{truncated(value)}`.")
    return value


# ---------------------------------------------------------------- reading ISO 8601 strings


def _offset_ms(tz: str) -> int:
    minutes = int(tz[1:3]) * 60 + int(tz[4:6])
    return (-minutes if tz[0] == "-" else minutes) * 60_000


def _iso_date(text: str) -> tuple[str, tuple[int, ...]]:
    """The date part: YYYY, YYYY-MM, YYYY-MM-DD, YYYYMMDD, YYYY-DDD, YYYYDDD (week dates are read, then refused)."""
    reader = IsoReader(text)
    year = reader.number(4)
    if reader.done:
        return "calendar", (year, 1, 1)
    hyphen = reader.optional("-")
    fields: tuple[int, ...]
    if reader.optional("W"):
        reader.digits(2)
        if not reader.done:
            reader.optional("-")
            reader.digits(1)
        kind, fields = "week", ()
    elif len(text) - reader.at == 3:
        kind, fields = "ordinal", (year, reader.number(3))
    else:
        month = reader.number(2)
        if hyphen and reader.done:
            return "calendar", (year, month, 1)
        if hyphen != reader.optional("-"):
            raise ReqlQueryLogicError(f"Date string `{text}` must have 0 or 2 hyphens.")
        kind, fields = "calendar", (year, month, reader.number(2))
    reader.end("date")
    return kind, fields


def _iso_time(text: str) -> int:
    """The time part (HH, HH:MM, HHMM, HH:MM:SS, HHMMSS, with a fraction) in milliseconds; digits past 3 are cut."""
    reader = IsoReader(text)
    hours = reader.number(2)
    if reader.done:
        return hours * 3_600_000
    colon = reader.optional(":")
    minutes = reader.number(2)
    if reader.done:
        return hours * 3_600_000 + minutes * 60_000
    if colon != reader.optional(":"):
        raise ReqlQueryLogicError(f"Time string `{text}` must have 0 or 2 colons.")
    millis = reader.number(2) * 1000
    if reader.optional("."):
        fraction = ""
        while not reader.done:
            fraction += reader.digits(1)
        millis += int(fraction[:3].ljust(3, "0"))
    reader.end("time")
    return hours * 3_600_000 + minutes * 60_000 + millis


# ---------------------------------------------------------------- calendar fields


@dataclass(frozen=True)
class _Local:
    """A time's calendar fields in its own time zone."""

    year: int
    month: int
    day: int
    days: int  # since 1970-01-01, in the time's zone
    millis: int  # into that day
    utc_year: int


def _local(value: dict[str, Any]) -> _Local:
    instant = round(value["epoch_time"] * 1000)
    utc_year = civil_from_days(instant // MS_PER_DAY)[0]
    check_year(utc_year)  # Boost builds the UTC time first
    days, millis = divmod(instant + _offset_ms(value["timezone"]), MS_PER_DAY)
    year, month, day = civil_from_days(days)
    check_year(year)
    return _Local(year, month, day, days, millis, utc_year)


# ---------------------------------------------------------------- constructors


@operation("NOW", 0)
def now(ctx: Context, term: Term) -> dict[str, Any]:
    return ctx.now


@operation("EPOCH_TIME", 1)
def epoch_time(ctx: Context, term: Term) -> dict[str, Any]:
    return make_time(ctx.number(term.args[0]))


@operation("TIME", (4, 7))
def time_term(ctx: Context, term: Term) -> dict[str, Any]:
    if len(term.args) not in (4, 7):
        raise ReqlQueryLogicError(f"Got {len(term.args)} arguments to TIME (expected 4 or 7).")
    year, month, day = (ctx.integer(node) for node in term.args[:3])
    seconds: int | float
    hours, minutes, seconds = 0, 0, 0
    if len(term.args) == 7:
        hours, minutes, seconds = ctx.integer(term.args[3]), ctx.integer(term.args[4]), ctx.number(term.args[5])
    tz_text = ctx.string(term.args[-1])
    days = date_days(year, month, day)
    tz = parse_timezone(tz_text)
    whole = days * 86_400 + hours * 3600 + minutes * 60 - _offset_ms(tz) // 1000
    return make_time(whole + seconds, tz)


@operation("ISO8601", 1, optargs=("default_timezone",))
def iso8601(ctx: Context, term: Term) -> dict[str, Any]:
    text = ctx.string(term.args[0])
    node = term.optargs.get("default_timezone")
    default = "" if node is None else ctx.string(node)
    split = text.find("T")
    kind, fields = _iso_date(text if split < 0 else text[:split])
    millis, tz = 0, None
    if split >= 0:
        rest = text[split + 1 :]
        # The zone starts at the first '-' after the T, else the first '+', else the first 'Z'.
        sign = next((at for at in (rest.find(c) for c in "-+Z") if at >= 0), -1)
        millis = _iso_time(rest if sign < 0 else rest[:sign])
        tz = None if sign < 0 else parse_timezone(rest[sign:])
    if kind == "week":
        raise ReqlQueryLogicError(_WEEK_DATES)
    if tz is None:
        tz = _default_timezone(default)
    if kind == "ordinal":
        year, day_of_year = fields
        if not 1 <= day_of_year <= 366:
            raise time_logic_error("Day of year value is out of range 1..366")
        days = date_days(year, 1, 1) + day_of_year - 1
    else:
        days = date_days(*fields)
    return make_time((days * MS_PER_DAY + millis - _offset_ms(tz)) / 1000, tz)


def _default_timezone(default: str) -> str:
    if not default:
        raise ReqlQueryLogicError("ISO 8601 string has no time zone, and no default time zone was provided.")
    tz = valid_timezone(default)
    if tz is None:
        raise ReqlQueryLogicError(f"Invalid ISO 8601 timezone: `{default}`.")
    return tz


# ---------------------------------------------------------------- conversions and time zones


@operation("TO_ISO8601", 1)
def to_iso8601(ctx: Context, term: Term) -> str:
    value = as_time(ctx, term.args[0])
    when = _local(value)
    if when.utc_year > 9999:
        raise ReqlQueryLogicError(f"Year `{when.utc_year}` out of valid ISO 8601 range [0, 9999].")
    seconds, millis = divmod(when.millis, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    # Boost writes the fraction only when there is one.
    fraction = f".{millis:03}" if millis else ""
    date = f"{when.year:04}-{when.month:02}-{when.day:02}"
    return f"{date}T{hour:02}:{minute:02}:{second:02}{fraction}{value['timezone']}"


@operation("TO_EPOCH_TIME", 1)
def to_epoch_time(ctx: Context, term: Term) -> float:
    seconds: float = as_time(ctx, term.args[0])["epoch_time"]
    return seconds


@operation("TIMEZONE", 1)
def timezone_term(ctx: Context, term: Term) -> str:
    timezone: str = as_time(ctx, term.args[0])["timezone"]
    return timezone


@operation("IN_TIMEZONE", 2)
def in_timezone(ctx: Context, term: Term) -> dict[str, Any]:
    value = as_time(ctx, term.args[0])
    return sanitize({**value, "timezone": parse_timezone(ctx.string(term.args[1]))})


@operation("DURING", 3, optargs=("left_bound", "right_bound"))
def during(ctx: Context, term: Term) -> bool:
    value, start, end = (as_time(ctx, node)["epoch_time"] for node in term.args)
    left_open = _bound_is_open(ctx, term, "left_bound", "closed")
    right_open = _bound_is_open(ctx, term, "right_bound", "open")
    after_start = value > start or (value == start and not left_open)
    before_end = value < end or (value == end and not right_open)
    return after_start and before_end


def _bound_is_open(ctx: Context, term: Term, name: str, default: str) -> bool:
    bound = ctx.string(term.optargs[name]) if name in term.optargs else default
    if bound not in ("open", "closed"):
        raise ReqlQueryLogicError(f"Expected `open` or `closed` for optarg `{name}` (got `{truncated(bound)}`).")
    return bound == "open"


# ---------------------------------------------------------------- portions


def _portion(name: str, read: Callable[[_Local, float], Any]) -> None:
    @operation(name, 1)
    def portion(ctx: Context, term: Term) -> Any:
        value = as_time(ctx, term.args[0])
        return read(_local(value), value["epoch_time"])


def _seconds(when: _Local, epoch: float) -> int | float:
    # RethinkDB adds the epoch's own fraction (negative before 1970) to the whole seconds of the minute.
    fraction = round_millis(math.fmod(epoch, 1))
    return datums.number(when.millis // 1000 % 60 + fraction)


_portion("YEAR", lambda when, epoch: when.year)
_portion("MONTH", lambda when, epoch: when.month)
_portion("DAY", lambda when, epoch: when.day)
_portion("HOURS", lambda when, epoch: when.millis // 3_600_000)
_portion("MINUTES", lambda when, epoch: when.millis // 60_000 % 60)
_portion("SECONDS", _seconds)
_portion("DAY_OF_WEEK", lambda when, epoch: (when.days + 3) % 7 + 1)  # ISO 8601: Monday is 1; 1970-01-01 a Thursday
_portion("DAY_OF_YEAR", lambda when, epoch: when.days - days_from_civil(when.year, 1, 1) + 1)
_portion("TIME_OF_DAY", lambda when, epoch: datums.number(when.millis / 1000))


@operation("DATE", 1)
def date(ctx: Context, term: Term) -> dict[str, Any]:
    value = as_time(ctx, term.args[0])
    midnight = _local(value).days * MS_PER_DAY - _offset_ms(value["timezone"])
    return make_time(midnight / 1000, value["timezone"])


def _constant(name: str, number: int) -> None:
    operation(name, 0)(lambda ctx, term: number)


for _number, _name in enumerate(("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"), 1):
    _constant(_name, _number)
for _number, _name in enumerate(
    ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER",
     "DECEMBER"), 1,
):  # fmt: skip
    _constant(_name, _number)


# ---------------------------------------------------------------- UUIDs and binary values


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
