"""LMDB specifics (map growth, corrupt files, other-process readers) and concurrent queries."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kstreamy.state.errors import StateDirectoryError
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.query import ReadOnlyKeyValueStoreView
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext


def open_lmdb(tmp_path: Path, map_size: int | None = None) -> tuple[LmdbKeyValueStore, Any]:
    ctx = FakeStoreContext(state_dir=tmp_path)
    store = LmdbKeyValueStore("s", map_size=map_size)
    store.init(ctx, store)
    return store, ctx


def test_map_full_grows_and_replays_the_batch(tmp_path: Path) -> None:
    store, _ = open_lmdb(tmp_path, map_size=64 * 1024)
    initial = store.map_size
    value = b"x" * 1000
    for i in range(2000):  # ~2 MB in one batch: far more than the map
        store.put(b"%06d" % i, value)
    store.flush()
    assert store.map_grows >= 1 and store.map_size > initial
    assert store.approximate_num_entries() == 2000
    assert all(store.get(b"%06d" % i) == value for i in range(2000))
    store.close()
    store, _ = open_lmdb(tmp_path, map_size=64 * 1024)
    assert sum(1 for _ in store.all()) == 2000
    store.close()


def test_restore_batch_larger_than_the_map(tmp_path: Path) -> None:
    store, ctx = open_lmdb(tmp_path, map_size=64 * 1024)
    ctx.restore("s", [(b"%06d" % i, b"y" * 500) for i in range(1000)] + [(b"000001", None)])
    assert store.approximate_num_entries() == 999
    assert store.get(b"000001") is None
    store.close()


def test_corrupt_lmdb_files_name_the_path(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "data.mdb").write_bytes(b"this is not an lmdb file" * 400)
    with pytest.raises(StateDirectoryError) as info:
        open_lmdb(tmp_path)
    assert str(tmp_path / "s") in str(info.value)
    assert "restores the store from its changelog" in str(info.value)


READER = """
import sys
from pathlib import Path
from kstreamy.state.lmdb_store import LmdbReader
reader = LmdbReader(Path(sys.argv[1]))
print(len(list(reader.items())), flush=True)
sys.stdin.readline()  # the writer grows the map meanwhile
print(len(list(reader.items())), reader.get(b"%06d" % 4999) is not None, flush=True)
"""


def test_reader_in_another_process_copes_with_a_resized_map(tmp_path: Path) -> None:
    store, _ = open_lmdb(tmp_path, map_size=256 * 1024)
    store.put(b"000000", b"v")
    store.flush()
    with subprocess.Popen(
        [sys.executable, "-c", READER, str(tmp_path / "s")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as reader:
        try:
            assert reader.stdout is not None and reader.stdin is not None
            assert reader.stdout.readline().strip() == "1"
            for i in range(5000):
                store.put(b"%06d" % i, b"z" * 200)
            store.flush()
            assert store.map_grows >= 1
            reader.stdin.write("go\n")
            reader.stdin.flush()
            assert reader.stdout.readline().strip() == "5000 True"
            assert reader.wait(timeout=20) == 0
        finally:
            if reader.poll() is None:
                reader.kill()
            store.close()


@pytest.mark.parametrize("persistent", [False, True])
def test_concurrent_queries_while_writing(tmp_path: Path, persistent: bool) -> None:
    ctx = FakeStoreContext(state_dir=tmp_path)
    store: Any = Stores.key_value("s", persistent=persistent, caching=False).build()
    store.init(ctx, store)
    view = ReadOnlyKeyValueStoreView(store)
    keys = [b"%03d" % i for i in range(100)]
    for key in keys:
        store.put(key, b"r0000")
    store.flush()
    errors: list[BaseException] = []
    stop = threading.Event()
    scans = [0]

    def query() -> None:
        try:
            while not stop.is_set():
                snapshot = dict(view.all())
                assert set(keys) <= set(snapshot)
                assert all(v.startswith(b"r") for v in snapshot.values())
                if persistent:  # one committed batch per scan: a single version
                    assert len({snapshot[k] for k in keys}) == 1
                assert view.get(b"050") is not None
                scans[0] += 1
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=query)
    reader.start()
    try:
        for round_ in range(1, 300):
            value = b"r%04d" % round_
            for key in keys:
                store.put(key, value)
            store.put(b"extra%d" % round_, value)  # new keys and deletes change the key set
            store.delete(b"extra%d" % (round_ - 1))
            store.flush()
    finally:
        stop.set()
        reader.join(timeout=20)
    store.close()
    assert not errors, errors[0]
    assert scans[0] > 0


def test_fresh_tells_whether_local_data_existed(tmp_path: Path) -> None:
    ctx = FakeStoreContext(state_dir=tmp_path)
    store: Any = Stores.key_value("s", caching=False).build()
    store.init(ctx, store)
    assert store.fresh
    store.put(b"a", b"1")
    store.flush()
    store.close()
    again: Any = Stores.key_value("s", caching=False).build()
    again.init(FakeStoreContext(state_dir=tmp_path), again)
    assert not again.fresh
    again.close()
    memory: Any = Stores.in_memory_key_value("m").build()
    memory.init(FakeStoreContext(), memory)
    assert memory.fresh


class _EnvSpy:
    """The store's LMDB environment, counting forced syncs."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.syncs = 0

    def sync(self, force: bool = False) -> None:
        self.syncs += 1
        self.env.sync(force)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)


def test_flush_skips_the_meta_sync_and_sync_makes_the_last_flush_durable(tmp_path: Path) -> None:
    """Each flush syncs data pages only (metasync off: LMDB stays consistent, an OS crash may
    undo the last transaction); `sync()` forces it to disk, once per flushed change, and is
    what runs before a checkpoint names the store's data."""
    store, _ = open_lmdb(tmp_path)
    assert store._env.flags()["metasync"] is False
    assert store._env.flags()["sync"] is True
    spy = _EnvSpy(store._env)
    store._env = spy
    store.sync()
    assert spy.syncs == 0, "nothing written: nothing to sync"
    store.put(b"k", b"v")
    store.sync()
    assert spy.syncs == 0, "not flushed yet: nothing committed to sync"
    store.flush()
    store.sync()
    store.sync()
    assert spy.syncs == 1
    store._env = spy.env
    store.close()
    store, _ = open_lmdb(tmp_path)
    assert store.get(b"k") == b"v"
    store.close()
