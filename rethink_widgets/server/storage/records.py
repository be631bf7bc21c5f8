"""What storage holds and hands out: the catalog's records of tables and indexes, changes as commit listeners get
them, pages of stored texts, and the catalog's refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# The system database: it has no row in `dbs`, but a table of its own (the scratch table) lives here too.
SYSTEM_DB = "rethinkdb"

# An index's compiled function: a document's (index key, index value) pairs, none when the index skips it. A key is
# the value's `keys.encode`, but for a geospatial index, where evaluation keys each geometry by where it lies.
IndexFunction = Callable[[dict[str, Any]], list[tuple[bytes, Any]]]
IndexCompiler = Callable[[Any, bool, bool], IndexFunction]  # (stored function, multi, geo)

# How geospatial index keys are made (stored with each index): a geospatial index of an older format is emptied and
# built again when storage opens, since reads looking for the keys of today would miss its entries.
GEO_KEY_FORMAT = 1

# A range of raw index keys, low <= key < high.
KeyRange = tuple[bytes, bytes]

# A permission scope: ("global", ""), ("db", database id) or ("table", table id).
Scope = tuple[str, str]


@dataclass
class IndexInfo:
    name: str
    function: Any
    multi: bool
    geo: bool
    sql: str
    ready: bool = True
    built: bytes | None = None  # while building: the encoded primary key of the last row indexed
    progress: float = 0.0  # while building: the fraction of the table's rows indexed


@dataclass
class TableInfo:
    id: str
    db: str
    name: str
    primary_key: str
    durability: str
    sql: str
    shards: int = 1
    write_acks: str = "majority"
    write_hook: Any = None  # the FUNC term of the table's write hook, as the driver sent it
    indexes: dict[str, IndexInfo] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.db}.{self.name}"


class CatalogConflict(Exception):
    """A change of the catalog that the catalog refuses as it is when the change is made, under the write lock.

    `kind` is "database", "table" or "index"; `name` is the database's name, the table's `db.name` or the index's
    name, and `table` the `db.name` of an index's table.
    """

    def __init__(self, kind: str, name: str, table: str = "") -> None:
        super().__init__(f"{kind} {name}" + (f" on table {table}" if table else ""))
        self.kind = kind
        self.name = name
        self.table = table


class AlreadyExists(CatalogConflict):
    """What the change would create (or rename to) exists already."""


class DoesNotExist(CatalogConflict):
    """What the change works on is gone (or was never there)."""


class TextPage(NamedTuple):
    """The JSON texts stored for a page of documents, in order, joined by ROW_SEPARATOR."""

    text: str
    row_count: int


class CommittedChange(NamedTuple):
    """One document changed by a commit (`old` None: inserted; `new` None: deleted), as commit listeners get it.
    (A named tuple: made for every document written, in a third of the time a frozen dataclass takes.)"""

    table_id: str
    key: Any
    old: dict[str, Any] | None
    new: dict[str, Any] | None
