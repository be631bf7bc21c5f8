"""Datums as JSON text, as RethinkDB 2.4 writes them with its rapidjson: `write` for to_json_string and
coerce_to('string'), `printed` and `truncated` for datums inside error messages, `number_text` for one number.

python-rapidjson writes the structure as RethinkDB does: compact, keys in the order of their UTF-8 bytes (RethinkDB
keeps objects sorted so), the same escapes (short ones for the quote, backslash, backspace, form feed, newline,
return and tab, upper-case \\u00XX for the other control characters), all else as UTF-8. Its numbers differ, so
`write` rewrites those after:
- it writes a float as Python's repr: 1e+100, 1.5e-07, 1e+20, 0.30000000000000004, where RethinkDB's rapidjson
  writes 1e100, 1.5e-7, 100000000000000000000.0, 0.30000000000000007 (its Grisu2 and Prettify, see `_grisu2`);
- it writes an integer past 2^53 whole, where RethinkDB writes the double it holds (all its numbers are doubles).
This module sits below the evaluation core (`datums` prints with it): it imports no other part of evaluation.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

import rapidjson

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlQueryLogicError

_EXACT_INT = 2**53  # RethinkDB writes a whole number within it as an integer, any other as a double
_TRUNCATED_BYTES = 300  # datum_t::trunc_len


def write(value: Any) -> str:
    """A datum as RethinkDB's rapidjson Writer writes it (to_json_string, coerce_to('string'))."""
    text = rapidjson.dumps(value, ensure_ascii=False, sort_keys=True, default=_not_json)
    return _NUMBERS_TO_REWRITE.sub(_rewrite_number, text)


def _not_json(value: Any) -> Any:
    if isinstance(value, keys.Bound):
        raise ReqlQueryLogicError(f"Cannot convert `r.{value.name}` to JSON.")
    raise TypeError(f"not a datum: {type(value).__name__}")


# Each match runs up to the next number python-rapidjson writes unlike RethinkDB (a float, or an integer of 16
# digits or more), skipping strings whole, and ends with that number as group 2; so the rewrite costs a call per
# such number, not per token.
_NUMBERS_TO_REWRITE = re.compile(
    r'((?:[^"0-9-]++|"(?:[^"\\]++|\\.)*+"|-?[0-9]{1,15}+(?![0-9.eE]))*+)'  # what stays as it is
    r"(-?[0-9][-+.0-9eE]*)?"  # a number to rewrite
)


def _rewrite_number(match: re.Match[str]) -> str:
    number = match[2]
    return match[1] if number is None else match[1] + number_text(float(number))


def printed(value: Any) -> str:
    """A datum as RethinkDB prints it in error messages (datum_t::print): rapidjson's PrettyWriter indenting with
    tabs, and with a tab after each colon (RethinkDB's change to it)."""
    out: list[str] = []
    _append_printed(value, 0, out)
    return "".join(out)


def truncated(value: Any) -> str:
    """`printed`, cut to 300 bytes with "..." (datum_t::trunc_print), as most error messages show a datum. RethinkDB
    cuts bytes, even inside a character, which its drivers then fail to decode; here a cut character is left out."""
    text = printed(value).encode()
    if len(text) <= _TRUNCATED_BYTES:
        return text.decode()
    return text[: _TRUNCATED_BYTES - 3].decode(errors="ignore") + "..."


def _append_printed(value: Any, depth: int, out: list[str]) -> None:
    if not (isinstance(value, (dict, list)) and value) or _is_binary(value):
        out.append(write(value))
        return
    inner = "\n" + "\t" * (depth + 1)
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            colon = ":" if _is_binary(value[key]) else ":\t"
            out.append(("," if i else "") + inner + _string_text(key) + colon)
            _append_printed(value[key], depth + 1, out)
        out.append("\n" + "\t" * depth + "}")
    else:
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + ("" if _is_binary(item) else inner))
            _append_printed(item, depth + 1, out)
        out.append("\n" + "\t" * depth + "]")


def _is_binary(value: Any) -> bool:
    # RethinkDB hands binary data to the plain Writer inside the pretty one: it comes out compact, with no line
    # break and tabs before it in an array (a comma only) and no tab after the colon in an object.
    return isinstance(value, dict) and value.get("$reql_type$") == "BINARY"


def _string_text(text: str) -> str:
    return rapidjson.dumps(text, ensure_ascii=False)


def number_text(value: float) -> str:
    """A number as RethinkDB writes it: a whole one within 2^53 as an integer, any other as its rapidjson's dtoa."""
    if float(value).is_integer() and abs(value) <= _EXACT_INT and not (value == 0 and math.copysign(1, value) < 0):
        return str(int(value))
    value = float(value)
    if value == 0:
        return "-0.0"  # RethinkDB's own change to dtoa: -0.0 keeps its sign
    digits, exponent = _grisu2(abs(value))
    return ("-" if value < 0 else "") + _prettify(digits, exponent)


def _prettify(digits: str, exponent: int) -> str:
    """rapidjson's Prettify: decimal notation from 1e-6 up to 1e21, else the shortest exponent (no "+", no zeros)."""
    length = len(digits)
    kk = length + exponent  # 10^(kk-1) <= value < 10^kk
    if length <= kk <= 21:
        return f"{digits}{'0' * (kk - length)}.0"
    if 0 < kk <= 21:
        return f"{digits[:kk]}.{digits[kk:]}"
    if -6 < kk <= 0:
        return f"0.{'0' * -kk}{digits}"
    mantissa = digits if length == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{kk - 1}"


