"""JSON text as RethinkDB's rapidjson reads and writes it: `write` for to_json_string and coerce_to('string'),
`read` for r.json, with rapidjson's number format and error messages.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.pseudotypes import check_pseudotype

# ---------------------------------------------------------------- writing


def write(value: Any) -> str:
    """A datum as RethinkDB's rapidjson writer writes it: compact, keys sorted, its own number format."""
    out: list[str] = []
    _append(value, out)
    return "".join(out)


def _append(value: Any, out: list[str]) -> None:
    if isinstance(value, keys.Bound):
        raise ReqlQueryLogicError(f"Cannot convert `r.{value.name}` to JSON.")
    if value is None or value is True or value is False:
        out.append(json_literal(value))
    elif isinstance(value, (int, float)):
        out.append(number_text(value))
    elif isinstance(value, str):
        out.append(_string_text(value))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _append(item, out)
        out.append("]")
    else:
        out.append("{")
        for i, key in enumerate(sorted(value)):
            out.append(("," if i else "") + _string_text(key) + ":")
            _append(value[key], out)
        out.append("}")


def json_literal(value: bool | None) -> str:
    return "null" if value is None else ("true" if value else "false")


def number_text(value: float) -> str:
    """Integers within 2^53 as integers; other numbers in rapidjson's shortest form (1e21, 1.5e-7, 100.0)."""
    negative_zero = value == 0 and math.copysign(1, value) < 0
    if float(value).is_integer() and abs(value) <= 2**53 and not negative_zero:
        return str(int(value))
    return _double_text(float(value))


def _double_text(value: float) -> str:
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = _shortest_digits(abs(value))
    digits = "".join(map(str, digits_tuple))
    length = len(digits)
    kk = length + exponent  # 10^(kk-1) <= value < 10^kk
    if length <= kk <= 21:
        return f"{sign}{digits}{'0' * (kk - length)}.0"
    if 0 < kk <= 21:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if -6 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    mantissa = digits if length == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{kk - 1}"


def _shortest_digits(value: float) -> tuple[tuple[int, ...], int]:
    parts = decimal.Decimal(repr(value)).normalize().as_tuple()
    return parts.digits, int(parts.exponent)


def _string_text(text: str) -> str:
    return '"' + _ESCAPES.sub(lambda m: _escape_char(m[0]), text) + '"'


_ESCAPES = re.compile(r'[\x00-\x1f"\\]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    return _SHORT_ESCAPES.get(c) or f"\\u{ord(c):04X}"


# ---------------------------------------------------------------- reading


def read(text: str) -> Any:
    """The datum a JSON document stands for, read as rapidjson reads it; `JsonSyntaxError` with rapidjson's words."""
    return _JsonReader(text).document()


class JsonSyntaxError(Exception):
    """Text that rapidjson refuses; the message is rapidjson's."""


_JSON_SPACE = " \t\n\r"
_JSON_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]*)?(?P<exp>[eE][+-]?[0-9]*)?")


class _JsonReader:
    """rapidjson's recursive reader, with its error messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        c = self.peek()
        self.pos += 1
        return c

    def skip_space(self) -> None:
        while self.peek() and self.peek() in _JSON_SPACE:
            self.pos += 1

    def document(self) -> Any:
        self.skip_space()
        if not self.peek():
            raise JsonSyntaxError("The document is empty.")
        value = self.value()
        self.skip_space()
        if self.peek():
            raise JsonSyntaxError("The document root must not be followed by other values.")
        return value

    def value(self) -> Any:
        c = self.peek()
        if c == "{":
            return self.object()
        if c == "[":
            return self.array()
        if c == '"':
            return self.string()
        for word, value in (("null", None), ("true", True), ("false", False)):
            if c == word[0]:
                if self.text.startswith(word, self.pos):
                    self.pos += len(word)
                    return value
                raise JsonSyntaxError("Invalid value.")
        return self.number()

    def object(self) -> dict[str, Any]:
        self.take()
        self.skip_space()
        out: dict[str, Any] = {}
        if self.peek() == "}":
            self.take()
            return out
        while True:
            if self.peek() != '"':
                raise JsonSyntaxError("Missing a name for object member.")
            key = self.string()
            self.skip_space()
            if self.take() != ":":
                raise JsonSyntaxError("Missing a colon after a name of object member.")
            self.skip_space()
            value = self.value()
            if key in out:
                raise ReqlQueryLogicError(f"Duplicate key `{key}` in JSON.")
            out[key] = value
            self.skip_space()
            c = self.take()
            if c == "}":
                return check_pseudotype(out)
            if c != ",":
                raise JsonSyntaxError("Missing a comma or '}' after an object member.")
            self.skip_space()

    def array(self) -> list[Any]:
        self.take()
        self.skip_space()
        out: list[Any] = []
        if self.peek() == "]":
            self.take()
            return out
        while True:
            out.append(self.value())
            self.skip_space()
            c = self.take()
            if c == "]":
                return out
            if c != ",":
                raise JsonSyntaxError("Missing a comma or ']' after an array element.")
            self.skip_space()

    def string(self) -> str:
        self.take()
        out: list[str] = []
        while True:
            c = self.take()
            if c == '"':
                return "".join(out)
            if not c:
                raise JsonSyntaxError("Missing a closing quotation mark in string.")
            if c == "\\":
                out.append(self.escape())
            elif c < " ":
                raise JsonSyntaxError("Invalid escape character in string.")
            else:
                out.append(c)

    def escape(self) -> str:
        c = self.take()
        if c in _JSON_ESCAPES and c:
            return _JSON_ESCAPES[c]
        if c != "u":
            raise JsonSyntaxError("Invalid escape character in string.")
        code = self.hex4()
        if 0xD800 <= code <= 0xDBFF:
            if self.take() != "\\" or self.take() != "u":
                raise JsonSyntaxError("The surrogate pair in string is invalid.")
            low = self.hex4()
            if not 0xDC00 <= low <= 0xDFFF:
                raise JsonSyntaxError("The surrogate pair in string is invalid.")
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        return chr(code)

    def hex4(self) -> int:
        digits = self.text[self.pos : self.pos + 4]
        if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            raise JsonSyntaxError("Incorrect hex digit after \\u escape in string.")
        self.pos += 4
        return int(digits, 16)

    def number(self) -> int | float:
        found = _JSON_NUMBER.match(self.text, self.pos)
        if found is None:
            raise JsonSyntaxError("Invalid value.")
        if found["frac"] == ".":
            raise JsonSyntaxError("Miss fraction part in number.")
        exponent = found["exp"]
        if exponent is not None and not exponent[-1].isdigit():
            raise JsonSyntaxError("Miss exponent in number.")
        self.pos = found.end()
        # rapidjson refuses exponents past 308 however small the digits, and integers past the largest double.
        if exponent is not None and exponent[1] != "-" and int(exponent.lstrip("eE+")) > 308:
            raise JsonSyntaxError("Number too big to be stored in double.")
        try:
            value = float(found[0]) if found["frac"] or exponent else float(int(found[0]))
        except OverflowError:
            value = math.inf
        if math.isinf(value):
            raise JsonSyntaxError("Number too big to be stored in double.")
        return datums.number(value)
