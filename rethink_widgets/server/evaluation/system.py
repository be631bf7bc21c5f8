"""Tables of the `rethinkdb` system database whose rows are computed when read: users, this server and its activity.

A system table has the primary key `id` and no secondary indexes; it reads its rows from the server's catalog and
turns writes into changes of it, one row at a time, errors counted per row as RethinkDB does. Reading one needs the
`read` permission on it, writing it `write` (see permissions.py). Reading `users` lists users and whether they have a
password; writing it adds users, changes passwords and removes users. Passwords become SCRAM credentials at once;
the plain text is never stored.

This server is a cluster of one: `server_config` and `server_status` have its one row, `cluster_config` the `auth`
and `heartbeat` rows, `current_issues` and `logs` are empty (nothing goes wrong that a cluster would report), `jobs`
lists the queries evaluating now and `stats` the counts of queries and of documents read and written.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

from rethink_widgets.server import interrupts, keys, scram, wire
from rethink_widgets.server.activity import Rate
from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, permissions
from rethink_widgets.server.evaluation.catalog import system_id, user_tables, valid_name
from rethink_widgets.server.evaluation.time_values import make_time
from rethink_widgets.server.evaluation.values import Table
from rethink_widgets.server.storage import SYSTEM_DB, Storage, TableInfo


class SystemTable(Table):
    """A system table; `by_id` names databases and servers by id (`identifier_format="uuid"`)."""

    name = ""
    # Whether the rows change only with the catalog, so that changefeeds can follow them (see SystemFeeds).
    follows_catalog = True
    # Whether an insert without a primary key gets a generated one (a UUID), as for an ordinary table.
    generates_keys = True
    storage: Storage  # the whole storage, not a user's view of one table: system tables show the server's state

    def __init__(self, storage: Storage, by_id: bool = False, user: str = "admin") -> None:
        # Each format is a table of its own to changefeeds, which follow tables by id.
        info = TableInfo(system_id(self.name + ("/uuid" if by_id else "")), SYSTEM_DB, self.name, "id", "hard", "")
        super().__init__(storage, info)
        self.by_id = by_id
        self.user = user
        self.source = lambda: iter(self.ordered_rows())

    def rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def require(self, permission: str) -> None:
        permissions.require(self.storage, self.user, permission, permissions.SYSTEM_DB_ID, system_id(self.name))

    def ordered_rows(self) -> list[dict[str, Any]]:
        self.require("read")
        return sorted(self.rows(), key=lambda row: keys.encode(row["id"]))

    def get(self, key: Any) -> dict[str, Any] | None:
        self.require("read")
        wanted = keys.encode(key)
        return next((row for row in self.rows() if keys.encode(row["id"]) == wanted), None)

    def count(self) -> int:
        self.require("read")
        return len(self.rows())

    def entries(  # noqa: PLR0917
        self, index: str, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool
    ) -> Iterator[tuple[Any, Any]]:
        low, high = keys.encode(lower), keys.encode(upper)
        rows = self.ordered_rows()
        for row in reversed(rows) if reverse else rows:
            key = keys.encode(row["id"])
            above = key > low or (key == low and not lower_open)
            below = key < high or (key == high and not upper_open)
            if above and below:
                yield row["id"], row

    @contextlib.contextmanager
    def writes(self, durability: str) -> Iterator[Any]:
        # System tables ignore `durability`, as RethinkDB's do. Without `read`, RethinkDB names `read` here.
        self.require("read")
        self.require("write")
        yield self

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a row (the change it stands for); returns the old row."""
        raise ReqlOpFailedError(f"It's illegal to write to the `{SYSTEM_DB}.{self.name}` table.")

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to write to the `{SYSTEM_DB}.{self.name}` table.")


def check_keys(doc: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(doc) - allowed)
    if extra:
        raise ReqlOpFailedError(f"Unexpected key(s) `{'`, `'.join(extra)}`.")


def check_user(storage: Storage, name: str) -> None:
    if name not in storage.users():
        raise ReqlOpFailedError(f"No user named `{name}`.")


def _required(doc: dict[str, Any], field: str) -> Any:
    if field not in doc:
        raise ReqlOpFailedError(f"Expected a field named `{field}`.")
    return doc[field]


