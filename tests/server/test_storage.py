"""Storage on a real SQLite file: documents, ranges, indexes, transactions, listeners, reopening."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rethink_widgets.server import keys, storage
from rethink_widgets.server.storage import CommittedChange, Storage, TableInfo, checkpoints, core, index_builds


def by_field(function: Any, multi: bool, geo: bool = False) -> Any:
    """A stand-in for evaluation's index compiler: the index function here is just a field name (and a geospatial
    index's keys are made as a plain index's are)."""

    def values(doc: dict[str, Any]) -> list[tuple[bytes, Any]]:
        value = doc.get(function)
        if value is None:
            return []
        found = list(value) if multi and isinstance(value, list) else [value]
        return [(keys.encode(item), item) for item in found]

    return values


@pytest.fixture
def slow_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds of ten rows a chunk, resting 20 ms between chunks: a table of 100 rows takes 200 ms to index."""
    monkeypatch.setattr(index_builds, "_BUILD_CHUNK", 10)
    monkeypatch.setattr(index_builds, "_BUILD_PAUSE", 0.02)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Storage]:
    storage = Storage(tmp_path, by_field, {"salt": "x"})
    yield storage
    storage.close()


def fill(store: Storage, count: int = 30) -> TableInfo:
    table = store.table_create("test", "t")
    with store.transaction("soft") as txn:
        for i in range(count):
            txn.put(table, {"id": i, "g": i % 3, "tags": [f"t{i % 2}", "all"]})
    return table


def known(store: Storage, db: str, name: str) -> TableInfo:
    """The table `db.name`, which the test made."""
    table = store.table(db, name)
    assert table is not None
    return table


def ids(docs: Any) -> list[Any]:
    return [d["id"] for d in docs]


def test_new_store_has_test_db_and_admin(store: Storage) -> None:
    assert store.db_list() == ["test"]
    assert store.users() == {"admin": {"salt": "x"}}
    assert store.server_id and store.server_name


def test_put_get_delete(store: Storage) -> None:
    table = fill(store, 5)
    assert store.get(table, 3) == {"id": 3, "g": 0, "tags": ["t1", "all"]}
    assert store.get(table, 99) is None
    with store.transaction() as txn:
        deleted = txn.delete(table, 3)
        assert deleted is not None and deleted["id"] == 3
        assert txn.delete(table, 3) is None
    assert store.count(table) == 4


@pytest.mark.parametrize(
    ("lower", "upper", "lower_open", "upper_open", "reverse", "expected"),
    [
        (keys.MINVAL, keys.MAXVAL, False, True, False, list(range(30))),
        (5, 8, False, True, False, [5, 6, 7]),
        (5, 8, True, False, False, [6, 7, 8]),
        (5, 8, False, False, True, [8, 7, 6, 5]),
        (27, keys.MAXVAL, False, True, False, [27, 28, 29]),
        (8, 5, False, True, False, []),
    ],
)
def test_scan_bounds(
    store: Storage, lower: Any, upper: Any, lower_open: bool, upper_open: bool, reverse: bool, expected: list[int]
) -> None:
    table = fill(store)
    assert ids(store.scan(table, keys.Span(lower, upper, lower_open, upper_open, reverse))) == expected


def test_scan_is_lazy(store: Storage) -> None:
    table = fill(store, 3000)
    rows = store.scan(table)
    assert next(rows)["id"] == 0  # the first page is small; nothing else is read yet
    rows.close()


def test_indexes_follow_updates_and_deletes(store: Storage) -> None:
    table = fill(store)
    store.index_create(table, "g", "g")
    store.index_create(table, "tags", "tags", multi=True)
    assert ids(store.index_get_all(table, "g", 1)) == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]
    assert len(list(store.index_get_all(table, "tags", "all"))) == 30
    with store.transaction() as txn:
        txn.put(table, {"id": 1, "g": 2, "tags": []})
        txn.delete(table, 4)
    assert ids(store.index_get_all(table, "g", 1))[:2] == [7, 10]
    assert 1 in ids(store.index_get_all(table, "g", 2))
    assert 1 not in ids(store.index_get_all(table, "tags", "all"))
    pairs = list(store.index_scan(table, "g", keys.Span(0, 1, reverse=True)))
    assert {value for value, _doc in pairs} == {0}


