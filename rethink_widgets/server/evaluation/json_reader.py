"""JSON text read as RethinkDB 2.4 reads it for r.json: its rapidjson's parse (numbers rounded correctly: RethinkDB
builds it so), then the datum built from the document as RethinkDB builds it, with RethinkDB's errors.

python-rapidjson parses. Its rapidjson is newer than RethinkDB's, which differs in these ways, made up for here:
- two messages: "Invalid encoding in string." for a control character where RethinkDB's says "Invalid escape
  character in string.", and "The document root must not be followed by other values." where RethinkDB's says
  "...must not follow by other values.";
- RethinkDB's refuses a number whose exponent is past 308 even when digits after the point bring it back in range
  (0.001e309), and one whose integral part reaches 1.8e308 by its 309th digit, both "Number too big to be stored
  in double."; the newer one reads them;
- a lone low surrogate escape (\\udc00): RethinkDB's reads it into a string that is not UTF-8 (which its drivers
  then fail to decode); the newer one refuses it, "The surrogate pair in string is invalid.", and so does r.json
  here.
Then, in the order RethinkDB meets them walking the document once it is parsed: a duplicate key, a pseudo-type it
refuses (r.json alone lets a LITERAL through, for merge and update), a number that overflowed to infinity
("Non-finite number: inf"), an array past the query's array_limit. Nesting deeper than Python's recursion limit
(1000) fails as "The query is nested too deeply." (RethinkDB's own parser has no such limit).
"""

from __future__ import annotations

import math
import re
from typing import Any

import rapidjson

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.pseudotypes import check_pseudotype


class JsonSyntaxError(Exception):
    """Text that RethinkDB's rapidjson refuses; the message is its own."""


def read(ctx: Context, text: str) -> Any:
    """The datum a JSON text stands for; `JsonSyntaxError` when rapidjson refuses the text."""
    data = text.encode()
    suspect = _may_hold_big_numbers(data)
    decoder = _Decoder(number_mode=rapidjson.NM_NONE)
    try:
        value = decoder(data)
    except rapidjson.JSONDecodeError as error:
        offset, message = _parse_error(error)
        if suspect and _first_refused_number(data, offset) is not None:
            raise JsonSyntaxError(_NUMBER_TOO_BIG) from None
        raise JsonSyntaxError(message) from None
    if suspect and _first_refused_number(data, len(data)) is not None:
        raise JsonSyntaxError(_NUMBER_TOO_BIG)
    if suspect or decoder.put_off or text.count(",") >= ctx.array_limit:
        return _Builder(ctx).build(value)
    return value


_NUMBER_TOO_BIG = "Number too big to be stored in double."
# Each byte as what it may be in a number: a digit "0", an exponent's "e", the point; anything else "x".
_NUMBER_MARKS = bytes(
    ord("0") if byte in b"0123456789" else ord("e") if byte in b"eE" else byte if byte == ord(".") else ord("x")
    for byte in range(256)
)


def _may_hold_big_numbers(data: bytes) -> bool:
    """Whether the text may hold an integer past 2^53 (it starts with 16 digits), which needs making a double, or an
    exponent of three digits or an integral part of 309, which may overflow: then the numbers need a look after the
    parse. (Digits in strings may say yes for nothing.)"""
    marks = b"x" + data.translate(_NUMBER_MARKS)
    return b"x" + b"0" * 16 in marks or b"e000" in marks or b"ex000" in marks


class _PutOff:
    """An object read as its members, its checks put off until the whole document is parsed."""

    __slots__ = ("members",)

    def __init__(self, members: list[tuple[str, Any]]) -> None:
        self.members = members