# ---------------------------------------------------------------- Grisu2, as RethinkDB 2.4's rapidjson runs it
#
# Florian Loitsch's Grisu2 with rapidjson's 64-bit "DIY" floating point: the digits of the upper end of the value's
# rounding interval, as few as stay inside it, then moved down towards the value ("rounding"). RethinkDB 2.4 carries
# a rapidjson whose rounding step, once more than nine digits come after the point of its cached power, reads a
# ten-entry table of powers of ten past its end (fixed in rapidjson in 2018). Built with GCC, that memory is the zero
# padding before the next table (so in RethinkDB's sources built here at -O0 to -O3, and in python-rapidjson's 2018
# report of the same digits), so the step moves nothing and the digits stay those of the upper end: 0.1 + 0.2 prints
# as 0.30000000000000007 where the shortest form is 0.30000000000000004. Grisu2 is not always shortest either (1.21e22
# prints as 1.2099999999999999e22). About one random double in seven comes out other than Python's repr; `_grisu2`
# gives the same digits as that rapidjson does (checked against it, built, on 600,000 doubles and 6,000 documents).

_MASK64 = 2**64 - 1
_POW10 = [10**i for i in range(10)]


def _cached_power(k: int) -> tuple[int, int]:
    """10^k as a 64-bit significand with its top bit set, rounded to nearest, and its binary exponent."""
    numerator, denominator = (10**k, 1) if k >= 0 else (1, 10**-k)
    exponent = numerator.bit_length() - denominator.bit_length() - 64
    while True:
        if exponent >= 0:
            top, bottom = numerator, denominator << exponent
        else:
            top, bottom = numerator << -exponent, denominator
        significand = (2 * top + bottom) // (2 * bottom)
        if significand >= 2**64:
            exponent += 1
        elif significand < 2**63:
            exponent -= 1
        else:
            return significand, exponent


_CACHED_POWERS = [_cached_power(-348 + 8 * i) for i in range(87)]  # 10^-348, 10^-340, ..., 10^340


def _times(f1: int, e1: int, f2: int, e2: int) -> tuple[int, int]:
    """The product of two DIY floats: the high 64 bits of the 128-bit product, rounded."""
    product = f1 * f2
    return (product >> 64) + ((product >> 63) & 1), e1 + e2 + 64


def _grisu2(value: float) -> tuple[str, int]:
    """The decimal digits RethinkDB's rapidjson writes for a positive finite double, and their decimal exponent."""
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    biased, fraction = (bits >> 52) & 0x7FF, bits & (2**52 - 1)
    f, e = (fraction + 2**52, biased - 1075) if biased else (fraction, -1074)
    # The rounding interval's ends, normalized together.
    plus_f, plus_e = (f << 1) + 1, e - 1
    while not plus_f & 2**53:
        plus_f, plus_e = plus_f << 1, plus_e - 1
    plus_f, plus_e = plus_f << 10, plus_e - 10
    minus_f, minus_e = ((f << 2) - 1, e - 2) if f == 2**52 else ((f << 1) - 1, e - 1)
    minus_f <<= minus_e - plus_e
    # The cached power that brings the upper end's exponent into [-60, -32].
    estimate = (-61 - plus_e) * 0.30102999566398114 + 347
    k = int(estimate) + (int(estimate) != estimate)
    index = (k >> 3) + 1
    decimal_exponent = 348 - index * 8
    power_f, power_e = _CACHED_POWERS[index]
    shift = 64 - f.bit_length()
    w_f, _ = _times(f << shift, e - shift, power_f, power_e)
    upper_f, upper_e = _times(plus_f, plus_e, power_f, power_e)
    lower_f, _ = _times(minus_f, plus_e, power_f, power_e)
    upper_f -= 1
    lower_f += 1
    return _digits(w_f, upper_f, upper_e, upper_f - lower_f, decimal_exponent)


def _digits(w_f: int, upper_f: int, upper_e: int, delta: int, decimal_exponent: int) -> tuple[str, int]:
    """rapidjson's DigitGen: the fewest leading digits of the scaled upper end whose remainder is within delta."""
    shift = -upper_e
    distance = upper_f - w_f  # from the value up to the upper end
    integral, fractional = upper_f >> shift, upper_f & ((1 << shift) - 1)
    # Drop digits of the integral part from the right while what is dropped stays within delta...
    for kappa in range(len(str(integral)) - 1, -1, -1):
        rest = ((integral % _POW10[kappa]) << shift) + fractional
        if rest <= delta:
            digits = _round_down(integral // _POW10[kappa], delta, rest, _POW10[kappa] << shift, distance)
            return str(digits), decimal_exponent + kappa
    # ...or else take fractional digits until the rest of it is.
    places = 0
    while True:
        fractional = (fractional * 10) & ((1 << shift) - 1)
        delta = (delta * 10) & _MASK64  # rapidjson's 64-bit arithmetic wraps
        places += 1
        if fractional < delta:
            break
    scale = _POW10[places] if places < len(_POW10) else 0  # past the table: zero padding, see above
    digits = _round_down((upper_f * 10**places) >> shift, delta, fractional, 1 << shift, (distance * scale) & _MASK64)
    return str(digits), decimal_exponent - places


def _round_down(digits: int, delta: int, rest: int, ten_kappa: int, distance: int) -> int:
    """rapidjson's GrisuRound: lower the last digit while that stays inside the interval and nears the value."""
    while (
        rest < distance
        and delta - rest >= ten_kappa
        and (rest + ten_kappa < distance or distance - rest > rest + ten_kappa - distance)
    ):
        digits -= 1
        rest += ten_kappa
    return digits
