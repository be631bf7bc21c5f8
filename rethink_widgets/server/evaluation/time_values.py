"""The TIME pseudo-type: building one, checking one as RethinkDB does whenever one is built, and time zones.

A time is {"$reql_type$": "TIME", "epoch_time": seconds, "timezone": "+HH:MM"}: an instant rounded to the millisecond
and the offset it is shown in. Every TIME built goes through `sanitize`: by the time terms (see `times`), by an object a
query writes or `r.json` reads (see `pseudotypes`), by `server_status`. `IsoReader` reads the pieces of ISO 8601
strings, time zones included.
"""

from __future__ import annotations

import math
import time
from typing import Any, TypeGuard

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums


def round_millis(seconds: float) -> float:
    """Seconds rounded to the millisecond as C's round() does it (halves away from zero)."""
    scaled = seconds * 1000
    if not math.isfinite(scaled):
        return scaled  # datums.number refuses it as RethinkDB does
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return whole / 1000


def truncated(value: Any) -> str:
    """A value as the time errors print it: cut to 300 characters."""
    text = datums.printed(value)
    return text if len(text) <= 300 else text[:297] + "..."


def make_time(epoch: float, tz: str = "+00:00") -> dict[str, Any]:
    return sanitize({"$reql_type$": "TIME", "epoch_time": epoch, "timezone": tz})


def is_time(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and value.get("$reql_type$") == "TIME"


def sanitize(obj: dict[str, Any]) -> dict[str, Any]:
    """Check a TIME object as RethinkDB does whenever one is built: round its instant, normalize its time zone."""
    out = dict(obj)
    for key in sorted(obj):
        out[key], problem = _sanitized(key, obj[key])
        if problem:
            raise _invalid_time(problem, out)
    for key in ("epoch_time", "timezone"):
        if key not in obj:
            raise _invalid_time(f"no field `{key}`", out)
    return out


def _sanitized(key: str, value: Any) -> tuple[Any, str]:
    """A TIME field's sanitized value, or what is wrong with it."""
    if key == datums.PTYPE:
        return value, ""
    if key == "epoch_time":
        if datums.is_number(value):
            return datums.number(round_millis(value)), ""
        return value, f"field `epoch_time` must be a number ({_got(value)})"
    if key == "timezone":
        if not isinstance(value, str):
            return value, f"field `timezone` must be a string ({_got(value)})"
        tz = valid_timezone(value)
        return (value, f"invalid timezone string `{truncated(value)}`") if tz is None else (tz, "")
    return value, f"unrecognized field `{key}`"


def _got(value: Any) -> str:
    return f"got `{truncated(value)}` of type {datums.type_name(value)}"


def _invalid_time(problem: str, obj: dict[str, Any]) -> ReqlQueryLogicError:
    return ReqlQueryLogicError(f"Invalid time object constructed ({problem}):\n{truncated(obj)}")


class IsoReader:
    """Reads one piece of an ISO 8601 string; its complaints say "date string" for every piece, as RethinkDB's do."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    @property
    def done(self) -> bool:
        return self.at == len(self.text)

    def digits(self, count: int) -> str:
        start = self.at
        for _ in range(count):
            if self.done:
                raise ReqlQueryLogicError(f"Truncated date string `{self.text}`.")
            char = self.text[self.at]
            if not "0" <= char <= "9":
                raise ReqlQueryLogicError(f"Invalid date string `{self.text}` (got `{char}` but expected a digit).")
            self.at += 1
        return self.text[start : self.at]

    def number(self, count: int) -> int:
        return int(self.digits(count))

    def optional(self, char: str) -> bool:
        if not self.done and self.text[self.at] == char:
            self.at += 1
            return True
        return False

    def end(self, what: str) -> None:
        if not self.done:
            raise ReqlQueryLogicError(
                f"Garbage characters `{self.text[self.at :]}` at end of {what} string `{self.text}`."
            )


def parse_timezone(text: str) -> str:
    """A time zone as RethinkDB accepts it (Z, ±HH, ±HHMM, ±HH:MM), written as ±HH:MM."""
    if text in ("-00", "-00:00"):
        raise ReqlQueryLogicError(f"`{text}` is not a valid time offset.")
    if text == "Z":
        return "+00:00"
    reader = IsoReader(text)
    if not (reader.optional("-") or reader.optional("+")):
        raise ReqlQueryLogicError(f"Timezone `{text}` does not start with `-` or `+`.")
    sign, hours = text[0], reader.digits(2)
    if reader.done:
        return f"{sign}{hours}:00"  # RethinkDB checks the range only of the long forms
    reader.optional(":")
    minutes = reader.digits(2)
    reader.end("timezone")
    if not (hours[0] in "01" or (hours[0] == "2" and hours[1] <= "4")):
        raise ReqlQueryLogicError(f"Hours out of range in `{text}`.")
    if minutes[0] > "5":
        raise ReqlQueryLogicError(f"Minutes out of range in `{text}`.")
    return f"{sign}{hours}:{minutes}"


def valid_timezone(text: str) -> str | None:
    try:
        return parse_timezone(text)
    except ReqlQueryLogicError:
        return None


def utc_now() -> dict[str, Any]:
    # What make_time gives, without checking a time zone it knows to be fine (every query asks for it).
    return {"$reql_type$": "TIME", "epoch_time": round_millis(time.time()), "timezone": "+00:00"}
