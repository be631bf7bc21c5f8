"""The embedded server a notebook starts when nothing is configured: one per user whatever directory a kernel runs in,
its data the user's alone, with a generated admin password every kernel of the user reads from the data directory."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError
from servers import free_port, start_server

from rethink_widgets.jupyter import embedded
from rethink_widgets.jupyter.connection import Connector, Settings
from rethink_widgets.jupyter.embedded import answers, ensure_server

# Servers and kernels started here run this checkout's code, whichever copy of the package is installed.
CHECKOUT = str(Path(__file__).resolve().parents[2])


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def stop_embedded() -> None:
    """Stop the embedded server of the current data home, if one runs, and wait until it let go of its directory."""
    lock = embedded.data_directory() / embedded.LOCK_FILE
    if not embedded.running():
        return
    os.kill(int(lock.read_text()), signal.SIGTERM)
    deadline = time.monotonic() + 30
    while embedded.running():
        assert time.monotonic() < deadline, "the embedded server did not stop"
        time.sleep(0.1)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data home of the test's own ($XDG_DATA_HOME) and a working directory; the embedded server stops after."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", CHECKOUT)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    try:
        yield tmp_path / "home"
    finally:
        stop_embedded()


def embedded_settings(port: int) -> Settings:
    """What `Settings.from_environment()` gives when nothing is configured, on a port of the test's own."""
    return Settings(host="127.0.0.1", port=port, password=None)


def test_configured_means_no_start(home: Path) -> None:
    assert ensure_server(Settings(port=free_port(), configured=True)) is None
    assert not home.exists()


def test_an_older_working_directory_data_is_named(home: Path) -> None:
    """Older versions kept the data in the kernel's working directory: say that it is no longer used."""
    Path("rethinkdb_data").mkdir()
    said = ensure_server(embedded_settings(free_port()))
    assert said is not None
    assert said.endswith(
        "\n" + "rethink_widgets: ./rethinkdb_data (older versions' data) is not used; see the README to move it"
    )


def test_starts_one_private_server_with_a_generated_password(home: Path) -> None:
    settings = embedded_settings(free_port())
    directory = home / "rethink_widgets" / "rethinkdb_data"
    said = ensure_server(settings)
    started = f"rethink_widgets: started the embedded ReQL server on {settings.address}"
    assert said == f"{started} (data and log in {directory})"
    with pytest.raises(ReqlAuthError):
        RethinkDB().connect("127.0.0.1", settings.port)  # every local user could, with the empty password
    conn = Connector(settings).connect_sync()
    r = RethinkDB()
    r.table_create("kept").run(conn)
    r.table("kept").insert([{"id": i} for i in range(100)]).run(conn)
    assert ensure_server(settings) is None  # a second kernel uses the running one
    assert (mode(directory.parent), mode(directory)) == (0o700, 0o700)
    files = {path.name: mode(path) for path in directory.iterdir()}
    names = ["LOCK", "admin_password", "data.sqlite", "data.sqlite-shm", "data.sqlite-wal", "server.log"]
    assert files == dict.fromkeys(names, 0o600)
    password = (directory / "admin_password").read_text()
    assert len(password) >= 32
    assert password not in (directory / "server.log").read_text()
    conn.close()


def test_an_older_data_directory_gets_a_password_at_its_first_start(home: Path) -> None:
    """A directory an older version made (readable by all, admin with the empty password) keeps its data and its
    mode, and gets a generated password and private files when this version starts the server on it."""
    directory = embedded.data_directory()
    older = start_server(directory)
    r = RethinkDB()
    r.table_create("kept").run(r.connect(port=older.port))
    older.stop()
    directory.chmod(0o755)
    (directory / "data.sqlite").chmod(0o644)
    settings = embedded_settings(free_port())
    assert ensure_server(settings) is not None
    with pytest.raises(ReqlAuthError):
        r.connect("127.0.0.1", settings.port)
    conn = Connector(settings).connect_sync()
    assert r.table_list().run(conn) == ["kept"]
    assert mode(directory) == 0o755
    assert {mode(path) for path in directory.iterdir()} == {0o600}
    conn.close()


