"""Stored documents as reply text, without building the documents first: a table stores each as JSON already.

A reply writes a document as `wire.dumps(datums.to_wire(doc))`. The text storage keeps (Python's json module wrote
it) holds the same values, with the keys in the document's own order and the numbers as Python writes them, so orjson
reads it and writes it back with the keys sorted, several times faster than building the document and encoding it.
The result is the same text, except where the two ways part, which `reply_text` sees and leaves to the usual one:
- an integral double within 2^53 (stored as "5.0"), which `to_wire` makes an integer; only such a number (or a
  string holding ".0") puts ".0" before a character other than a digit;
- an integer beyond 64 bits, which orjson reads as a double (written with an exponent, "1.2e+29");
- a double below 1e-4, which orjson writes otherwise than `wire.dumps` does (see there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import orjson

from rethink_widgets.server import wire
from rethink_widgets.server.evaluation import datums

# Numbers only: a number begins after one of `:,[` (the texts are compact), so text within strings, such as a UUID's
# "4e-" or a version's "1.0.2", seldom sends a document the slow way (and then only costs time).
_INTEGRAL_DOUBLE = re.compile(r"[:,\[]-?[0-9]+\.0(?![0-9])")
# After orjson: a number with an exponent (a big one read as a double, or a small one) or below 1e-4.
_NUMBER_TO_REDO = re.compile(r"[:,\[]-?[0-9][0-9.]*e[-+]|[:,\[]-?0\.0000")


def reply_text(stored: str) -> str:
    """The reply text of a document from the JSON text storage keeps for it."""
    if ".0" in stored and _INTEGRAL_DOUBLE.search(stored):
        return _rebuilt(stored)
    text = orjson.dumps(orjson.loads(stored), option=orjson.OPT_SORT_KEYS).decode()
    if ("e-" in text or "e+" in text or "0.0000" in text) and _NUMBER_TO_REDO.search(text):
        return _rebuilt(stored)
    return text


def reply_texts(stored: Iterator[str]) -> Iterator[str]:
    return map(reply_text, stored)


def _rebuilt(stored: str) -> str:
    return wire.dumps(datums.to_wire(json.loads(stored)))
