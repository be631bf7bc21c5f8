"""Strings: match (RethinkDB's regular expressions), split, upcase, downcase, and JSON text (to_json_string, r.json).

RethinkDB matches with RE2. Its patterns are parsed here as RE2 parses them, refused with RE2's own errors, and
rewritten into an equivalent Python `re` pattern; where the two dialects differ (one-line `$`, ASCII `\\d \\w \\s \\b`,
octal escapes, `\\x{...}`, `\\Q...\\E`, `\\pN` classes, flags in mid-pattern, the `U` flag) the rewrite spells out
RE2's meaning. JSON text is read as RethinkDB's rapidjson reads it and written as its rapidjson writer writes it.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import math
import re
import string
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.control import check_pseudotype
from rethink_widgets.server.evaluation.terms import Term, operation

# ---------------------------------------------------------------- match


@operation("MATCH", 2)
def match(ctx: Context, term: Term) -> dict[str, Any] | None:
    text = ctx.string(term.args[0])
    found = compile_re2(ctx.string(term.args[1])).search(text)
    if found is None:
        return None
    offsets = _ByteOffsets(text)
    groups = [None if found.start(i) < 0 else _span(found, i, offsets) for i in range(1, len(found.groups()) + 1)]
    return {**_span(found, 0, offsets), "groups": groups}


class _ByteOffsets:
    """RE2 matches UTF-8 bytes, so RethinkDB reports positions in bytes rather than in code points."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()

    def __call__(self, index: int) -> int:
        return index if self.ascii else len(self.text[:index].encode("utf-8"))


def _span(found: re.Match[str], group: int, offsets: _ByteOffsets) -> dict[str, Any]:
    return {"str": found.group(group), "start": offsets(found.start(group)), "end": offsets(found.end(group))}


class RE2Error(ReqlQueryLogicError):
    def __init__(self, pattern: str, code: str, portion: str = "") -> None:
        detail = f"{code}: {portion}" if portion else code
        super().__init__(f"Error in regexp `{pattern}` (portion `{portion}`): {detail}")


_MAX_REPEAT = 1000
_MAX_RUNE = 0x10FFFF
Ranges = list[tuple[int, int]]

