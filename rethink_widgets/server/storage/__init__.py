"""Durable storage in one SQLite file: databases, tables, secondary indexes, users, permissions and server settings.

`Storage` is made of layers, each in a module of its own:
- core.py: the file, its connections (one writer, a reader per thread, snapshots), the write lock and the listeners
  told of commits, drops and catalog changes;
- index_builds.py: secondary indexes built in the background;
- catalog.py: databases, tables, indexes, users, permissions and settings;
- reads.py: point reads and scans, a page at a time;
- writes.py and transaction.py: atomic writes, their durability and what they tell the commit listeners;
- group_commit.py and checkpoints.py: the fsyncs hard writes share, and the log copied into the database file.
records.py holds what they hand out (TableInfo, CommittedChange ...), texts.py the JSON texts rows are stored as.

Each ReQL table is a SQLite table keyed by `keys.encode(primary key)`, so SQLite's BLOB order is ReQL's order; each
secondary index is a SQLite table of (index key, primary key) pairs, so `between`, `get_all` and `order_by(index)`
read only the range they need. A geospatial index's keys are made by evaluation (where each geometry lies, see
records.IndexFunction), and read by ranges of raw keys (`index_key_ranges`). Reads and writes are counted per table
in `activity` (see activity.py), which the `stats` system table shows."""

from __future__ import annotations

from rethink_widgets.server.storage.core import Snapshot
from rethink_widgets.server.storage.files import DATA_FILE, private_directory, private_file
from rethink_widgets.server.storage.reads import Reads
from rethink_widgets.server.storage.records import (
    SYSTEM_DB,
    AlreadyExists,
    CatalogConflict,
    CommittedChange,
    Scope,
    TableInfo,
    TextPage,
)
from rethink_widgets.server.storage.texts import REPLY_READY, ROW_SEPARATOR
from rethink_widgets.server.storage.transaction import Transaction
from rethink_widgets.server.storage.writes import Writes

__all__ = [
    "DATA_FILE",
    "REPLY_READY",
    "ROW_SEPARATOR",
    "SYSTEM_DB",
    "AlreadyExists",
    "CatalogConflict",
    "CommittedChange",
    "Scope",
    "Snapshot",
    "Storage",
    "TableInfo",
    "TextPage",
    "Transaction",
    "private_directory",
    "private_file",
]


class Storage(Writes, Reads):
    """The storage of one data directory (see the layers above); `close()` it when done."""