def test_rollback_on_exception(store: Storage) -> None:
    table = fill(store, 3)
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put(table, {"id": 100})
        raise RuntimeError("boom")
    assert store.get(table, 100) is None


def test_commit_listeners_see_changes_in_commit_order(store: Storage) -> None:
    seen: list[CommittedChange] = []
    store.add_commit_listener(seen.extend)
    table = store.table_create("test", "t")
    with store.transaction() as txn:
        txn.put(table, {"id": 1})
        txn.put(table, {"id": 1, "v": 2})
    with store.transaction() as txn:
        txn.delete(table, 1)
    assert [(c.key, c.old, c.new) for c in seen] == [
        (1, None, {"id": 1}),
        (1, {"id": 1}, {"id": 1, "v": 2}),
        (1, {"id": 1, "v": 2}, None),
    ]


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    store = Storage(tmp_path, by_field, {"salt": "x"})
    store.db_create("app")
    table = store.table_create("app", "t", primary_key="name")
    with store.transaction() as txn:
        txn.put(table, {"name": "a", "g": 1})
    store.index_create(table, "g", "g")
    store.close()
    store = Storage(tmp_path, by_field, {"salt": "other"})
    table = known(store, "app", "t")
    assert table.primary_key == "name"
    assert list(table.indexes) == ["g"]
    assert list(store.index_get_all(table, "g", 1)) == [{"name": "a", "g": 1}]
    assert store.users() == {"admin": {"salt": "x"}}
    store.close()


