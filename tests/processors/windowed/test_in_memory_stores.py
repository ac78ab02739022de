"""The in-memory window/session bytes stores behave exactly like the sorted-bytes ones (which
the LMDB stores use), including retention, duplicates, changelog layout and restore."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.session import InMemorySessionBytesStore, SessionBytesStore
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.window import InMemoryWindowBytesStore, WindowBytesStore

KEYS = [b"a", b"ab", b"b", b"\x00", b"zz"]


def open_window(kind: Any, retention: int, dup: bool) -> Any:
    store = kind(InMemoryKeyValueStore("w"), retention, dup)
    ctx = FakeStoreContext()
    store.init(ctx, store)
    return store, ctx


def window_state(store: Any) -> list[Any]:
    return [
        sorted(store.all()),
        [list(store.fetch_range(k, 0, 1000)) for k in KEYS],
        [store.fetch(k, s) for k in KEYS for s in range(0, 120, 7)],
        [list(store.fetch_keys(b"a", b"b", 10, 60))],
    ]


@pytest.mark.parametrize("dup", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_window_store_parity(dup: bool, seed: int) -> None:
    rng = random.Random(seed)
    sorted_store, _ = open_window(WindowBytesStore, 30, dup)
    memory, _ = open_window(InMemoryWindowBytesStore, 30, dup)
    for step in range(300):
        key, start = rng.choice(KEYS), rng.randrange(0, 40 + step // 3)
        value = None if rng.random() < 0.15 else f"v{step}".encode()
        assert sorted_store.put(key, value, start) == memory.put(key, value, start)
        if step % 25 == 0:
            sorted_store.flush()
            memory.flush()
            assert window_state(sorted_store) == window_state(memory)
    sorted_store.flush()
    memory.flush()
    assert window_state(sorted_store) == window_state(memory)


def test_window_store_restores_from_its_changelog_layout() -> None:
    """Restore takes Kafka's window key (key + 8-byte start + 4-byte seqnum)."""
    original, _ = open_window(InMemoryWindowBytesStore, 100, True)
    changelog = []
    for i, start in enumerate([5, 5, 9]):
        stored = original.put(b"k", f"v{i}".encode(), start)
        changelog.append((stored, f"v{i}".encode()))
    restored, ctx = open_window(InMemoryWindowBytesStore, 100, True)
    ctx.restore("w", changelog)
    assert list(restored.fetch_range(b"k", 0, 10)) == [(5, b"v0"), (5, b"v1"), (9, b"v2")]
    assert restored.observed == 9


def open_sessions(kind: Any, retention: int) -> Any:
    store = kind(InMemoryKeyValueStore("s"), retention)
    ctx = FakeStoreContext()
    store.init(ctx, store)
    return store, ctx


def session_state(store: Any) -> list[Any]:
    return [
        [list(store.fetch(k)) for k in KEYS],
        [list(store.find_sessions(k, e, s)) for k in KEYS for e in (0, 20) for s in (10, 50)],
        [store.fetch_session(k, s, s + 3) for k in KEYS for s in range(0, 60, 3)],
    ]


@pytest.mark.parametrize("seed", range(5))
def test_session_store_parity(seed: int) -> None:
    rng = random.Random(seed)
    sorted_store, _ = open_sessions(SessionBytesStore, 25)
    memory, _ = open_sessions(InMemorySessionBytesStore, 25)
    for step in range(300):
        key, start = rng.choice(KEYS), rng.randrange(0, 40 + step // 4)
        end = start + rng.choice([0, 3, 5])
        value = None if rng.random() < 0.2 else f"v{step}".encode()
        assert sorted_store.put(key, start, end, value) == memory.put(key, start, end, value)
        if step % 25 == 0:
            sorted_store.flush()
            memory.flush()
            assert session_state(sorted_store) == session_state(memory)
    sorted_store.flush()
    memory.flush()
    assert session_state(sorted_store) == session_state(memory)
