"""The LMDB store remembers committed reads; every write that a flush or a restore commits must
be seen by the next read, present or absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from kstreamy.state import lmdb_store
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.testing import FakeStoreContext


def open_lmdb(tmp_path: Path) -> LmdbKeyValueStore:
    store = LmdbKeyValueStore("s")
    store.init(FakeStoreContext(state_dir=tmp_path), store)
    return store


def test_reads_follow_flushed_writes_and_deletes(tmp_path: Path) -> None:
    store = open_lmdb(tmp_path)
    assert store.get(b"a") is None  # an absent key is remembered as absent...
    store.put(b"a", b"1")
    assert store.get(b"a") == b"1"  # ...but pending writes come first
    store.flush()
    assert store.get(b"a") == b"1" and store.get(b"a") == b"1"
    store.put(b"a", b"2")
    store.flush()
    assert store.get(b"a") == b"2"
    store.delete(b"a")
    store.flush()
    assert store.get(b"a") is None
    store.close()


def test_restore_batches_replace_remembered_reads(tmp_path: Path) -> None:
    store = open_lmdb(tmp_path)
    store.put(b"k", b"old")
    store.flush()
    assert store.get(b"k") == b"old" and store.get(b"x") is None
    store.restore_batch([(b"k", b"new"), (b"x", b"there")])
    assert store.get(b"k") == b"new" and store.get(b"x") == b"there"
    store.restore_batch([(b"k", None)])
    assert store.get(b"k") is None
    store.close()
    reopened = open_lmdb(tmp_path)
    assert reopened.get(b"x") == b"there" and reopened.get(b"k") is None
    reopened.close()


def test_large_batches_and_a_full_read_cache_start_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lmdb_store, "READ_CACHE_BYTES", 1000)
    store = open_lmdb(tmp_path)
    for i in range(50):
        store.put(b"%03d" % i, b"v%d" % i)
    store.flush()
    assert [store.get(b"%03d" % i) for i in range(50)] == [b"v%d" % i for i in range(50)]
    assert store._reads_size <= 1000
    for i in range(50):
        store.put(b"%03d" % i, b"w%d" % i)
    store.flush()
    assert [store.get(b"%03d" % i) for i in range(50)] == [b"w%d" % i for i in range(50)]
    store.close()
