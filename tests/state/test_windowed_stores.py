"""Typed window and session stores: serdes, changelog (Kafka's key layouts), restoration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.errors import InvalidStateStoreError
from kstreamy.serdes import Long, String
from kstreamy.state.session import session_key
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.window import window_key
from kstreamy.windows import SessionWindow, TimeWindow, Windowed


def open_store(builder: Any, tmp_path: Path | None) -> tuple[Any, FakeStoreContext]:
    ctx = FakeStoreContext(application_id="app", state_dir=tmp_path)
    store = builder.build()
    store.init(ctx, store)
    return store, ctx


@pytest.mark.parametrize("persistent", [False, True])
def test_window_store_put_fetch_changelog_and_restore(tmp_path: Path, persistent: bool) -> None:
    builder = Stores.window_store("w", 1000, 100, key_serde=String(), value_serde=Long(),
                                  persistent=persistent)  # fmt: skip
    store, ctx = open_store(builder, tmp_path / "a")
    ctx.set_record(timestamp=150)
    store.put("k", 1, 100)
    store.put("k", 2, 200)
    store.put("other", 3, 100)
    assert list(store.fetch("k", 0, 1000)) == [(100, 1), (200, 2)]
    assert store.get("k", 200) == 2 and store.get("k", 300) is None
    assert list(store.fetch_all(100, 100)) == [
        (Windowed("k", TimeWindow(100, 200)), 1),
        (Windowed("other", TimeWindow(100, 200)), 3),
    ]
    store.put("k", None, 100)
    assert [(r.key, r.value, r.timestamp) for r in ctx.changelog] == [
        (window_key(b"k", 100), (1).to_bytes(8, "big"), 150),
        (window_key(b"k", 200), (2).to_bytes(8, "big"), 150),
        (window_key(b"other", 100), (3).to_bytes(8, "big"), 150),
        (window_key(b"k", 100), None, 150),
    ]
    assert ctx.changelog[0].topic == "app-w-changelog"
    assert builder.logging_config["cleanup.policy"] == "compact,delete"
    assert store.set_flush_listener(lambda *a: None, False) is False
    store.flush()
    fresh, fresh_ctx = open_store(builder, tmp_path / "b")
    fresh_ctx.restore("w", ctx.changelog_of("w"))
    assert list(fresh.all()) == list(store.all())
    assert fresh_ctx.changelog == []
    store.close()
    with pytest.raises(InvalidStateStoreError):
        store.get("k", 200)
    fresh.close()


def test_window_builder_validates_sizes() -> None:
    with pytest.raises(ValueError, match="retention"):
        Stores.window_store("w", retention_ms=10, window_size_ms=100)


@pytest.mark.parametrize("persistent", [False, True])
def test_session_store_put_find_remove_and_restore(tmp_path: Path, persistent: bool) -> None:
    builder = Stores.session_store("s", 10_000, String(), Long(), persistent=persistent)
    store, ctx = open_store(builder, tmp_path / "a")
    ctx.set_record(timestamp=30)
    store.put(Windowed("u", SessionWindow(0, 10)), 2)
    store.put(Windowed("u", SessionWindow(20, 30)), 3)
    assert list(store.find_sessions("u", 15, 35)) == [(Windowed("u", SessionWindow(20, 30)), 3)]
    store.remove(Windowed("u", SessionWindow(0, 10)))
    assert list(store.fetch("u")) == [(Windowed("u", SessionWindow(20, 30)), 3)]
    assert store.fetch_session("u", 20, 30) == 3
    assert [r.key for r in ctx.changelog] == [
        session_key(b"u", 0, 10),
        session_key(b"u", 20, 30),
        session_key(b"u", 0, 10),
    ]
    fresh, fresh_ctx = open_store(builder, tmp_path / "b")
    fresh_ctx.restore("s", ctx.changelog_of("s"))
    assert list(fresh.fetch("u")) == [(Windowed("u", SessionWindow(20, 30)), 3)]
    store.close()
    fresh.close()
