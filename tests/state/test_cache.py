"""Record cache semantics (Kafka's ThreadCache/NamedCache + CachingKeyValueStore)."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.state.api import RecordContext
from kstreamy.state.cache import ENTRY_OVERHEAD, ThreadCache
from kstreamy.state.caching import CachingKeyValueStore
from kstreamy.state.logging_layer import ChangeLoggingKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext

Emitted = list[tuple[bytes, bytes | None, bytes | None, RecordContext]]


def cached_store(
    cache: ThreadCache, name: str = "s", send_old: bool = False, ctx: FakeStoreContext | None = None
) -> tuple[CachingKeyValueStore, FakeStoreContext, Emitted]:
    ctx = ctx or FakeStoreContext(cache=cache)
    store = CachingKeyValueStore(ChangeLoggingKeyValueStore(InMemoryKeyValueStore(name)))
    store.init(ctx, store)
    emitted: Emitted = []
    store.set_flush_listener(lambda k, n, o, rc: emitted.append((k, n, o, rc)), send_old)
    return store, ctx, emitted


def test_dedup_1000_updates_to_10_keys_flush_10_entries() -> None:
    store, ctx, emitted = cached_store(ThreadCache(1 << 20))
    for i in range(1000):
        ctx.set_record(timestamp=i)
        store.put(b"k%d" % (i % 10), b"v%d" % i)
    assert emitted == [] and ctx.changelog == []
    store.flush()
    assert len(emitted) == 10
    assert [(k, n) for k, n, _, _ in emitted] == [
        (b"k%d" % j, b"v%d" % (990 + j)) for j in range(10)
    ]
    assert [rc.timestamp for *_, rc in emitted] == list(range(990, 1000))
    assert len(ctx.changelog) == 10
    assert [r.timestamp for r in ctx.changelog] == list(range(990, 1000))
    store.flush()
    assert len(emitted) == 10, "a second flush has nothing dirty"


def test_flush_order_is_last_dirtied() -> None:
    store, ctx, emitted = cached_store(ThreadCache(1 << 20))
    for key in (b"a", b"b", b"c", b"a", b"d", b"b"):
        store.put(key, key + b"!")
    store.flush()
    assert [k for k, *_ in emitted] == [b"c", b"a", b"d", b"b"]
    assert [r.key for r in ctx.changelog] == [b"c", b"a", b"d", b"b"]


def test_eviction_under_tiny_budget_forwards_dirty_entries_with_old_values() -> None:
    entry = 2 + 2 + ENTRY_OVERHEAD
    cache = ThreadCache(3 * entry)
    store, ctx, emitted = cached_store(cache, send_old=True)
    for key in (b"a1", b"a2", b"a3"):
        store.put(key, b"v1")
    store.flush()
    assert [(k, n, o) for k, n, o, _ in emitted] == [
        (b"a1", b"v1", None),
        (b"a2", b"v1", None),
        (b"a3", b"v1", None),
    ]
    emitted.clear()
    store.put(b"a1", b"v2")  # dirty; LRU order now a2, a3, a1
    store.put(b"a4", b"v1")  # evicts clean a2: nothing emitted
    store.put(b"a5", b"v1")  # evicts clean a3
    assert emitted == []
    store.put(b"a6", b"v1")  # evicts dirty a1: the whole namespace flushes, a1 first
    assert [(k, n, o) for k, n, o, _ in emitted] == [
        (b"a1", b"v2", b"v1"),
        (b"a4", b"v1", None),
        (b"a5", b"v1", None),
        (b"a6", b"v1", None),
    ]
    assert cache.size <= cache.max_bytes
    assert store.inner.get(b"a1") == b"v2"
    assert [r.key for r in ctx.changelog][-4:] == [b"a1", b"a4", b"a5", b"a6"]


def test_eviction_only_from_the_namespace_being_written() -> None:
    entry = 2 + 2 + ENTRY_OVERHEAD
    cache = ThreadCache(4 * entry)
    ctx = FakeStoreContext(cache=cache)
    one, _, emitted_one = cached_store(cache, "one", ctx=ctx)
    two, _, emitted_two = cached_store(cache, "two", ctx=ctx)
    for key in (b"a1", b"a2", b"a3"):
        one.put(key, b"v1")
    two.put(b"b1", b"v1")
    two.put(b"b2", b"v1")  # over budget: evicts from "two" only
    assert emitted_one == []
    assert [k for k, *_ in emitted_two] == [b"b1", b"b2"]
    assert cache.namespace_size("0_0-one") == 3


def test_delete_of_unknown_key_is_not_emitted_but_known_key_is() -> None:
    store, _, emitted = cached_store(ThreadCache(1 << 20))
    store.put(b"x", b"1")
    store.flush()
    emitted.clear()
    store.delete(b"x")
    store.delete(b"never")
    store.flush()
    assert [(k, n, o) for k, n, o, _ in emitted] == [(b"x", None, None)]
    assert store.get(b"x") is None and store.inner.get(b"x") is None


def test_deleted_entries_leave_the_cache_after_flush() -> None:
    cache = ThreadCache(1 << 20)
    store, _, _ = cached_store(cache)
    store.put(b"x", b"1")
    store.delete(b"x")
    assert cache.namespace_size("0_0-s") == 1
    store.flush()
    assert cache.namespace_size("0_0-s") == 0
    assert cache.size == 0


def test_listener_may_write_to_the_same_store_during_flush() -> None:
    store, _, emitted = cached_store(ThreadCache(1 << 20))

    def rewrite(k: bytes, n: bytes | None, o: bytes | None, rc: RecordContext) -> None:
        emitted.append((k, n, o, rc))
        if not k.startswith(b"echo-"):
            store.put(b"echo-" + k, n)

    store.set_flush_listener(rewrite, False)
    store.put(b"a", b"1")
    store.flush()
    assert [k for k, *_ in emitted] == [b"a"]
    store.flush()
    assert [k for k, *_ in emitted] == [b"a", b"echo-a"]


def test_reads_hit_cache_then_store() -> None:
    store, _, _ = cached_store(ThreadCache(1 << 20))
    store.inner.put(b"below", b"1")
    assert store.get(b"below") == b"1"
    store.put(b"a", b"2")
    assert store.get(b"a") == b"2"
    assert store.inner.get(b"a") is None


def test_entry_context_flows_to_changelog_on_flush() -> None:
    store, ctx, _ = cached_store(ThreadCache(1 << 20))
    ctx.set_record(timestamp=111, headers=[("h", b"1")])
    store.put(b"a", b"1")
    ctx.set_record(timestamp=222)
    store.put(b"b", b"2")
    ctx.current = None  # flushing outside processing (commit)
    store.flush()
    assert [(r.key, r.timestamp, r.headers) for r in ctx.changelog] == [
        (b"a", 111, (("h", b"1"),)),
        (b"b", 222, ()),
    ]


@pytest.mark.parametrize("pass_cache", [False, True])
def test_zero_budget_means_no_cache_layer(pass_cache: bool) -> None:
    cache = ThreadCache(0)
    assert not cache.enabled
    # the task passes None when the budget is 0; a zero-budget cache is treated the same
    ctx = FakeStoreContext(cache=cache if pass_cache else None)
    store: Any = Stores.key_value("s", persistent=False).build()
    store.init(ctx, store)
    assert store.set_flush_listener(lambda *a: None, False) is False
    store.put(b"a", b"1")
    store.put(b"a", b"2")
    assert [(r.key, r.value) for r in ctx.changelog] == [(b"a", b"1"), (b"a", b"2")]


def test_negative_budget_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"statestore\.cache\.max\.bytes"):
        ThreadCache(-1)
