"""The bytes-level window store over the in-memory and LMDB key-value stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.window import WindowBytesStore, split_window_key, window_key


@pytest.fixture(params=["memory", "lmdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_window(
    backend: str, tmp_path: Path, retention_ms: int = 1000, duplicates: bool = False
) -> tuple[WindowBytesStore, FakeStoreContext]:
    ctx = FakeStoreContext(state_dir=tmp_path)
    inner: Any = InMemoryKeyValueStore("w") if backend == "memory" else LmdbKeyValueStore("w")
    store = WindowBytesStore(inner, retention_ms, duplicates)
    store.init(ctx, store)
    return store, ctx


def test_window_key_layout_is_kafkas() -> None:
    assert window_key(b"k", 5, 2) == b"k" + (5).to_bytes(8, "big") + (2).to_bytes(4, "big")
    assert split_window_key(window_key(b"key", 123, 7)) == (b"key", 123, 7)
    with pytest.raises(ValueError, match=">= 0"):
        window_key(b"k", -1)


def test_put_fetch_and_time_ranges(backend: str, tmp_path: Path) -> None:
    store, _ = open_window(backend, tmp_path)
    for start in (100, 200, 300):
        store.put(b"a", b"a%d" % start, start)
    store.put(b"ab", b"other", 200)  # shares the prefix, must never show up for "a"
    store.put(b"", b"empty", 200)
    assert store.fetch(b"a", 200) == b"a200"
    assert store.fetch(b"a", 250) is None
    assert list(store.fetch_range(b"a", 150, 300)) == [(200, b"a200"), (300, b"a300")]
    assert list(store.fetch_range(b"a", 0, 1000)) == [
        (100, b"a100"),
        (200, b"a200"),
        (300, b"a300"),
    ]
    assert list(store.fetch_range(b"", 0, 1000)) == [(200, b"empty")]
    assert list(store.fetch_keys(b"a", b"ab", 200, 200)) == [
        (b"a", 200, b"a200"),
        (b"ab", 200, b"other"),
    ]
    assert [k for k, _, _ in store.all()] == [b"", b"a", b"a", b"a", b"ab"]
    store.put(b"a", None, 200)
    assert list(store.fetch_range(b"a", 0, 1000)) == [(100, b"a100"), (300, b"a300")]
    store.close()


def test_retention_drops_late_writes_and_purges_on_flush(backend: str, tmp_path: Path) -> None:
    store, _ = open_window(backend, tmp_path, retention_ms=100)
    store.put(b"k", b"old", 0)
    store.put(b"k", b"mid", 60)
    assert store.put(b"k", b"new", 150) is not None  # observed 150: windows < 51 expire
    assert store.put(b"k", b"late", 40) is None
    assert list(store.fetch_range(b"k", 0, 200)) == [(60, b"mid"), (150, b"new")]
    store.flush()
    assert [s for _, s, _ in store.all()] == [60, 150]
    assert store.inner.approximate_num_entries() == 2 * 2 + 1  # entries + index + observed
    store.close()


def test_observed_time_survives_reopen(tmp_path: Path) -> None:
    store, _ = open_window("lmdb", tmp_path, retention_ms=100)
    store.put(b"k", b"v", 500)
    store.flush()
    store.close()
    store, _ = open_window("lmdb", tmp_path, retention_ms=100)
    assert store.observed == 500
    assert store.put(b"k", b"late", 100) is None
    assert store.fetch(b"k", 500) == b"v"
    store.close()


def test_retain_duplicates_keeps_every_put(backend: str, tmp_path: Path) -> None:
    store, _ = open_window(backend, tmp_path, duplicates=True)
    first = store.put(b"k", b"1", 10)
    second = store.put(b"k", b"2", 10)
    assert first is not None and second is not None and first != second
    assert list(store.fetch_range(b"k", 10, 10)) == [(10, b"1"), (10, b"2")]
    store.close()


def test_restore_from_changelog_window_keys(backend: str, tmp_path: Path) -> None:
    store, ctx = open_window(backend, tmp_path, retention_ms=100)
    ctx.restore(
        "w",
        [
            (window_key(b"k", 0), b"expired"),
            (window_key(b"k", 200), b"x"),
            (window_key(b"k", 250), b"y"),
            (window_key(b"k", 200), None),
        ],
    )
    assert store.observed == 250
    assert list(store.fetch_range(b"k", 0, 1000)) == [(250, b"y")]
    store.flush()
    assert [s for _, s, _ in store.all()] == [250]
    store.close()
