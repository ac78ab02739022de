"""The typed layer's shortcuts keep behaviour: sampled metrics, key bytes reused from get to
put only for unchanged immutable keys, flush-listener objects reused only for exact round trips;
and LMDB's batched flush of puts and deletes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kstreamy.serdes import Double, Long, String
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.cache import ThreadCache
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.typed import StoreMetrics


class JsonSerde:
    """A serde for mutable keys (lists)."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        return None if obj is None else json.dumps(obj).encode()

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        return None if data is None else json.loads(data)


class LowerString:
    """A lossy serde: the round trip lower-cases."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        return None if obj is None else obj.lower().encode()

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        return None if data is None else data.decode()


def open_store(builder: Any, **ctx_args: Any) -> tuple[Any, FakeStoreContext]:
    ctx = FakeStoreContext(**ctx_args)
    store = builder.build()
    store.init(ctx, store)
    return store, ctx


def test_metrics_count_every_call_and_estimate_latency_from_samples() -> None:
    store, _ = open_store(Stores.key_value("m", String(), Long(), persistent=False))
    for i in range(StoreMetrics.SAMPLE_EVERY * 2 + 1):
        store.put(f"k{i}", i)
        store.get(f"k{i}")
    store.delete("k0")
    metrics = store.metrics
    assert metrics.put_count == StoreMetrics.SAMPLE_EVERY * 2 + 2
    assert metrics.get_count == StoreMetrics.SAMPLE_EVERY * 2 + 1
    assert metrics.get_sampled == 3 and metrics.put_sampled == 3
    as_dict = metrics.as_dict()
    assert as_dict["get_ns"] > 0 and as_dict["put_ns"] > 0
    assert set(as_dict) == {"get_count", "get_ns", "put_count", "put_ns"}


def test_a_mutable_key_changed_between_get_and_put_is_serialized_again() -> None:
    store, ctx = open_store(
        Stores.key_value("j", JsonSerde(), String(), persistent=False, caching=False)
    )
    key = ["a"]
    assert store.get(key) is None
    key.append("b")
    store.put(key, "v")
    assert store.get(["a", "b"]) == "v"
    assert store.get(["a"]) is None
    assert ctx.changelog[-1].key == b'["a", "b"]'


def test_the_same_immutable_key_reuses_its_bytes_from_get() -> None:
    store, ctx = open_store(Stores.key_value("s", String(), Long(), persistent=False))
    store.get("x")
    store.put("x", 1)
    store.put("y", 2)  # a different key after the get: serialized itself
    store.flush()
    assert sorted((r.key, r.value) for r in ctx.changelog) == [
        (b"x", (1).to_bytes(8, "big")),
        (b"y", (2).to_bytes(8, "big")),
    ]


def listen(store: Any) -> list[tuple[Any, Any, Any]]:
    seen: list[tuple[Any, Any, Any]] = []
    assert store.set_flush_listener(lambda k, n, o, rc: seen.append((k, n, o)), True) is True
    return seen


def test_flush_listener_gets_round_tripped_values_for_lossy_serdes() -> None:
    builder = Stores.key_value("l", LowerString(), LowerString(), persistent=False)
    store, _ = open_store(builder, cache=ThreadCache(1 << 20))
    seen = listen(store)
    store.put("KeY", "VaLuE")
    store.flush()
    assert seen == [("key", "value", None)]


def test_flush_listener_gets_exact_types_for_round_trip_serdes() -> None:
    builder = Stores.timestamped_key_value("t", String(), Double(), persistent=False)
    store, _ = open_store(builder, cache=ThreadCache(1 << 20))
    seen = listen(store)
    store.put("k", ValueAndTimestamp(1, 5))  # an int through a Double serde comes back a float
    store.flush()
    ((key, new, old),) = seen
    assert key == "k" and old is None
    assert new == ValueAndTimestamp(1.0, 5) and type(new.value) is float


def test_flush_listener_after_several_writes_sees_the_last_value_of_each_key() -> None:
    builder = Stores.timestamped_key_value("c", String(), Long(), persistent=False)
    store, _ = open_store(builder, cache=ThreadCache(1 << 20))
    seen = listen(store)
    store.put("a", ValueAndTimestamp(1, 1))
    store.put("b", ValueAndTimestamp(2, 2))
    store.put("a", ValueAndTimestamp(3, 3))
    store.delete("b")
    store.flush()
    assert seen == [("a", ValueAndTimestamp(3, 3), None)]
    store.put("a", ValueAndTimestamp(4, 4))
    store.flush()
    assert seen[-1] == ("a", ValueAndTimestamp(4, 4), ValueAndTimestamp(3, 3))


def test_lmdb_flush_applies_batched_puts_and_deletes(tmp_path: Path) -> None:
    ctx = FakeStoreContext(state_dir=tmp_path)
    store = LmdbKeyValueStore("l")
    store.init(ctx, store)
    for key in (b"m", b"a", b"z", b"", b"b"):
        store.put(key, b"v-" + key)
    store.flush()
    store.put(b"z", None)
    store.put(b"c", b"new")
    store.put(b"a", b"again")
    store.flush()
    assert list(store.all()) == [
        (b"", b"v-"),
        (b"a", b"again"),
        (b"b", b"v-b"),
        (b"c", b"new"),
        (b"m", b"v-m"),
    ]
    assert store.query_get(b"c") == b"new" and store.query_get(b"z") is None
    store.close()