def test_concurrent_writers_are_atomic(store: Storage) -> None:
    table = store.table_create("test", "t")
    with store.transaction() as txn:
        txn.put(table, {"id": "n", "v": 0})

    def bump() -> None:
        for _ in range(200):
            with store.transaction("soft") as txn:
                doc = txn.get(table, "n")
                assert doc is not None
                txn.put(table, {"id": "n", "v": doc["v"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get(table, "n") == {"id": "n", "v": 800}


def test_a_transaction_reads_its_own_writes_and_knows_what_it_replaced(store: Storage) -> None:
    table = fill(store, 3)
    store.index_create(table, "g", "g")
    seen: list[CommittedChange] = []
    store.add_commit_listener(seen.extend)
    with store.transaction() as txn:
        doc = txn.get(table, 1)
        assert doc == {"id": 1, "g": 1, "tags": ["t1", "all"]}
        doc["g"] = 9  # the caller changes the document it read, then stores it
        assert txn.put(table, doc) == {"id": 1, "g": 1, "tags": ["t1", "all"]}
        assert txn.get(table, 1) == {"id": 1, "g": 9, "tags": ["t1", "all"]}
        txn.delete(table, 2)
        assert txn.get(table, 2) is None
        assert txn.put(table, {"id": 2}) is None
    assert [(c.key, c.old, c.new) for c in seen] == [
        (1, {"id": 1, "g": 1, "tags": ["t1", "all"]}, {"id": 1, "g": 9, "tags": ["t1", "all"]}),
        (2, {"id": 2, "g": 2, "tags": ["t0", "all"]}, None),
        (2, None, {"id": 2}),
    ]
    assert ids(store.index_get_all(table, "g", 1)) == []
    assert ids(store.index_get_all(table, "g", 9)) == [1]


def test_reading_ahead_finds_what_getting_one_by_one_finds(store: Storage) -> None:
    table = fill(store, 250)
    with store.transaction() as txn:
        txn.put(table, {"id": 4, "new": True})
        # More keys than one statement reads; found and missing ones, repeated ones, and one written already.
        txn.read_ahead(table, [*range(0, 500, 2), 7, 7, "x"])
        got = [txn.get(table, key) for key in (0, 4, 7, 248, 250, 498, "x")]
        assert txn.put(table, {"id": 6}) == {"id": 6, "g": 0, "tags": ["t0", "all"]}
        assert txn.put(table, {"id": 300}) is None
    assert got == [store.get(table, 0), {"id": 4, "new": True}, store.get(table, 7), store.get(table, 248)] + [None] * 3
    assert got[0] is not None and got[2] is not None and got[3] is not None
    assert store.count(table) == 251


def test_adding_stores_a_document_only_where_its_key_is_free(store: Storage) -> None:
    table = fill(store, 3)
    store.index_create(table, "g", "g")
    seen: list[CommittedChange] = []
    store.add_commit_listener(seen.extend)
    with store.transaction() as txn:
        assert txn.add(table, {"id": 10, "g": 5})
        assert not txn.add(table, {"id": 1, "g": 5})  # stored before
        assert not txn.add(table, {"id": 10, "g": 6})  # stored by this transaction
        txn.delete(table, 2)
        assert txn.add(table, {"id": 2, "g": 7})  # deleted by this transaction
        assert txn.get(table, 3) is None
        assert txn.add(table, {"id": 3})  # read as missing by this transaction
        assert not txn.add(table, {"id": 4, "bound": keys.MAXVAL})  # no JSON: nothing stored
    assert [(c.key, c.old, c.new) for c in seen] == [
        (10, None, {"id": 10, "g": 5}),
        (2, {"id": 2, "g": 2, "tags": ["t0", "all"]}, None),
        (2, None, {"id": 2, "g": 7}),
        (3, None, {"id": 3}),
    ]
    assert [store.get(table, key) for key in (1, 10, 2, 4)] == [
        {"id": 1, "g": 1, "tags": ["t1", "all"]}, {"id": 10, "g": 5}, {"id": 2, "g": 7}, None,
    ]  # fmt: skip
    assert ids(store.index_get_all(table, "g", 5)) == [10]
    assert ids(store.index_get_all(table, "g", 7)) == [2]


@pytest.mark.parametrize("fresh_keys", [False, True])
def test_a_soft_insert_acknowledged_before_its_commit_is_read_only_once_committed(
    store: Storage, fresh_keys: bool
) -> None:
    table = fill(store, 0)
    reads: list[Any] = []
    heard: list[Any] = []
    threads: list[threading.Thread] = []

    def acknowledge() -> None:
        # Not committed yet: a reader on another thread waits for the commit, and then finds the documents.
        reader = threading.Thread(target=lambda: reads.append(store.get(table, 1)))
        reader.start()
        reader.join(0.2)
        reads.append(reader.is_alive())
        threads.append(reader)

    # The thread that commits may read in its commit listeners (a limit feed refilling): it never waits for itself.
    store.add_commit_listener(lambda changes: heard.append(store.get(table, 2)))
    assert store.insert_new(table, [{"id": 1}, {"id": 2}], "soft", acknowledge, fresh_keys)
    threads[0].join(5)
    assert reads == [True, {"id": 1}]
    assert heard == [{"id": 2}]


@pytest.mark.parametrize(
    "docs",
    [[{"id": 5}, {"id": 0}], [{"id": 5}, {"id": 6, "nan": float("nan")}]],
    ids=["a key taken", "no JSON"],
)
def test_a_write_acknowledged_before_it_is_stored_that_cannot_be_stored_says_so(
    store: Storage, caplog: pytest.LogCaptureFixture, docs: list[dict[str, Any]]
) -> None:
    """Documents whose keys were all just generated are acknowledged before their rows are made and stored: should
    one of those keys be taken after all, or a document be no JSON (never so in a query), nothing is stored and the
    failure is no silent one."""
    table = fill(store, 1)
    told: list[bool] = []
    with pytest.raises(RuntimeError, match="acknowledged write could not be stored"):
        store.insert_new(table, docs, "soft", lambda: told.append(True), fresh_keys=True)
    assert told == [True]
    assert "it is lost" in caplog.text
    assert store.get(table, 5) is None
    assert store.insert_new(table, [{"id": 5}], "soft")  # (the writer is free again)


@pytest.mark.parametrize("fresh_keys", [False, True])
def test_an_acknowledgement_that_fails_leaves_the_write_made_and_announced(
    store: Storage, caplog: pytest.LogCaptureFixture, fresh_keys: bool
) -> None:
    table = fill(store, 0)
    heard: list[Any] = []
    store.add_commit_listener(lambda changes: heard.extend(change.new for change in changes))

    def acknowledge() -> None:
        raise RuntimeError("the connection is gone")

    assert store.insert_new(table, [{"id": 1}], "soft", acknowledge, fresh_keys)
    assert "the connection is gone" in caplog.text
    assert store.get(table, 1) == {"id": 1}
    assert heard == [{"id": 1}]
    assert store.insert_new(table, [{"id": 2}], "soft")  # (the writer is free again)


def test_only_a_soft_insert_is_acknowledged_before_its_commit(store: Storage) -> None:
    table = fill(store, 1)
    told: list[str] = []
    assert store.insert_new(table, [{"id": 0}], "soft", lambda: told.append("refused")) is False  # (a key taken)
    assert store.insert_new(table, [{"id": 2}], "hard", lambda: told.append("hard")) is True
    assert told == []


def test_documents_read_back_as_they_were_stored(store: Storage) -> None:
    table = store.table_create("test", "t")
    docs = [
        {"id": 1, "floats": [1.5e-7, 1e-05, 0.1, -0.0, 1e300, 2.0**60, 5e-324], "ints": [2**53, -(2**63), 2**64 - 1]},
        {"id": 2, "text": 'é \u2028 \x00 \\ "quoted" 😀', "null": None, "nested": {"a": [{"b": None}, [], {}]}},
        {"id": 3, "big": 2**70, "low": -(2**63) - 1, "list": [True, False, None]},
    ]
    with store.transaction() as txn:
        for doc in docs:
            txn.put(table, doc)
        with pytest.raises(TypeError):
            txn.put(table, {"id": 4, "bound": keys.MINVAL})
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            txn.put(table, {"id": 5, "nan": float("nan")})
    stored = [store.get(table, doc["id"]) or {} for doc in docs]
    assert stored == docs
    assert [type(value) for value in stored[0]["ints"]] == [int, int, int]
    assert (type(stored[2]["big"]), type(stored[2]["low"])) == (int, int)
    assert repr(stored[0]["floats"][3]) == "-0.0"


class FsyncSpy:
    """os.fsync, counted, and slow enough that concurrent writers commit while it runs."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        self.started += 1
        time.sleep(0.005)
        self._real(fd)
        self.finished += 1


def test_concurrent_hard_writers_share_fsyncs_and_return_once_on_disk(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = store.table_create("test", "t")
    fsync = FsyncSpy()
    monkeypatch.setattr(os, "fsync", fsync)
    started_at_commit = threading.local()
    store.add_commit_listener(lambda _changes: setattr(started_at_commit, "value", fsync.started))
    late: list[int] = []

    def write(writer: int) -> None:
        for i in range(10):
            with store.transaction("hard") as txn:
                txn.put(table, {"id": f"{writer}-{i}"})
            # Acknowledged only after an fsync that began after the commit has finished (fsyncs run one at a time).
            if fsync.finished < started_at_commit.value + 1:
                late.append(i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert late == []
    assert store.count(table) == 80
    assert 0 < fsync.finished < 80


def test_hard_writes_that_do_not_wait_are_called_back_once_on_disk(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = store.table_create("test", "t")
    fsync = FsyncSpy()
    gate = threading.Event()  # the first fsync waits for it: the commits after its start share the next one

    def gated_fsync(fd: int) -> None:
        assert gate.wait(30)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", gated_fsync)
    late: list[int] = []
    done = threading.Semaphore(0)

    def synced(i: int) -> Any:
        def called(error: BaseException | None) -> None:
            if error is not None or fsync.finished < 1:
                late.append(i)
            done.release()

        return called

    for i in range(20):
        with store.syncing_later() as commits, store.transaction("hard") as txn:
            txn.put(table, {"id": i})
        assert len(commits) == 1  # the transaction returned at its commit, before any fsync finished
        store.when_synced(commits[0], synced(i))
    assert fsync.finished == 0
    gate.set()
    for _ in range(20):
        assert done.acquire(timeout=30)
    assert late == []
    assert fsync.finished <= 2  # one that began with the first commit, one for all the others
    with store.syncing_later() as commits, store.transaction("soft") as txn:
        txn.put(table, {"id": "soft"})
    assert commits == []  # nothing to wait for
    before = fsync.finished
    with store.transaction("hard") as txn:  # a writer outside waits for the disk, as before
        txn.put(table, {"id": "blocking"})
    assert fsync.finished == before + 1


def test_a_hard_write_called_back_hears_of_a_failed_fsync(store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    table = store.table_create("test", "t")

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    heard: list[BaseException | None] = []
    done = threading.Event()

    def called(error: BaseException | None) -> None:
        heard.append(error)
        done.set()

    with store.syncing_later() as commits, store.transaction("hard") as txn:
        txn.put(table, {"id": 1})
    store.when_synced(commits[0], called)
    assert done.wait(30)
    assert isinstance(heard[0], OSError)
    monkeypatch.undo()
    with store.transaction("hard") as txn:  # the next sync is made anew, and puts it all on disk
        txn.put(table, {"id": 2})
    assert store.count(table) == 2


def test_soft_writes_are_not_fsynced(store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    table = store.table_create("test", "t")
    fsync = FsyncSpy()
    monkeypatch.setattr(os, "fsync", fsync)
    for i in range(5):
        with store.transaction("soft") as txn:
            txn.put(table, {"id": i})
    assert fsync.started == 0
    with store.transaction("hard") as txn:
        txn.put(table, {"id": 5})
    assert fsync.finished == 1


def test_the_log_is_copied_into_the_database_file_while_writes_go_on(store: Storage, tmp_path: Path) -> None:
    database = tmp_path / "data.sqlite"
    assert database.stat().st_size < 100_000
    table = store.table_create("test", "t")
    rows = checkpoints.CHECKPOINT_ROWS + 100
    for i in range(rows):
        with store.transaction("soft") as txn:
            txn.put(table, {"id": i, "text": "x" * 200})
    deadline = time.monotonic() + 30
    while database.stat().st_size < rows * 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert database.stat().st_size >= rows * 200  # not only in the log: the checkpointer copied it


def test_drop_table_and_db(store: Storage) -> None:
    table = fill(store, 3)
    store.db_create("other")
    store.table_create("other", "x")
    config, dropped = store.db_drop("other")
    assert config["name"] == "other"
    assert [t.name for t in dropped] == ["x"]
    store.table_drop(table)
    assert store.table_list("test") == []


def indexed_right(store: Storage, table: Any, index: str, values: range) -> bool:
    """Whether the index holds exactly the rows a scan finds for each value."""
    return all(
        ids(store.index_get_all(table, index, value)) == [d["id"] for d in store.scan(table) if d.get(index) == value]
        for value in values
    )


def test_a_small_table_is_indexed_at_once(store: Storage) -> None:
    table = fill(store)
    store.index_create(table, "g", "g")
    assert table.indexes["g"].ready
    assert indexed_right(store, table, "g", range(3))


@pytest.mark.usefixtures("slow_builds")
def test_a_big_table_is_indexed_in_the_background(store: Storage) -> None:
    table = fill(store, 100)
    store.index_create(table, "g", "g")
    index = table.indexes["g"]
    assert not index.ready
    with store.transaction() as txn:  # rows before and after where the builder is
        txn.put(table, {"id": 0, "g": 7})
        txn.put(table, {"id": 99, "g": 7})
        txn.put(table, {"id": 100, "g": 8})
        txn.delete(table, 98)
    store.index_await(table, ["g"])
    assert index.ready
    assert index.built is None
    assert indexed_right(store, table, "g", range(9))
    assert ids(store.index_get_all(table, "g", 7)) == [0, 99]


@pytest.mark.usefixtures("slow_builds")
def test_progress_grows_while_building(store: Storage) -> None:
    table = fill(store, 100)
    store.index_create(table, "g", "g")
    index = table.indexes["g"]
    seen = []
    while not index.ready:
        seen.append(index.progress)
        time.sleep(0.01)
    assert seen == sorted(seen)
    assert 0 <= seen[0] < seen[-1] < 1


@pytest.mark.usefixtures("slow_builds")
def test_dropping_stops_a_build(store: Storage) -> None:
    table = fill(store, 100)
    store.index_create(table, "g", "g")
    store.index_create(table, "id", "id")  # waits for the build of `g`
    store.index_drop(table, "id")
    store.index_await(table, ["id"])  # returns: the index is gone
    assert not table.indexes["g"].ready
    store.index_drop(table, "g")
    store.index_await(table, ["g"])
    store.index_create(table, "tags", "tags", multi=True)
    store.table_drop(table)
    store.index_await(table, ["tags"])  # returns: the table is gone
    store.table_create("test", "t")


@pytest.mark.usefixtures("slow_builds")
def test_reopening_resumes_a_build(tmp_path: Path) -> None:
    store = Storage(tmp_path, by_field, {"salt": "x"})
    table = fill(store, 100)
    store.index_create(table, "g", "g")
    time.sleep(0.05)
    store.close()
    store = Storage(tmp_path, by_field, {"salt": "x"})
    table = known(store, "test", "t")
    index = table.indexes["g"]
    assert not index.ready
    assert index.built is not None  # where the first store's builder got to
    store.index_await(table, ["g"])
    assert index.ready
    assert indexed_right(store, table, "g", range(3))
    store.close()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_directory_and_its_files_are_private(tmp_path: Path) -> None:
    """Created 0700, the database and the WAL and SHM files SQLite makes beside it 0600, whatever the umask."""
    directory = tmp_path / "new" / "data"
    store = Storage(directory, by_field, {"salt": "x"})
    try:
        fill(store)
        assert mode(directory) == 0o700
        assert {path.name: mode(path) for path in directory.iterdir()} == {
            "data.sqlite": 0o600,
            "data.sqlite-wal": 0o600,
            "data.sqlite-shm": 0o600,
        }
    finally:
        store.close()


def test_a_directory_of_the_users_own_is_left_as_made_but_files_are_private(tmp_path: Path) -> None:
    """The user's directory keeps its mode; files an older version left readable by all become the user's alone."""
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o750)
    Storage(directory, by_field, {"salt": "x"}).close()
    (directory / "data.sqlite").chmod(0o644)
    (directory / "data.sqlite-wal").touch(0o644)
    store = Storage(directory, by_field, {"salt": "x"})
    try:
        table = fill(store)
        assert mode(directory) == 0o750
        assert {mode(path) for path in directory.iterdir()} == {0o600}
        assert len(list(store.scan(table))) == 30
    finally:
        store.close()


def test_a_scan_page_longer_than_sqlite_makes_a_string_is_joined_apart(tmp_path: Path) -> None:
    """SQLite joins a page's stored texts into one string, unless the page is longer than SQLite makes one (a
    billion bytes by default, lowered here): then the rows come one by one, and the page is the same."""
    store = Storage(tmp_path, by_field, {"salt": "x"})
    table = store.table_create("test", "t")
    with store.transaction() as txn:
        for i in range(300):
            txn.add(table, {"id": i, "pad": "x" * 1000})
    expected = [store.get_text(table, i) for i in range(300)]
    store._reader().setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 50_000)  # (the reading thread's connection)
    for span, order in ((keys.EVERYTHING, expected), (keys.Span(reverse=True), expected[::-1])):
        pages = list(store.scan_text_pages(table, span))
        assert [text for page in pages for text in page.text.split(storage.ROW_SEPARATOR)] == order
        assert [page.row_count for page in pages] == [16, 64, 220] and len(pages[-1].text) > 50_000
    store.close()


def test_a_write_under_way_as_a_checkpoint_ends_does_not_keep_the_log_growing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes that follow each other with no pause (a big insert's chunks) each begin before the checkpoint that
    copied all the log has ended, so none of them could start the log over, and it grew as big as all they wrote
    (2 GB for a 10,000,000-row table). Once the log holds MAX_LOG_PAGES, that checkpoint ends holding the write lock,
    and the next write starts the log over (its file cut back to LOG_FILE_LIMIT, if it grew bigger)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_ROWS", 10**9)  # no checkpoint but the test's own
    monkeypatch.setattr(checkpoints, "MAX_LOG_PAGES", 10)
    monkeypatch.setattr(core, "LOG_FILE_LIMIT", 64 * 1024)
    store = Storage(tmp_path, by_field, {"salt": "x"})
    try:
        table = store.table_create("test", "t")
        for chunk in range(10):
            with store.transaction("soft") as txn:
                for i in range(30):
                    txn.put(table, {"id": chunk * 30 + i, "text": "x" * 200})
        database, log = tmp_path / "data.sqlite", tmp_path / "data.sqlite-wal"
        with store.transaction("soft") as txn:  # under way as the checkpoint copies the log
            txn.put(table, {"id": "during", "text": "x" * 200})
            checkpointing = threading.Thread(target=store._checkpointer._checkpoint)  # (as its thread runs it)
            checkpointing.start()
            deadline = time.monotonic() + 30
            while database.stat().st_size < 300 * 200 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert database.stat().st_size >= 300 * 200  # copied
        checkpointing.join()
        assert log.stat().st_size > 300 * 200
        for i in range(3):
            with store.transaction("soft") as txn:
                txn.put(table, {"id": f"after {i}", "text": "x" * 200})
        assert log.stat().st_size <= 64 * 1024  # started over, and cut back to LOG_FILE_LIMIT
        assert store.get(table, "after 2") == {"id": "after 2", "text": "x" * 200}
    finally:
        store.close()


def test_index_key_ranges_and_the_documents_of_entries(store: Storage) -> None:
    table = fill(store, 100)
    store.index_create(table, "g", "g", geo=True)  # (by_field keys a geospatial index as any other)
    one, two = keys.encode(1), keys.encode(2)
    # Ranges of raw keys, each read in key order, a page at a time (34 entries: past the first page of 16).
    found = list(store.index_key_ranges(table, "g", [(one, two), (two, two + b"\xff")]))
    assert [value for _ikey, _pkey, value in found] == [1] * 33 + [2] * 33
    assert [pkey for _ikey, pkey, _value in found[:33]] == sorted(keys.encode(i) for i in range(1, 100, 3))
    assert list(store.index_key_ranges(table, "g", [(two, two)])) == []
    # Documents of entries, in their order; None for an entry gone since.
    entries = [(one, keys.encode(4)), (two, keys.encode(2)), (one, keys.encode(4)), (one, keys.encode(5))]
    with store.transaction() as txn:
        txn.put(table, {"id": 2, "g": 0})
    assert store.index_documents(table, "g", entries) == [
        {"id": 4, "g": 1, "tags": ["t0", "all"]},
        None,
        {"id": 4, "g": 1, "tags": ["t0", "all"]},
        None,
    ]
    assert store.index_documents(table, "g", [(one, keys.encode(i)) for i in range(1, 100, 3)]) == [
        {"id": i, "g": 1, "tags": [f"t{i % 2}", "all"]} for i in range(1, 100, 3)
    ]


def test_geospatial_indexes_of_an_older_key_format_are_built_again(tmp_path: Path) -> None:
    store = Storage(tmp_path, by_field, {"salt": "x"})
    table = fill(store, 30)
    store.index_create(table, "g", "g", geo=True)
    store.index_create(table, "plain", "g")
    index_sql = table.indexes["g"].sql
    store.close()
    with sqlite3.connect(tmp_path / storage.DATA_FILE) as db:
        db.execute("UPDATE indexes SET key_format = 0")
        db.execute(f"DELETE FROM {index_sql}")  # (keys made another way, which reads would miss)
        db.execute(f"INSERT INTO {index_sql} VALUES (x'00', x'00', '1')")
    store = Storage(tmp_path, by_field, {"salt": "x"})
    table = known(store, "test", "t")
    store.index_await(table, ["g"])
    assert table.indexes["g"].ready
    assert [value for _ikey, _pkey, value in store.index_key_ranges(table, "g", [(b"", b"\xff")])] == sorted(
        i % 3 for i in range(30)
    )
    assert [doc["id"] for doc in store.index_get_all(table, "plain", 1)] == list(range(1, 30, 3))
    store.close()
