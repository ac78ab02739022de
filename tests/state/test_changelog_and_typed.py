"""Changelog contents through a fake StoreContext, restoration, typed layer, query views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.errors import InvalidStateStoreError
from kstreamy.serdes import Long, String
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.cache import ThreadCache
from kstreamy.state.caching import CachingKeyValueStore
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.query import ReadOnlyKeyValueStoreView
from kstreamy.state.stores import Stores
from kstreamy.state.testing import ChangelogRecord, FakeStoreContext


def open_store(builder: Any, **ctx_args: Any) -> tuple[Any, FakeStoreContext]:
    ctx = FakeStoreContext(**ctx_args)
    store = builder.build()
    store.init(ctx, store)
    return store, ctx


@pytest.mark.parametrize("persistent", [False, True])
def test_changelog_records_name_topic_key_value_timestamp(tmp_path: Path, persistent: bool) -> None:
    builder = Stores.key_value("counts", String(), Long(), persistent=persistent, caching=False)
    store, ctx = open_store(builder, application_id="shop", state_dir=tmp_path)
    ctx.set_record(timestamp=500, headers=[("trace", b"x")])
    store.put("apple", 3)
    ctx.set_record(timestamp=600)
    store.delete("apple")
    assert ctx.changelog == [
        ChangelogRecord(
            "shop-counts-changelog", 0, b"apple", (3).to_bytes(8, "big"), 500, (("trace", b"x"),)
        ),
        ChangelogRecord("shop-counts-changelog", 0, b"apple", None, 600, ()),
    ]


def test_timestamped_store_uses_kafka_value_layout(tmp_path: Path) -> None:
    builder = Stores.timestamped_key_value("t", String(), String(), caching=False)
    store, ctx = open_store(builder, state_dir=tmp_path)
    store.put("k", ValueAndTimestamp("v", 1234))
    assert store.get("k") == ValueAndTimestamp("v", 1234)
    assert ctx.changelog[0].value == (1234).to_bytes(8, "big") + b"v"
    store.put("k", ValueAndTimestamp(None, 5))
    assert store.get("k") is None
    assert ctx.changelog[-1].value is None


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("caching", [False, True])
def test_restore_into_fresh_store_from_changelog(
    tmp_path: Path, persistent: bool, caching: bool
) -> None:
    builder = Stores.key_value("s", String(), String(), persistent=persistent, caching=caching)
    cache = ThreadCache(1 << 20) if caching else None
    store, ctx = open_store(builder, state_dir=tmp_path / "a", cache=cache)
    ctx.set_record(timestamp=1)
    for i in range(200):
        store.put(f"k{i % 50}", f"v{i}")
    for i in range(10):
        store.delete(f"k{i}")
    store.flush()
    records = ctx.changelog_of("s")
    store.close()

    fresh, fresh_ctx = open_store(builder, state_dir=tmp_path / "b", cache=ThreadCache(1 << 20))
    for start in range(0, len(records), 37):
        fresh_ctx.restore("s", records[start : start + 37])
    assert fresh_ctx.changelog == [], "restoration must not write the changelog again"
    assert dict(fresh.all()) == {f"k{i}": f"v{150 + i}" for i in range(10, 50)}
    fresh.close()


def test_default_serdes_come_from_app_config() -> None:
    config = {"default.key.serde": String(), "default.value.serde": Long}
    store, ctx = open_store(Stores.in_memory_key_value("s", caching=False), app_config=config)
    store.put("a", 7)
    assert store.get("a") == 7
    assert ctx.changelog[0].key == b"a"


def test_no_serde_means_bytes_pass_through_and_rejects_other_types() -> None:
    store, _ = open_store(Stores.in_memory_key_value("s"))
    store.put(b"a", bytearray(b"1"))
    assert store.get(b"a") == b"1"
    with pytest.raises(TypeError, match="No serde configured"):
        store.put("a", b"1")


def test_none_key_is_rejected() -> None:
    store, _ = open_store(Stores.in_memory_key_value("s"))
    with pytest.raises(ValueError, match="must not be None"):
        store.put(None, b"1")


def test_layering_follows_builder_and_context(tmp_path: Path) -> None:
    store, _ = open_store(Stores.key_value("s"), state_dir=tmp_path, cache=ThreadCache(100))
    assert isinstance(store.inner, CachingKeyValueStore)
    assert isinstance(store.bytes_store, LmdbKeyValueStore)
    store.close()
    store, _ = open_store(Stores.key_value("s"), state_dir=None, cache=None)
    assert isinstance(store.inner.inner, InMemoryKeyValueStore)
    assert store.persistent is False
    builder = Stores.key_value("s", logging_config={"retention.ms": "1"}).with_logging_disabled()
    store, ctx = open_store(builder.with_caching_disabled(), cache=ThreadCache(100))
    assert isinstance(store.inner, InMemoryKeyValueStore)
    store.put(b"a", b"1")
    assert ctx.changelog == []
    assert builder.logging_enabled is False
    assert dict(Stores.key_value("s").logging_config) == {"cleanup.policy": "compact"}


def test_typed_flush_listener_and_metrics() -> None:
    builder = Stores.timestamped_key_value("s", String(), Long(), persistent=False)
    store, ctx = open_store(builder, cache=ThreadCache(1 << 20))
    seen: list[Any] = []
    assert store.set_flush_listener(lambda k, n, o, rc: seen.append((k, n, o)), True) is True
    ctx.set_record(timestamp=9)
    store.put("a", ValueAndTimestamp(1, 9))
    store.flush()
    store.put("a", ValueAndTimestamp(2, 10))
    store.get("a")
    store.flush()
    assert seen == [
        ("a", ValueAndTimestamp(1, 9), None),
        ("a", ValueAndTimestamp(2, 10), ValueAndTimestamp(1, 9)),
    ]
    metrics = store.metrics.as_dict()
    assert metrics["put_count"] == 2 and metrics["get_count"] == 1
    assert metrics["put_ns"] > 0


@pytest.mark.parametrize("persistent", [False, True])
def test_read_only_view(tmp_path: Path, persistent: bool) -> None:
    builder = Stores.key_value("s", String(), String(), persistent=persistent, caching=False)
    store, _ = open_store(builder, state_dir=tmp_path)
    view = ReadOnlyKeyValueStoreView(store)
    store.put("a", "1")
    store.put("b", "2")
    if persistent:  # LMDB: queries see the last committed batch
        assert view.get("a") is None
    store.flush()
    assert view.get("a") == "1"
    assert list(view.range("a", "a")) == [("a", "1")]
    assert list(view.all()) == [("a", "1"), ("b", "2")]
    assert list(view.prefix_scan("b")) == [("b", "2")]
    assert view.approximate_num_entries() == 2
    assert not hasattr(view, "put")
    store.close()
    with pytest.raises(InvalidStateStoreError, match="'s' is not open"):
        view.get("a")


def test_typed_store_before_init_and_after_close_raises_invalid_state() -> None:
    store: Any = Stores.in_memory_key_value("s").build()
    assert not store.is_open
    with pytest.raises(InvalidStateStoreError, match="'s' is not open"):
        store.get(b"a")
    ctx = FakeStoreContext()
    store.init(ctx, store)
    store.put(b"a", b"1")
    store.close()
    with pytest.raises(InvalidStateStoreError):
        store.put(b"a", b"2")
    store.close()  # closing twice is harmless