class UsersTable(SystemTable):
    name = "users"

    def rows(self) -> list[dict[str, Any]]:
        return [_user_row(name, credentials) for name, credentials in self.storage.users().items()]

    def get(self, key: Any) -> dict[str, Any] | None:
        self.require("read")
        credentials = self.storage.users().get(key) if isinstance(key, str) else None
        return _user_row(key, credentials) if credentials is not None else None

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        name = doc["id"]
        if not isinstance(name, str) or not name:
            raise ReqlQueryLogicError(f"Expected a string for the user name, got {datums.printed(name)}.")
        check_keys(doc, {"id", "password"})
        old = self.get(name)
        password = doc.get("password", False)
        if old is not None and password is True:
            return old  # unchanged: `true` keeps the current password
        if password is False:
            password = ""
        if not isinstance(password, str):
            raise ReqlQueryLogicError(f"Expected a string or `false` for `password`, got {datums.printed(password)}.")
        self.storage.user_put(name, scram.make_credentials(password))
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        old = self.get(key)
        if old is None:
            return None
        if key == "admin":
            raise ReqlOpFailedError("The user `admin` can't be deleted.")
        self.storage.user_delete(key)
        return old


def _user_row(name: str, credentials: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "password": bool(credentials.get("password"))}


# ---------------------------------------------------------------- this server


class ServerConfigTable(SystemTable):
    """This server's name, tags and cache size: the name and tags can change, rows can't come or go."""

    name = "server_config"

    def rows(self) -> list[dict[str, Any]]:
        settings = self.storage.settings()
        return [{
            "cache_size_mb": settings["cache_size_mb"], "id": self.storage.server_id, "name": self.storage.server_name,
            "tags": settings["tags"],
        }]  # fmt: skip

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc["id"] != self.storage.server_id:
            raise ReqlOpFailedError(f"It's illegal to insert new rows into the `{SYSTEM_DB}.{self.name}` table.")
        old = self.rows()[0]
        name = checked_name(_required(doc, "name"), "name", "server name")
        tags = _required(doc, "tags")
        if not isinstance(tags, list):
            raise ReqlOpFailedError(f"In `tags`: Expected an array, got {datums.printed(tags)}")
        tags = sorted({checked_name(tag, "tags", "server tag") for tag in tags})
        cache = doc.get("cache_size_mb", "auto")
        if cache != "auto" and (not datums.is_number(cache) or cache < 0):
            raise ReqlOpFailedError(f'In `cache_size_mb`: Expected a number or "auto", got {datums.printed(cache)}')
        check_keys(doc, {"id", "name", "tags", "cache_size_mb"})
        self.storage.configure(name if name != old["name"] else None, tags=tags, cache_size_mb=cache)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to delete rows from the `{SYSTEM_DB}.{self.name}` table.")


def checked_name(value: Any, field: str, what: str) -> str:
    """A name written into a system table row (`field` of it), checked with RethinkDB's messages."""
    if not isinstance(value, str):
        raise ReqlOpFailedError(f"In `{field}`: Expected a {what}; got {datums.printed(value)}")
    if not valid_name(value):
        raise ReqlOpFailedError(
            f"In `{field}`: {datums.printed(value)} is not a valid {what}; Use A-Z, a-z, 0-9, _ and - only."
        )
    return value


class ServerStatusTable(SystemTable):
    """This server's process and network: read only."""

    name = "server_status"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        activity = self.storage.activity
        started = make_time(round(activity.time_started, 3))
        cache = self.storage.settings()["cache_size_mb"]
        network: dict[str, Any] = {
            "canonical_addresses": [], "cluster_port": None, "connected_to": {}, "hostname": socket.gethostname(),
            "http_admin_port": "<no http admin>", "reql_port": activity.reql_port, "time_connected": started,
        }  # fmt: skip
        process = {
            "argv": activity.argv, "cache_size_mb": 100 if cache == "auto" else cache, "pid": activity.pid,
            "time_started": started, "version": f"rethinkdb {wire.SERVER_VERSION}",
        }  # fmt: skip
        return [
            {"id": self.storage.server_id, "name": self.storage.server_name, "network": network, "process": process}
        ]


class ClusterConfigTable(SystemTable):
    """The `auth` row (the auth key, never shown) and the `heartbeat` row: both can change, rows can't come or go."""

    name = "cluster_config"

    def rows(self) -> list[dict[str, Any]]:
        settings = self.storage.settings()
        auth_key = None if settings["auth_key"] is None else {"hidden": True}
        return [
            {"auth_key": auth_key, "id": "auth"},
            {"heartbeat_timeout_secs": settings["heartbeat_timeout_secs"], "id": "heartbeat"},
        ]

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        old = self.get(doc["id"])
        if old is None:
            raise ReqlOpFailedError(f"It's illegal to insert new rows into the `{SYSTEM_DB}.{self.name}` table.")
        if doc["id"] == "auth":
            key = _required(doc, "auth_key")
            check_keys(doc, {"id", "auth_key"})
            self.storage.configure(auth_key=_auth_key(key))
        else:
            timeout = _required(doc, "heartbeat_timeout_secs")
            check_keys(doc, {"id", "heartbeat_timeout_secs"})
            if not datums.is_number(timeout):
                raise ReqlOpFailedError(f"Expected a number; got {datums.printed(timeout)}")
            if timeout < 2:
                raise ReqlOpFailedError("The heartbeat timeout must be at least 2 seconds.")
            self.storage.configure(heartbeat_timeout_secs=timeout)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to delete rows from the `{SYSTEM_DB}.{self.name}` table.")


