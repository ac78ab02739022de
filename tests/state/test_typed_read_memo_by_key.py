"""The typed layer's read memo by key object, for stores read straight from LMDB or memory (no
cache; a GlobalKTable looked up on every join): a read must always return what a fresh read of
the bytes would, as an independent object, whatever wrote to the store in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.serdes import Json, Long, String
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext


@pytest.fixture(params=["lmdb", "memory"])
def store(request: Any, tmp_path: Path) -> Any:
    persistent = request.param == "lmdb"
    built = (
        Stores.timestamped_key_value("g", String(), Json(), persistent=persistent)
        .with_caching_disabled()
        .build()
    )
    ctx = FakeStoreContext(state_dir=tmp_path if persistent else None)
    built.init(ctx, built)
    yield built
    built.close()


def vat(value: Any, ts: int = 1) -> ValueAndTimestamp[Any]:
    return ValueAndTimestamp(value, ts)


def test_reads_are_memoized_as_independent_copies(store: Any) -> None:
    store.put("p", vat({"price": 3}))
    first = store.get("p")
    assert store._reads is not None and "p" in store._reads
    first.value["price"] = 99  # a reader mutating its copy changes nothing stored
    assert store.get("p") == vat({"price": 3})
    assert store.get("p").value is not store.get("p").value


def test_a_write_through_the_store_is_seen_by_the_next_read(store: Any) -> None:
    assert store.get("p") is None  # a miss is memoized too
    store.put("p", vat({"price": 1}))
    assert store.get("p") == vat({"price": 1})
    store.put("p", vat({"price": 2}, 2))
    assert store.get("p") == vat({"price": 2}, 2)
    assert store.delete("p") == vat({"price": 2}, 2)
    assert store.get("p") is None
    assert store.put_if_absent("p", vat({"price": 4})) is None
    assert store.get("p") == vat({"price": 4})
    store.put_all([("p", vat({"price": 5})), ("q", vat({"price": 6}))])
    assert [store.get("p"), store.get("q")] == [vat({"price": 5}), vat({"price": 6})]


def test_a_restore_below_the_typed_layer_is_seen(store: Any) -> None:
    store.put("p", vat({"price": 1}))
    store.flush()
    assert store.get("p") == vat({"price": 1})
    restored = store.value_serde.serialize("g", vat({"price": 7}, 9))
    store.bytes_store.restore_batch([(b"p", restored), (b"q", restored)])
    assert store.get("p") == vat({"price": 7}, 9)
    assert store.get("q") == vat({"price": 7}, 9)


def test_values_that_cannot_be_shared_or_copied_are_decoded_every_time(tmp_path: Path) -> None:
    built = Stores.key_value("n", String(), Json(), persistent=False).with_caching_disabled()
    store = built.build()
    store.init(FakeStoreContext(), store)
    store.put("k", {"nested": {"a": 1}})
    got = store.get("k")
    got["nested"]["a"] = 2
    assert store.get("k") == {"nested": {"a": 1}}
    assert "k" not in store._reads
    for i in range(20):  # a store of such values stops trying to memoize them
        store.put(f"n{i}", {"nested": {"i": i}})
        assert store.get(f"n{i}") == {"nested": {"i": i}}
    assert store._reads is None
    store.put("k", {"nested": {"a": 3}})
    assert store.get("k") == {"nested": {"a": 3}}


def test_a_key_of_another_class_forgets_every_memoized_read() -> None:
    store = Stores.key_value("l", Long(), Long(), persistent=False).with_caching_disabled().build()
    store.init(FakeStoreContext(), store)
    store.put(1, 10)
    assert store.get(1) == 10 and 1 in store._reads
    store.put(True, 11)  # bool serializes like the int 1 (Long): the memo must not answer 10
    assert store.get(1) == 11


def test_cached_stores_have_no_read_memo() -> None:
    from kstreamy.state.cache import ThreadCache

    store = Stores.key_value("c", String(), Json(), persistent=False).build()
    store.init(FakeStoreContext(cache=ThreadCache(1 << 20)), store)
    assert store._reads is None
