"""The bytes-level session store over the in-memory and LMDB key-value stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.session import SessionBytesStore, session_key, split_session_key
from kstreamy.state.testing import FakeStoreContext


@pytest.fixture(params=["memory", "lmdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    ctx = FakeStoreContext(state_dir=tmp_path)
    inner: Any = InMemoryKeyValueStore("s") if request.param == "memory" else LmdbKeyValueStore("s")
    sessions = SessionBytesStore(inner, retention_ms=1000)
    sessions.init(ctx, sessions)
    yield sessions
    sessions.close()


def test_session_key_layout_is_kafkas() -> None:
    assert session_key(b"k", 1, 2) == b"k" + (2).to_bytes(8, "big") + (1).to_bytes(8, "big")
    assert split_session_key(session_key(b"key", 5, 9)) == (b"key", 5, 9)
    with pytest.raises(ValueError, match="before its start"):
        session_key(b"k", 5, 4)


def test_find_sessions_for_merging(store: Any) -> None:
    store.put(b"a", 0, 10, b"s1")
    store.put(b"a", 20, 30, b"s2")
    store.put(b"a", 50, 50, b"s3")
    store.put(b"ab", 20, 30, b"other")
    # a record at t=25 with gap 10 merges with sessions ending >= 15 and starting <= 35
    assert list(store.find_sessions(b"a", 15, 35)) == [(20, 30, b"s2")]
    assert list(store.fetch(b"a")) == [(0, 10, b"s1"), (20, 30, b"s2"), (50, 50, b"s3")]
    assert store.fetch_session(b"a", 20, 30) == b"s2"
    store.remove(b"a", 20, 30)
    assert store.fetch_session(b"a", 20, 30) is None
    assert [s for s, _, _ in store.fetch(b"a")] == [0, 50]


def test_retention_by_session_end(store: Any) -> None:
    store.put(b"k", 0, 100, b"old")
    store.put(b"k", 1500, 1600, b"new")  # observed 1600: sessions ending before 601 expire
    assert store.put(b"k", 400, 500, b"late") is None
    assert list(store.fetch(b"k")) == [(1500, 1600, b"new")]
    store.flush()
    assert store.inner.approximate_num_entries() == 3  # one session, its index, observed


def test_cached_sessions_remember_find_remove_and_prune() -> None:
    """The caching session store's memory of written sessions: found within bounds, forgotten
    on removal, and pruned once no record could merge with them (2 x retention)."""
    from kstreamy.state.session_cache import CachedSessions

    cached = CachedSessions(retention_ms=10)
    cached.remember(b"k", 0, 5, b"v1", now=5)
    cached.remember(b"k", 20, 30, b"v2", now=30)
    assert cached.find(b"k", 4, 100) == {(5, 0): b"v1", (30, 20): b"v2"}
    assert cached.find(b"k", 6, 100) == {(30, 20): b"v2"}
    assert cached.find(b"k", 0, 19) == {(5, 0): b"v1"}
    cached.remember(b"k", 20, 30, None, now=30)
    assert cached.find(b"k", 0, 100) == {(5, 0): b"v1"}
    cached.prune(now=25)  # horizon 5: a session ending at 5 is kept
    assert cached.find(b"k", 0, 100) == {(5, 0): b"v1"}
    cached.prune(now=26)
    assert cached.find(b"k", 0, 100) == {} and not cached.by_key