def _auth_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value == {"hidden": True}:
        raise ReqlOpFailedError(
            "You're trying to set the `auth_key` field in the `auth` document of `rethinkdb.cluster_config` to "
            "{hidden: true}. The `auth_key` field can be set to a string, or `null` for no auth key. {hidden: true} "
            "is a special place-holder value that RethinkDB returns if you try to read the auth key; RethinkDB won't "
            "show you the real auth key for security reasons. Setting the auth key to {hidden: true} is not allowed."
        )
    if not isinstance(value, str):
        raise ReqlOpFailedError(f"Expected a string or null; got {datums.printed(value)}")
    if len(value.encode()) > _MAX_AUTH_KEY:
        raise ReqlOpFailedError(
            f"The auth key should be at most {_MAX_AUTH_KEY} bytes long, but your given key is "
            f"{len(value.encode())} bytes."
        )
    return value


_MAX_AUTH_KEY = 2048


class CurrentIssuesTable(SystemTable):
    name = "current_issues"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        return []


class LogsTable(SystemTable):
    name = "logs"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        return []


class JobsTable(SystemTable):
    """The queries evaluating now; a user other than `admin` sees only their own."""

    name = "jobs"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        now, server = time.monotonic(), self._server()
        return [
            {
                "duration_sec": round(now - job.started, 6), "id": ["query", job.id],
                "info": {"client_address": job.client_address, "client_port": job.client_port,
                         "query": datums.dumps(job.query), "user": job.user},
                "servers": [server], "type": "query",
            }
            for job in list(self.storage.activity.jobs.values())
            if self.user in ("admin", job.user)
        ]  # fmt: skip

    def delete(self, key: Any) -> dict[str, Any] | None:
        """Stop the job's query, as RethinkDB does; it answers "Query terminated by the `rethinkdb.jobs` table."."""
        row = self.get(key)
        if row is not None:
            job = self.storage.activity.jobs.get(row["id"][1])
            if job is not None:
                job.interruptor.interrupt(interrupts.JOBS)
        return row

    def _server(self) -> str:
        return self.storage.server_id if self.by_id else self.storage.server_name


class StatsTable(SystemTable):
    """Queries and documents read and written: per second (the last whole second) and in total since the start."""

    name = "stats"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        activity, server_id = self.storage.activity, self.storage.server_id
        server = server_id if self.by_id else self.storage.server_name
        connections = activity.connections()
        active = len({(job.client_address, job.client_port) for job in list(activity.jobs.values())})
        tables = user_tables(self.storage)
        # (Looked up without adding entries: a table never read has no counter yet.)
        reads = {info.id: activity.reads.get(info.id) or Rate() for info in tables}
        writes = {info.id: activity.writes.get(info.id) or Rate() for info in tables}
        read_rate, write_rate = sum(r.per_sec() for r in reads.values()), sum(w.per_sec() for w in writes.values())
        engine = {
            "client_connections": connections, "clients_active": active,
            "queries_per_sec": activity.queries.per_sec(), "read_docs_per_sec": read_rate,
            "written_docs_per_sec": write_rate,
        }  # fmt: skip
        totals = {
            "queries_total": activity.queries.total, "read_docs_total": sum(r.total for r in reads.values()),
            "written_docs_total": sum(w.total for w in writes.values()),
        }  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"id": ["cluster"], "query_engine": engine},
            {"id": ["server", server_id], "query_engine": {**engine, **totals}, "server": server},
        ]
        for info in tables:
            names = {"db": self.storage.db_id(info.db) if self.by_id else info.db, "table": info.name}
            if self.by_id:
                names["table"] = info.id
            read, written = reads[info.id], writes[info.id]
            rates = {"read_docs_per_sec": read.per_sec(), "written_docs_per_sec": written.per_sec()}
            rows.append({"id": ["table", info.id], "query_engine": rates, **names})
            rows.append({
                "id": ["table_server", info.id, server_id], "server": server, **names,
                "query_engine": {**rates, "read_docs_total": read.total, "written_docs_total": written.total},
                "storage_engine": _STORAGE_ENGINE,
            })  # fmt: skip
        return rows


# The cache and disk figures of RethinkDB's own storage engine, which SQLite does not keep.
_STORAGE_ENGINE = {
    "cache": {"in_use_bytes": 0},
    "disk": {
        "read_bytes_per_sec": 0, "read_bytes_total": 0, "written_bytes_per_sec": 0, "written_bytes_total": 0,
        "space_usage": {"data_bytes": 0, "garbage_bytes": 0, "metadata_bytes": 0, "preallocated_bytes": 0},
    },
}  # fmt: skip
