"""Where the widgets' data lives, and the connections the widgets use (never the user's own).

Feeds and writes run on the kernel's event loop with a `RethinkDB()` instance of their own in the asyncio loop
type, so the user's `r` stays synchronous. Settings come from `RETHINKDB_HOST`, `RETHINKDB_PORT`, `RETHINKDB_USER`,
`RETHINKDB_PASSWORD` and `RETHINKDB_DB`, else localhost:28015 as `admin` with the embedded server's generated
password (read from its data directory at each connection, so the first one sees the password a server it just
started made). The user's own connection (`UserConnection`) opens itself again when a query finds it closed, so it
outlives a server restart.
"""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rethinkdb import RethinkDB, net
from rethinkdb.errors import ReqlTimeoutError

from rethink_widgets.jupyter import embedded
from rethink_widgets.jupyter.queries import QueryInfo

DEFAULT_PORT = 28015
# Only these say where a database is; a user, password or db alone still means the local (embedded) one.
_WHERE = ("RETHINKDB_HOST", "RETHINKDB_PORT")


@dataclass(frozen=True)
class Settings:
    host: str = "localhost"
    port: int = DEFAULT_PORT
    user: str = "admin"
    password: str | None = field(default="", repr=False)  # None: the embedded server's (`embedded.password()`)
    db: str | None = None
    configured: bool = False  # the user said where the database is (so never start one)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        port = environ.get("RETHINKDB_PORT", str(DEFAULT_PORT))
        if not port.isdigit():
            raise ValueError(f"RETHINKDB_PORT must be a port number, not {port!r}")
        configured = any(name in environ for name in _WHERE)
        user = environ.get("RETHINKDB_USER", "admin")
        # The embedded server's password is admin's, on the local database: used when no other one is given.
        embedded_admin = not configured and user == "admin"
        return cls(
            host=environ.get("RETHINKDB_HOST", "localhost"),
            port=int(port),
            user=user,
            password=environ.get("RETHINKDB_PASSWORD", None if embedded_admin else ""),
            db=environ.get("RETHINKDB_DB") or None,
            configured=configured,
        )

    @classmethod
    def parse(cls, address: str, base: Settings | None = None) -> Settings:
        """`HOST:PORT`, `HOST` or `:PORT`, keeping the user, password and db of `base` (but not the embedded
        server's password: that one is for the embedded server alone)."""
        base = base or cls()
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        if port and not port.isdigit():
            raise ValueError(f"expected HOST:PORT, got {address!r}")
        password = base.password or ""
        return cls(host or base.host, int(port) if port else base.port, base.user, password, base.db, True)

    @classmethod
    def of_connection(cls, conn: Any) -> Settings:
        """The settings a user's own connection was opened with, to open more like it."""
        handshake = conn.handshake
        user = handshake._username.replace(b"=2C", b",").replace(b"=3D", b"=").decode("utf-8")
        password = handshake._password.decode("latin-1")
        return cls(conn.host, conn.port, user, password, conn.db, True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def connect_options(self) -> dict[str, Any]:
        password = embedded.password() if self.password is None else self.password
        options: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user, "password": password}
        if self.db:
            options["db"] = self.db
        return options


class Connector:
    """Connections for feeds and writes, on the running event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.r = RethinkDB()
        self.r.set_loop_type("asyncio")
        self._writer: Any = None

    @property
    def default_db(self) -> str:
        return self.settings.db or "test"

    def table(self, info: QueryInfo) -> Any:
        """The table a query reads, as a term of this database's own driver instance."""
        return (self.r.db(info.db) if info.db else self.r).table(info.table)

    async def connect(self) -> Any:
        """A new asyncio connection (each feed has its own, so one slow feed never holds up another)."""
        return await self.r.connect(timeout=5, **self.settings.connect_options())

    async def writer(self) -> Any:
        """The connection writes go through, opened again if it was lost."""
        if self._writer is None or not self._writer.is_open():
            self._writer = await self.connect()
        return self._writer

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and writer.is_open():
            await writer.close(noreply_wait=False)

    def connect_sync(self) -> UserConnection:
        """A synchronous connection for the user's own queries in cells."""
        RethinkDB()  # the driver's instance gives connections their query builder (`Connection._r`)
        conn: UserConnection = net.make_connection(UserConnection, timeout=5, **self.settings.connect_options())
        return conn


class UserConnection(net.DefaultConnection):  # type: ignore[misc]  # the driver ships no types
    """The synchronous driver's connection, opened again when a query or `server()` finds it closed or its server
    gone (restarted), unless the user closed it. A query that was under way when the server went still fails."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._closed_by_user = False

    def reconnect(self, noreply_wait: bool = True, timeout: float | None = None) -> Any:
        try:
            return super().reconnect(noreply_wait, timeout)
        finally:  # even when the server is still away: the next query tries again
            self._closed_by_user = False

    def close(self, noreply_wait: bool = True) -> Any:
        closed = super().close(noreply_wait)
        self._closed_by_user = True  # `reconnect()` closes too, and clears this again
        return closed

    def server(self) -> Any:
        self._reopen()
        return super().server()

    def _start(self, term: Any, **global_optargs: Any) -> Any:  # what `query.run(conn)` calls
        self._reopen()
        return super()._start(term, **global_optargs)

    def _reopen(self) -> None:
        if not self._closed_by_user and not self._answering():
            self.reconnect(noreply_wait=False)

    def _answering(self) -> bool:
        """Open, and the server has not hung up: between queries a readable socket with nothing to read is the
        end of the stream (a socket with data on it is a cursor's next batch)."""
        if not self.is_open():
            return False
        sock: socket.socket = self._instance._socket._socket
        try:
            if not select.select([sock], [], [], 0)[0]:
                return True
            return sock.recv(1, socket.MSG_PEEK) != b""
        except ValueError:  # TLS sockets cannot peek: trust them to be open
            return True
        except OSError:
            return False


def reconnecting(settings: Settings, error: BaseException, every: float) -> str:
    """What a feed that lost its database says: to what, why, and what to do (or what happens meanwhile)."""
    why, advice = _why(error), embedded.advice(settings)
    return f"reconnecting: {settings.address} {why}; trying again at least every {every:g} s; {advice}"


def _why(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error)
    if "refused" in text or "Connect call failed" in text:
        return "refuses connections (no server is running there)"
    if isinstance(error, ReqlTimeoutError) or "timed out" in text:
        return "does not answer"
    if "closed" in text.lower():
        return "closed the connection (the server stopped or restarted)"
    return f"failed: {text}"


_current: Connector | None = None


def current() -> Connector:
    """The database this kernel's widgets use: the one `%load_ext` chose, else the one the environment names."""
    global _current
    if _current is None:
        _current = Connector(Settings.from_environment())
    return _current


def use(database: Connector | None) -> None:
    global _current
    _current = database
