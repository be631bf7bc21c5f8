"""RethinkDB's regular expressions: RE2 itself (google-re2), refusing what RethinkDB 2.4's older RE2 refuses.

RethinkDB 2.4 bundles the RE2 of November 2015. google-re2 is a later RE2 whose dialect has grown since: it takes
`(?<name>...)` groups and capture names beyond ASCII, and it calls a stray `)` "unexpected" where the older RE2
said "missing". `compile_regexp` refuses those patterns as RethinkDB does, in the same words. (Newer Unicode tables
remain: a character or script that Unicode added since 2015 is known here.)
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import NamedTuple

import re2

from rethink_widgets.server.errors import ReqlQueryLogicError

# RethinkDB compiles quietly: a bad pattern is the user's error, not a line in the server's log.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False

# Private use code points: RE2 takes none of them after `(?` or in a capture name, so a marked group is refused.
_MARKERS = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))
_NAMED_GROUP = re.compile(r"\(\?P<([^>(]*)>")


class RegexpError(ReqlQueryLogicError):
    """A pattern RE2 refuses, in RethinkDB's words: the pattern, the part of it at fault and RE2's error."""

    def __init__(self, pattern: str, refusal: Refusal) -> None:
        super().__init__(f"Error in regexp `{pattern}` (portion `{refusal.portion}`): {refusal.text}")


class Refusal(NamedTuple):
    """RE2's error for a pattern: its code (such as "missing )") and the part of the pattern at fault."""

    code: str
    portion: str

    @property
    def text(self) -> str:
        return f"{self.code}: {self.portion}" if self.portion else self.code


@functools.lru_cache(maxsize=256)
def compile_regexp(pattern: str) -> re2._Regexp:
    """The pattern compiled by RE2, or RegexpError with the error RethinkDB 2.4 gives for it."""
    compiled = _refused_by_old_re2(pattern) or _compile(pattern)
    if isinstance(compiled, Refusal):
        code = "missing )" if compiled.code == "unexpected )" else compiled.code
        raise RegexpError(pattern, Refusal(code, compiled.portion))
    return compiled


def _compile(pattern: str) -> re2._Regexp | Refusal:
    # Lone surrogates (possible in JSON text) go to RE2 as bytes it refuses as invalid UTF-8.
    try:
        return re2.compile(pattern.encode("utf-8", "surrogatepass"), _OPTIONS)
    except re2.error as error:
        code, _, portion = error.args[0].decode("utf-8", "replace").partition(": ")
        return Refusal(code, portion)


def _refused_by_old_re2(pattern: str) -> Refusal | None:
    """The older RE2's error when its parse ends at a `(?<` group or at a capture name beyond ASCII.

    Each place where such a group could open gets a marker that makes RE2 refuse it there. A place that is plain
    text (in a character class, after `\\Q`, after an escaped `(`) keeps a marker harmlessly, and RE2 parses the
    pattern up to the first real group as it parses the original, so RE2's first error says whether, and which,
    group the older RE2 would have stopped at.
    """
    if "(?<" not in pattern and not any(not name.isascii() for name in _NAMED_GROUP.findall(pattern)):
        return None
    used = set(pattern)
    marker = next(chr(code) for code in itertools.chain(*_MARKERS) if chr(code) not in used)
    # The marker goes between `?` and `<` so that a class range starting at `<` stays as it is.
    marked = pattern.replace("(?<", f"(?{marker}<")
    marked = _NAMED_GROUP.sub(lambda group: _mark_name(group, marker), marked)
    refusal = _compile(marked)
    if not isinstance(refusal, Refusal):
        return None
    if refusal == Refusal("invalid perl operator", f"(?{marker}"):
        return Refusal("invalid perl operator", "(?<")
    if refusal.code == "invalid named capture group" and refusal.portion.startswith(f"(?P<{marker}"):
        return Refusal(refusal.code, refusal.portion.replace(marker, "", 1))
    return None


def _mark_name(group: re.Match[str], marker: str) -> str:
    name = group[1]
    # A name starting with `-` is refused by both RE2s alike; marking it could make a class range out of order.
    if name.isascii() or name.startswith("-"):
        return group[0]
    return f"(?P<{marker}{name}>"