_PERL_CLASSES: dict[str, Ranges] = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}
_POSIX_CLASSES: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
# RE2's one-letter "C" leaves out unassigned code points (Cn).
_CATEGORY_GROUPS = {"C": ("Cc", "Cf", "Co", "Cs")}


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in sorted(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return out


@functools.cache
def _categories() -> dict[str, Ranges]:
    """Code point ranges of every Unicode general category, from this Python's Unicode database."""
    table: dict[str, Ranges] = {}
    for cp in range(_MAX_RUNE + 1):
        ranges = table.setdefault(unicodedata.category(chr(cp)), [])
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return table


def _unicode_group(name: str) -> Ranges | None:
    if name == "Any":
        return [(0, _MAX_RUNE)]
    table = _categories()
    if len(name) == 1:
        members = _CATEGORY_GROUPS.get(name, tuple(c for c in table if c[0] == name and c != "Cn"))
        return sorted(r for c in members for r in table.get(c, [])) or None
    return table.get(name) if name != "Cn" else None


@dataclasses.dataclass
class _Flags:
    fold: bool = False  # i
    multiline: bool = False  # m: ^ and $ at line ends too
    dot_nl: bool = False  # s
    ungreedy: bool = False  # U


@dataclasses.dataclass
class _Group:
    """An open parenthesis: what it captures, the flags to restore at its end, and its parsed pieces."""

    capture: bool
    flags: _Flags
    items: list[str | None] = dataclasses.field(default_factory=list)  # None stands for a `|`


class _RE2Parser:
    """One pass over an RE2 pattern in RE2's own order, so that the first error found is the one RE2 reports."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0
        self.flags = _Flags()
        self.stack = [_Group(False, self.flags)]

    def fail(self, code: str, portion: str = "") -> RE2Error:
        return RE2Error(self.pattern, code, portion)

    @property
    def rest(self) -> str:
        return self.pattern[self.pos :]

    @property
    def items(self) -> list[str | None]:
        return self.stack[-1].items

    def parse(self) -> str:
        last_repeat = -1  # where the previous token began, when it was a repetition
        while self.pos < len(self.pattern):
            start = self.pos
            repeated = self._token(last_repeat)
            last_repeat = start if repeated else -1
        if len(self.stack) > 1:
            raise self.fail("missing )", self.pattern)
        return _alternation(self.items)

    def _token(self, last_repeat: int) -> bool:
        """Parse one token; whether it was a repetition operator."""
        c = self.pattern[self.pos]
        if c in "*+?":
            return self._repeat(c, last_repeat)
        if c == "{" and self._counted(last_repeat):
            return True
        if c == "(":
            self._open()
        elif c == "|":
            self.pos += 1
            self.items.append(None)
        elif c == ")":
            self._close()
        elif c == "[":
            self._push(self._char_class())
        elif c == "\\":
            self._escape()
        else:
            self.pos += 1
            self._push(self._special(c))
        return False

    def _special(self, c: str) -> str:
        if c == "^":
            return "(?m:^)" if self.flags.multiline else r"\A"
        if c == "$":
            return "(?m:$)" if self.flags.multiline else r"\Z"
        if c == ".":
            return "(?s:.)" if self.flags.dot_nl else "[^\\n]"
        return self._literal(c)

    def _literal(self, c: str) -> str:
        return self._folded(re.escape(c))

    def _folded(self, text: str) -> str:
        return f"(?i:{text})" if self.flags.fold else text

    def _push(self, text: str) -> None:
        self.items.append(text)

    # ---- repetition

    def _repeat(self, op: str, last_repeat: int) -> bool:
        start = self.pos
        self.pos += 1
        lazy = self.rest.startswith("?")
        self.pos += lazy
        if last_repeat >= 0:
            raise self.fail("bad repetition operator", self.pattern[last_repeat : self.pos])
        self._apply_repeat(op, self.pattern[start : self.pos], lazy)
        return True

    def _counted(self, last_repeat: int) -> bool:
        bounds = re.match(r"\{(0|[1-9]\d{0,8})(?:(,)(0|[1-9]\d{0,8})?)?\}", self.rest)
        if bounds is None:
            return False  # not a repetition: `{` is a literal
        start = self.pos
        self.pos += bounds.end()
        lazy = self.rest.startswith("?")
        self.pos += lazy
        if last_repeat >= 0:
            raise self.fail("bad repetition operator", self.pattern[last_repeat : self.pos])
        low = int(bounds[1])
        high = low if bounds[2] is None else (int(bounds[3]) if bounds[3] is not None else -1)
        text = self.pattern[start : self.pos]
        if (high != -1 and high < low) or low > _MAX_REPEAT or high > _MAX_REPEAT:
            raise self.fail("invalid repetition size", text)
        op = f"{{{low},{high if high >= 0 else ''}}}"
        self._apply_repeat(op, text, lazy)
        return True

    def _apply_repeat(self, op: str, text: str, lazy: bool) -> None:
        if not self.items or self.items[-1] is None:
            raise self.fail("no argument for repetition operator", text)
        # The U flag swaps greedy and lazy.
        suffix = "?" if lazy != self.flags.ungreedy else ""
        self.items[-1] = f"(?:{self.items[-1]}){op}{suffix}"

    # ---- groups

    def _open(self) -> None:
        if not self.rest.startswith("(?"):
            self.pos += 1
            self.stack.append(_Group(True, self.flags))
            return
        self.pos += 2
        if self.rest.startswith("P<") and len(self.rest) > 2:
            self._named_group()
        else:
            self._perl_flags()

    def _named_group(self) -> None:
        start = self.pos - 2
        end = self.pattern.find(">", self.pos + 2)
        if end < 0:
            raise self.fail("invalid named capture group", self.pattern[start:])
        name = self.pattern[self.pos + 2 : end]
        if not re.fullmatch(r"[0-9A-Za-z_]+", name):
            raise self.fail("invalid named capture group", self.pattern[start : end + 1])
        self.pos = end + 1
        # Names play no part in a match's result, so the group is a plain one.
        self.stack.append(_Group(True, self.flags))

    def _perl_flags(self) -> None:
        start = self.pos - 2
        new = dataclasses.replace(self.flags)
        negated = saw_flag = False
        while True:
            if self.pos >= len(self.pattern):
                raise self.fail("invalid perl operator", self.pattern[start : self.pos])
            c = self.pattern[self.pos]
            self.pos += 1
            if c in "imsU":
                saw_flag = True
                setattr(new, {"i": "fold", "m": "multiline", "s": "dot_nl", "U": "ungreedy"}[c], not negated)
            elif c == "-" and not negated:
                negated, saw_flag = True, False
            elif c in ":)":
                break
            else:
                raise self.fail("invalid perl operator", self.pattern[start : self.pos])
        if negated and not saw_flag:
            raise self.fail("invalid perl operator", self.pattern[start : self.pos])
        if c == ":":
            self.stack.append(_Group(False, self.flags))
        self.flags = new

    def _close(self) -> None:
        self.pos += 1
        if len(self.stack) == 1:
            raise self.fail("missing )", self.pattern)
        group = self.stack.pop()
        self.flags = group.flags
        self._push(("(" if group.capture else "(?:") + _alternation(group.items) + ")")

    # ---- escapes outside classes

    def _escape(self) -> None:
        nxt = self.pattern[self.pos + 1 : self.pos + 2]
        simple = {"b": r"(?a:\b)", "B": r"(?a:\B)", "A": r"\A", "z": r"\Z", "C": "(?s:.)"}
        if nxt in simple:
            self.pos += 2
            self._push(simple[nxt])
        elif nxt == "Q":
            self._quoted()
        elif nxt in ("p", "P") and len(self.rest) > 2:
            self._push(self._folded(_class_text(*self._unicode_class())))
        elif nxt.lower() in _PERL_CLASSES:
            self.pos += 2
            self._push(self._folded(_class_text(_perl_class(nxt), False)))
        else:
            self._push(self._literal(chr(self._escaped_char())))

    def _quoted(self) -> None:
        self.pos += 2
        end = self.pattern.find("\\E", self.pos)
        end = len(self.pattern) if end < 0 else end
        for c in self.pattern[self.pos : end]:
            self._push(self._literal(c))
        self.pos = min(end + 2, len(self.pattern))

    def _escaped_char(self) -> int:
        """A backslash escape naming one character (also inside classes)."""
        start = self.pos
        if self.pos + 1 >= len(self.pattern):
            raise self.fail("trailing \\")
        c = self.pattern[self.pos + 1]
        self.pos += 2
        if c < "\x80" and not c.isalnum():
            return ord(c)
        if c in "01234567":
            return self._octal(start, c)
        if c == "x":
            return self._hex(start)
        controls = {"n": 10, "r": 13, "t": 9, "a": 7, "f": 12, "v": 11}
        if c in controls:
            return controls[c]
        raise self._bad_escape(start)

    def _octal(self, start: int, first: str) -> int:
        # \1 to \7 alone would be backreferences, which RE2 does not have.
        if first != "0" and not ("0" <= self.rest[:1] <= "7"):
            raise self._bad_escape(start)
        digits = re.match(r"[0-7]{0,2}", self.rest)[0]  # type: ignore[index]
        self.pos += len(digits)
        return int(first + digits, 8)

    def _hex(self, start: int) -> int:
        c = self._next_or_fail(start)
        if c != "{":
            low = self._next_or_fail(start)
            if c not in string.hexdigits or low not in string.hexdigits:
                raise self._bad_escape(start)
            return int(c + low, 16)
        # Any number of hex digits in braces, at least one; RE2 shows the escape up to where it went wrong.
        code, count = 0, 0
        c = self._next_or_fail(start)
        while c in string.hexdigits:
            code, count = code * 16 + int(c, 16), count + 1
            if code > _MAX_RUNE:
                raise self._bad_escape(start)
            c = self._next_or_fail(start)
        if c != "}" or count == 0:
            raise self._bad_escape(start)
        return code

    def _next_or_fail(self, start: int) -> str:
        if self.pos >= len(self.pattern):
            raise self._bad_escape(start)
        self.pos += 1
        return self.pattern[self.pos - 1]

    def _bad_escape(self, start: int) -> RE2Error:
        return self.fail("invalid escape sequence", self.pattern[start : self.pos])

    def _unicode_class(self) -> tuple[Ranges, bool]:
        start = self.pos
        negated = self.pattern[self.pos + 1] == "P"
        self.pos += 2
        if self.pattern[self.pos] != "{":
            name = self.pattern[self.pos]
            self.pos += 1
        else:
            end = self.pattern.find("}", self.pos)
            if end < 0:
                raise self.fail("invalid character class range", self.pattern[start:])
            name = self.pattern[self.pos + 1 : end]
            self.pos = end + 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        ranges = _unicode_group(name)
        if ranges is None:
            raise self.fail("invalid character class range", self.pattern[start : self.pos])
        return ranges, negated

    # ---- bracketed classes

    def _char_class(self) -> str:
        start = self.pos
        self.pos += 1
        negated = self.rest.startswith("^")
        self.pos += negated
        ranges: Ranges = []
        first = True
        while self.pos < len(self.pattern) and (self.pattern[self.pos] != "]" or first):
            first = False
            ranges.extend(self._class_item(start))
        if self.pos >= len(self.pattern):
            raise self.fail("missing ]", self.pattern[start:])
        self.pos += 1
        return self._folded(_class_text(ranges, negated))

    def _class_item(self, start: int) -> Ranges:
        rest = self.rest
        posix_end = rest.find(":]", 2) if rest.startswith("[:") and len(rest) > 2 else -1
        if posix_end >= 0:
            return self._posix_class(rest[: posix_end + 2])
        if rest[:2] in ("\\p", "\\P") and len(rest) > 2:
            ranges, negated = self._unicode_class()
            return _complement(ranges) if negated else ranges
        if rest[:1] == "\\" and rest[1:2].lower() in _PERL_CLASSES and rest[1:2]:
            self.pos += 2
            return _perl_class(rest[1])
        item = self.pos
        low = self._class_char(start)
        if self.rest[:1] == "-" and len(self.rest) >= 2 and self.rest[1] != "]":
            self.pos += 1
            high = self._class_char(start)
            if high < low:
                raise self.fail("invalid character class range", self.pattern[item : self.pos])
            return [(low, high)]
        return [(low, low)]

    def _posix_class(self, name: str) -> Ranges:
        self.pos += len(name)
        negated = name.startswith("[:^")
        ranges = _POSIX_CLASSES.get(name[3 if negated else 2 : -2])
        if ranges is None:
            raise self.fail("invalid character class range", name)
        return _complement(ranges) if negated else ranges

    def _class_char(self, start: int) -> int:
        if self.pos >= len(self.pattern):
            raise self.fail("missing ]", self.pattern[start:])
        if self.pattern[self.pos] == "\\":
            return self._escaped_char()
        self.pos += 1
        return ord(self.pattern[self.pos - 1])


def _perl_class(letter: str) -> Ranges:
    ranges = _PERL_CLASSES[letter.lower()]
    return _complement(ranges) if letter.isupper() else ranges


def _alternation(items: list[str | None]) -> str:
    return "".join("|" if item is None else item for item in items)


def _class_text(ranges: Ranges, negated: bool) -> str:
    if not ranges:
        return "(?s:.)" if negated else "(?!)"
    body = "".join(_code(lo) if lo == hi else f"{_code(lo)}-{_code(hi)}" for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


def _code(cp: int) -> str:
    return f"\\U{cp:08x}"


@functools.lru_cache(maxsize=256)
def compile_re2(pattern: str) -> re.Pattern[str]:
    """An RE2 pattern as a compiled Python pattern with the same matches, or RE2's error for it."""
    return re.compile(_RE2Parser(pattern).parse())


# ---------------------------------------------------------------- split, upcase, downcase

# Unicode's White_Space property, which RethinkDB splits on.
_WHITESPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


@operation("SPLIT", (1, 3))
def split(ctx: Context, term: Term) -> list[str]:
    text = ctx.string(term.args[0])
    separator = ctx.datum(term.args[1]) if len(term.args) > 1 else None
    if separator is not None and not isinstance(separator, str):
        separator = ctx.string(term.args[1])  # raises RethinkDB's type error
    limit = -1
    if len(term.args) > 2:
        limit = ctx.integer(term.args[2])
        if not -1 <= limit <= ctx.array_limit - 1:
            raise ReqlQueryLogicError(f"Error: `split` size argument must be in range [-1, {ctx.array_limit - 1}].")
    return ctx.check_array(_split(text, separator, limit if limit >= 0 else sys.maxsize))


def _split(text: str, separator: str | None, limit: int) -> list[str]:
    out: list[str] = []
    pos, end = 0, len(text)
    while True:
        if len(out) == limit:
            rest = text[pos:] if separator is not None else text[_skip(text, pos, _is_space) :]
            if rest or separator:
                out.append(rest)
            return out
        if separator == "":
            # Each character with the combining marks that follow it.
            nxt = _skip(text, pos + 1, _is_combining) if pos < end else end
            if nxt != pos:
                out.append(text[pos:nxt])
            pos = nxt
            if pos == end:
                return out
        elif separator is not None:
            found = text.find(separator, pos)
            if found < 0:
                out.append(text[pos:])
                return out
            out.append(text[pos:found])
            pos = found + len(separator)
        else:
            space = _skip(text, pos, lambda c: not _is_space(c))
            if space == end:
                if pos < end:
                    out.append(text[pos:])
                return out
            if space != pos:
                out.append(text[pos:space])
            pos = space + 1


def _is_space(c: str) -> bool:
    return c in _WHITESPACE


def _is_combining(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


def _skip(text: str, pos: int, while_true: Callable[[str], bool]) -> int:
    """The first position at or after `pos` whose character fails `while_true` (or the end)."""
    while pos < len(text) and while_true(text[pos]):
        pos += 1
    return pos


# RethinkDB changes case with C's toupper and tolower: ASCII letters only.
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@operation("UPCASE", 1)
def upcase(ctx: Context, term: Term) -> str:
    return ctx.string(term.args[0]).translate(_UPPER)


@operation("DOWNCASE", 1)
def downcase(ctx: Context, term: Term) -> str:
    return ctx.string(term.args[0]).translate(_LOWER)


# ---------------------------------------------------------------- JSON text


@operation("TO_JSON_STRING", 1)
def to_json_string(ctx: Context, term: Term) -> str:
    return json_text(ctx.datum(term.args[0]))


def json_text(value: Any) -> str:
    """A datum as RethinkDB's rapidjson writer writes it: compact, keys sorted, its own number format."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def _write(value: Any, out: list[str]) -> None:
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
            _write(item, out)
        out.append("]")
    else:
        out.append("{")
        for i, key in enumerate(sorted(value)):
            out.append(("," if i else "") + _string_text(key) + ":")
            _write(value[key], out)
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


@operation("JSON", 1)
def json_(ctx: Context, term: Term) -> Any:
    text = ctx.string(term.args[0])
    # RethinkDB hands rapidjson a C string, which ends at the first NUL.
    text = text.split("\0", 1)[0]
    try:
        return _JsonReader(text).document()
    except _JsonSyntaxError as error:
        shown = text if len(text.encode("utf-8")) <= 40 else _first_bytes(text, 37) + "..."
        raise ReqlQueryLogicError(f'Failed to parse "{shown}" as JSON: {error}') from None


def _first_bytes(text: str, count: int) -> str:
    return text.encode("utf-8")[:count].decode("utf-8", errors="ignore")


class _JsonSyntaxError(Exception):
    pass


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
            raise _JsonSyntaxError("The document is empty.")
        value = self.value()
        self.skip_space()
        if self.peek():
            raise _JsonSyntaxError("The document root must not be followed by other values.")
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
                raise _JsonSyntaxError("Invalid value.")
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
                raise _JsonSyntaxError("Missing a name for object member.")
            key = self.string()
            self.skip_space()
            if self.take() != ":":
                raise _JsonSyntaxError("Missing a colon after a name of object member.")
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
                raise _JsonSyntaxError("Missing a comma or '}' after an object member.")
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
                raise _JsonSyntaxError("Missing a comma or ']' after an array element.")
            self.skip_space()

    def string(self) -> str:
        self.take()
        out: list[str] = []
        while True:
            c = self.take()
            if c == '"':
                return "".join(out)
            if not c:
                raise _JsonSyntaxError("Missing a closing quotation mark in string.")
            if c == "\\":
                out.append(self.escape())
            elif c < " ":
                raise _JsonSyntaxError("Invalid escape character in string.")
            else:
                out.append(c)

    def escape(self) -> str:
        c = self.take()
        if c in _JSON_ESCAPES and c:
            return _JSON_ESCAPES[c]
        if c != "u":
            raise _JsonSyntaxError("Invalid escape character in string.")
        code = self.hex4()
        if 0xD800 <= code <= 0xDBFF:
            if self.take() != "\\" or self.take() != "u":
                raise _JsonSyntaxError("The surrogate pair in string is invalid.")
            low = self.hex4()
            if not 0xDC00 <= low <= 0xDFFF:
                raise _JsonSyntaxError("The surrogate pair in string is invalid.")
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        return chr(code)

    def hex4(self) -> int:
        digits = self.text[self.pos : self.pos + 4]
        if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            raise _JsonSyntaxError("Incorrect hex digit after \\u escape in string.")
        self.pos += 4
        return int(digits, 16)

    def number(self) -> int | float:
        found = _JSON_NUMBER.match(self.text, self.pos)
        if found is None:
            raise _JsonSyntaxError("Invalid value.")
        if found["frac"] == ".":
            raise _JsonSyntaxError("Miss fraction part in number.")
        exponent = found["exp"]
        if exponent is not None and not exponent[-1].isdigit():
            raise _JsonSyntaxError("Miss exponent in number.")
        self.pos = found.end()
        # rapidjson refuses exponents past 308 however small the digits, and integers past the largest double.
        if exponent is not None and exponent[1] != "-" and int(exponent.lstrip("eE+")) > 308:
            raise _JsonSyntaxError("Number too big to be stored in double.")
        try:
            value = float(found[0]) if found["frac"] or exponent else float(int(found[0]))
        except OverflowError:
            value = math.inf
        if math.isinf(value):
            raise _JsonSyntaxError("Number too big to be stored in double.")
        return datums.number(value)
