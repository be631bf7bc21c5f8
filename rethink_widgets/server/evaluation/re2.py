"""RethinkDB's regular expressions: RE2 patterns parsed as RE2 parses them and rewritten into Python `re` patterns.

A pattern is refused with RE2's own error (the first one RE2 would find) and otherwise rewritten into an equivalent
Python pattern; where the two dialects differ (one-line `$`, ASCII `\\d \\w \\s \\b`, octal escapes, `\\x{...}`,
`\\Q...\\E`, `\\pN` classes, flags in mid-pattern, the `U` flag) the rewrite spells out RE2's meaning.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import unicodedata

from rethink_widgets.server.errors import ReqlQueryLogicError


class RE2Error(ReqlQueryLogicError):
    """A pattern RE2 refuses, in RethinkDB's words around RE2's error code and the part of the pattern at fault."""

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