def test_kernels_starting_at_once_share_one_server(home: Path) -> None:
    settings = embedded_settings(free_port())
    outcomes: list[object] = []

    def start() -> None:
        try:
            outcomes.append(ensure_server(settings))
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert sorted(map(bool, outcomes)) == [False, True]  # only the one whose server holds the directory says so
    assert embedded.running()
    first, second = (Connector(settings).connect_sync() for _ in range(2))
    RethinkDB().table_create("once").run(first)
    assert RethinkDB().table_list().run(second) == ["once"]
    first.close()
    second.close()


def start_kernel(cwd: Path, env: dict[str, str], port: int) -> Kernel:
    """A kernel with `%load_ext rethink_widgets` run; the default port is moved to a free one first, so that a test
    never meets a real server on 28015."""
    cwd.mkdir()
    kernel = Kernel(cwd, {"PYTHONPATH": CHECKOUT, **env})
    kernel.run(f"import rethink_widgets.jupyter.connection; rethink_widgets.jupyter.connection.DEFAULT_PORT = {port}")
    return kernel


def test_every_kernel_of_the_user_connects_to_the_embedded_server(home: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {"XDG_DATA_HOME": str(home)}
    first = start_kernel(tmp_path / "one", env, port)
    try:
        loaded = first.run("%load_ext rethink_widgets")
        assert not loaded.error, loaded.error
        assert f"started the embedded ReQL server on localhost:{port}" in loaded.stdout
        with pytest.raises(ReqlAuthError):
            RethinkDB().connect("localhost", port)
        cell = first.run(
            "import asyncio; r.table_create('shared').run(conn)\n"
            "t = LiveTable(r.table('shared')); await t.ready()\n"  # the widgets' own asyncio connection
            "r.table('shared').insert({'id': 1}).run(conn)\n"
            "for _ in range(100):\n"
            "    if t.rows: break\n"
            "    await asyncio.sleep(0.1)\n"
            "t.rows"
        )
        assert (cell.error, cell.text) == ("", "[{'id': 1}]")
        # Connections of the user's own for coroutines, with the password the kernel found.
        cell = first.run(
            "from rethink_widgets import connect\n"
            "own = await connect(); mine = await r.table('shared').count().run(own); await own.close()\n"
            "old = await connect('tornado'); theirs = await r.table('shared').count().run(old); old.close()\n"
            "mine, theirs"
        )
        assert (cell.error, cell.text) == ("", "(1, 1)")
        assert first.run("await connect('trio')").error.startswith("ValueError: connect(loop_type=...) is 'asyncio'")
        second = start_kernel(tmp_path / "two", env, port)  # another working directory, the same data
        try:
            loaded = second.run("%load_ext rethink_widgets")
            assert (loaded.error, loaded.stdout) == ("", "")
            assert second.run("r.table('shared').count().run(conn)").text == "1"
            status = second.run("%rethink").stdout
            assert f"database: localhost:{port} (default db test), the embedded ReQL server named " in status
            password = (embedded.data_directory() / embedded.PASSWORD_FILE).read_text()
            assert password not in status
        finally:
            second.close()
    finally:
        first.close()


def test_a_password_the_server_refuses_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    port = free_port()
    ensure_server(embedded_settings(port))
    (embedded.data_directory() / embedded.PASSWORD_FILE).write_text("changed-since")
    kernel = start_kernel(tmp_path / "k", {"XDG_DATA_HOME": str(home)}, port)
    try:
        error = kernel.run("%load_ext rethink_widgets").error
        assert error.startswith(f"RuntimeError: localhost:{port} refused the embedded server's admin password (kept ")
        assert "changed-since" not in error
    finally:
        kernel.close()


def test_a_configured_server_with_its_own_password_is_unaffected(home: Path, tmp_path: Path) -> None:
    own = start_server(tmp_path / "own", "--initial-password", "own-s3cret-pw")
    stale = embedded.data_directory() / embedded.PASSWORD_FILE
    stale.parent.mkdir(parents=True)
    stale.write_text("not-this-one")  # never read for a configured server
    env = {"RETHINKDB_HOST": own.host, "RETHINKDB_PORT": str(own.port), "RETHINKDB_PASSWORD": "own-s3cret-pw"}
    kernel = start_kernel(tmp_path / "k", {"XDG_DATA_HOME": str(home), **env}, free_port())
    try:
        loaded = kernel.run("%load_ext rethink_widgets")
        assert (loaded.error, loaded.stdout) == ("", "")
        cell = kernel.run("r.table_create('mine').run(conn); t = LiveTable(r.table('mine')); await t.ready(); t.status")
        assert (cell.error, cell.text) == ("", "'ready'")
        status = kernel.run("%rethink").stdout
        assert f"database: {own.host}:{own.port} (default db test), an external server named " in status
        assert "own-s3cret-pw" not in status
        assert sorted(path.name for path in stale.parent.iterdir()) == ["admin_password"]  # nothing started
    finally:
        kernel.close()
        own.stop()


def test_answers() -> None:
    assert not answers("127.0.0.1", free_port())


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_extension_starts_a_dead_embedded_server_again(home: Path, tmp_path: Path) -> None:
    port = free_port()
    kernel = start_kernel(tmp_path / "k", {"XDG_DATA_HOME": str(home)}, port)
    try:
        assert "started the embedded ReQL server" in kernel.run("%load_ext rethink_widgets").stdout
        cell = kernel.run("r.table_create('kept').run(conn); t = LiveTable(r.table('kept')); await t.ready(); t")
        comm = kernel.widget(cell)
        first = embedded.holder()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        # (A new server holds the data directory a moment before it listens.)
        wait_until(lambda: embedded.holder() not in (None, first) and answers("127.0.0.1", port), "a new server")
        conn = Connector(embedded_settings(port)).connect_sync()  # the same data and password, on the same port
        RethinkDB().table("kept").insert({"id": "after"}).run(conn)
        conn.close()
        kernel.wait_for(lambda: kernel.state(comm)["total"] == 1, timeout=60, what="the row written afterwards")
        cell = kernel.run("t.rows, t.status, r.table('kept').count().run(conn)")  # `conn` opened itself again
        assert (cell.error, cell.text) == ("", "([{'id': 'after'}], 'ready', 1)")
    finally:
        kernel.close()


def test_server_stop_stops_it_until_server_start(home: Path, tmp_path: Path) -> None:
    port = free_port()
    kernel = start_kernel(tmp_path / "k", {"XDG_DATA_HOME": str(home)}, port)
    try:
        kernel.run("%load_ext rethink_widgets")
        pid = embedded.holder()
        assert kernel.run("%rethink server").stdout.startswith(
            f"rethink_widgets: the embedded ReQL server runs (pid {pid}"
        )
        kernel.run("r.table_create('kept').run(conn); t = LiveTable(r.table('kept')); await t.ready()")
        said = kernel.run("%rethink server stop").stdout
        assert said.startswith(f"rethink_widgets: stopped the embedded ReQL server (pid {pid}, data in ")
        assert not embedded.running()
        # The widget says what happened and what to do; no kernel started the server meanwhile.
        cell = kernel.run("await t.wait_until(lambda t: 'refuses' in t.status, timeout=30)\nprint(t.status)")
        assert cell.stdout.strip() == (
            f"reconnecting: localhost:{port} refuses connections (no server is running there); trying again at least"
            " every 5 s; it was stopped with `%rethink server stop`: `%rethink server start` starts it again"
        )
        # The kernel's keeper looks every KEEP_EVERY s and, were it to start the server, would first clear the mark.
        kernel.run(f"import asyncio; await asyncio.sleep({5 * embedded.KEEP_EVERY})")
        assert (embedded.data_directory() / embedded.STOPPED_FILE).exists() and not embedded.running()
        stopped = "the embedded ReQL server is not running (stopped with `%rethink server stop`)"
        assert stopped in kernel.run("%rethink server").stdout
        assert "started the embedded ReQL server" in kernel.run("%rethink server start").stdout
        cell = kernel.run("await t.wait_until(lambda t: t.status == 'ready', timeout=30)\nt.status")
        assert (cell.error, cell.text) == ("", "'ready'")
    finally:
        kernel.close()
