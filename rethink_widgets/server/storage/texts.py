"""The JSON texts documents are stored as: orjson writes and reads them where its output is what Python's json module
would write and read, which does the rest."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from rethink_widgets.server.wire import finite

# json.dumps with these options would make a new encoder for every document.
json_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

# (What is no JSON, a dataclass or a datetime say, orjson must refuse as Python's json module does.)
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
REPLY_READY = " "  # begins a row's stored text written by orjson, keys sorted (see `row_text`)
ROW_SEPARATOR = "\x1e"  # keeps rows apart in one text: JSON writes every control character escaped
_LONG_DIGITS = re.compile("[0-9]{19}")  # (every integer orjson reads as a double has at least 19 digits)


def document_text(doc: Any) -> str:
    """A document's stored text: JSON that reads back as the same document. orjson writes it, unless Python's json
    module would write it otherwise or refuse it (integers beyond 64 bits, keys that are no strings, NaN, which
    orjson writes as null): then that module does, raising TypeError for what is no JSON (r.minval, r.maxval) and
    ValueError for NaN as it always did."""
    try:
        text = orjson.dumps(doc, option=_ORJSON_OPTIONS)
    except TypeError:
        return json_dumps(doc)
    return json_dumps(doc) if b"null" in text and not finite(doc) else text.decode()


def row_text(doc: dict[str, Any]) -> str:
    """A table row's stored text: as `document_text`, but when orjson writes it, with its keys sorted and after a
    space (REPLY_READY), which marks the text a reply can send as it is, but for a few numbers (row_texts.py). A
    space before JSON is still JSON: readers that do not look for the mark read the same document."""
    try:
        text = orjson.dumps(doc, option=_ORJSON_OPTIONS | orjson.OPT_SORT_KEYS)
    except TypeError:
        return json_dumps(doc)
    return json_dumps(doc) if b"null" in text and not finite(doc) else REPLY_READY + text.decode()


def document(text: str) -> Any:
    """A document from its stored text, as Python's json module reads it. orjson reads it, unless it may hold an
    integer beyond 64 bits, which orjson reads as a double (the server wrote the text: it holds no NaN, no lone
    surrogate)."""
    return json.loads(text) if _LONG_DIGITS.search(text) else orjson.loads(text)