class _Decoder(rapidjson.Decoder):
    """Builds each object as RethinkDB does once it is read: when that fails (a duplicate key, a refused pseudo-type),
    it and every object after it are put off, so the first error in RethinkDB's order shows (see `_Builder`)."""

    put_off = False

    def start_object(self) -> list[tuple[str, Any]]:
        return []  # members as (key, value) pairs, duplicates kept

    def end_object(self, members: list[tuple[str, Any]]) -> dict[str, Any] | _PutOff:
        if not self.put_off:
            obj = dict(members)
            if len(obj) == len(members):
                try:
                    return _built(obj)
                except ReqlQueryLogicError:
                    pass
            self.put_off = True
        return _PutOff(members)


def _built(obj: dict[str, Any]) -> dict[str, Any]:
    return check_pseudotype(obj, literal_allowed=True)


class _Builder:
    """The datum from a parsed document, walked in RethinkDB's order, failing at the first error it meets there."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def build(self, value: Any) -> Any:
        if isinstance(value, _PutOff):
            obj: dict[str, Any] = {}
            for key, item in value.members:
                built = self.build(item)
                if key in obj:
                    raise ReqlQueryLogicError(f"Duplicate key {datums.printed(key)} in JSON.")
                obj[key] = built
            return _built(obj)
        if isinstance(value, dict):
            return {key: self.build(item) for key, item in value.items()}
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                out.append(self.build(item))
                if len(out) > self.ctx.array_limit:
                    raise self.ctx.array_limit_error()
            return out
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _number(value)
        return value


def _number(value: float) -> int | float:
    if isinstance(value, float):
        return value if math.isfinite(value) else datums.number(value)  # refused: "Non-finite number: inf"
    try:
        return datums.number(value)  # past 2^53, the double RethinkDB reads
    except OverflowError:  # past the largest double even
        return datums.number(math.inf)


def _parse_error(error: rapidjson.JSONDecodeError) -> tuple[int, str]:
    """Where python-rapidjson stopped (a byte offset) and what RethinkDB's rapidjson says there."""
    found = re.fullmatch(r"Parse error at offset (\d+): (.*)", str(error), re.DOTALL)
    if found is None:
        raise error
    message = _OLDER_MESSAGES.get(found[2], found[2])
    return int(found[1]), message


_OLDER_MESSAGES = {
    "Invalid encoding in string.": "Invalid escape character in string.",
    "The document root must not be followed by other values.": "The document root must not follow by other values.",
}


# Strings (skipped; one left open runs to the end) and numbers, in the text as bytes, for the offsets rapidjson gives.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\Z)|(-?)(0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE]([-+]?)([0-9]+))?', re.DOTALL)
_MOST_BEFORE_TIMES_TEN = 1.7976931348623157e307  # rapidjson's limit while adding a digit: DBL_MAX / 10


def _first_refused_number(data: bytes, before: int) -> int | None:
    """Where the first number that RethinkDB's rapidjson refuses (and the newer one does not) starts, if it starts
    before `before`, the offset where the newer one stopped."""
    for token in _TOKENS.finditer(data, 0, before):
        minus, integral, sign, exponent = token.groups()
        if integral is None:
            continue
        if exponent is not None and sign != b"-" and int(exponent) > 308:
            return token.start()
        if len(integral) > 308 and _integral_overflows(integral, minus == b"-"):
            return token.start()
    return None


def _integral_overflows(digits: bytes, negative: bool) -> bool:
    """Whether rapidjson gives up on an integral part this long: it reads digits exactly while they fit 64 bits,
    then into a double, refusing to add a digit once that double reaches DBL_MAX / 10."""
    largest, last_digit = (0x0CCCCCCCCCCCCCCC, 8) if negative else (0x1999999999999999, 5)
    exact, taken = 0, 0
    while taken < len(digits) and (exact < largest or (exact == largest and digits[taken] - 48 <= last_digit)):
        exact = exact * 10 + digits[taken] - 48
        taken += 1
    approximate = float(exact)
    for digit in digits[taken:]:
        if approximate >= _MOST_BEFORE_TIMES_TEN:
            return True
        approximate = approximate * 10 + (digit - 48)
    return False
