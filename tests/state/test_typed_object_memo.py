"""The typed store's object memo (caching stores with Json/MsgPack values): a read or a cache
flush that meets the very bytes last put under a key copies the flat value put instead of
decoding it. Every reader must still get an independent, equal value, as a fresh decode gives."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.serdes import Json, MsgPack, String
from kstreamy.state.api import RecordContext, ValueAndTimestamp
from kstreamy.state.cache import ThreadCache
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext

RC = RecordContext(5, (), "in", 0, 1)


class CountingJson(Json):
    """Json counting its decodes (a subclass: not an exact-round-trip serde for the memo)."""


def open_store(value_serde: Any, timestamped: bool = True) -> tuple[Any, list[Any]]:
    builder = (
        Stores.timestamped_key_value("s", String(), value_serde, persistent=False)
        if timestamped
        else Stores.key_value("s", String(), value_serde, persistent=False)
    )
    store = builder.build()
    ctx = FakeStoreContext(cache=ThreadCache(1 << 20))
    ctx.current = RC
    store.init(ctx, store)
    flushed: list[Any] = []
    assert store.set_flush_listener(lambda k, n, o, rc: flushed.append((k, n, o)), True)
    return store, flushed


@pytest.mark.parametrize("serde", [Json(), MsgPack()])
def test_reads_get_independent_equal_copies(serde: Any) -> None:
    store, _ = open_store(serde)
    value = {"items": 1, "total": 2.5, "name": "a", "gone": None, "ok": True}
    store.put("c", ValueAndTimestamp(value, 7))
    value["items"] = 99  # the caller mutating what it put changes nothing stored
    first = store.get("c")
    assert first == ValueAndTimestamp({"items": 1, "total": 2.5, "name": "a", "gone": None,
                                       "ok": True}, 7)  # fmt: skip
    first.value["items"] = 42  # a reader mutating its copy changes nothing stored
    second = store.get("c")
    assert second.value["items"] == 1 and second.value is not first.value
    assert store._objects and store._objects[b"c"][1][0]["items"] == 1  # the (value, ts) snapshot


def test_flush_forwards_a_copy_of_the_value_put_and_the_old_value_decoded() -> None:
    store, flushed = open_store(Json())
    store.put("c", ValueAndTimestamp({"n": 1}, 1))
    store.flush()
    store.put("c", ValueAndTimestamp({"n": 2}, 2))
    store.flush()
    assert flushed == [
        ("c", ValueAndTimestamp({"n": 1}, 1), None),
        ("c", ValueAndTimestamp({"n": 2}, 2), ValueAndTimestamp({"n": 1}, 1)),
    ]
    flushed[1][1].value["n"] = 100  # downstream mutating the forwarded value
    assert store.get("c") == ValueAndTimestamp({"n": 2}, 2)


def test_values_that_do_not_round_trip_exactly_are_decoded() -> None:
    store, _ = open_store(Json())
    store.put("t", ValueAndTimestamp({"pair": (1, 2)}, 1))  # a tuple comes back as a list
    store.put("k", ValueAndTimestamp({"nested": {"a": 1}}, 1))  # not flat: decoded
    assert store.get("t") == ValueAndTimestamp({"pair": [1, 2]}, 1)
    assert store.get("k") == ValueAndTimestamp({"nested": {"a": 1}}, 1)
    assert b"t" not in store._objects and b"k" not in store._objects


def test_plain_stores_and_other_serdes() -> None:
    store, _ = open_store(MsgPack(), timestamped=False)
    store.put("l", [1, "x", None])
    got = store.get("l")
    got.append(3)
    assert store.get("l") == [1, "x", None]
    custom, _ = open_store(CountingJson())
    assert custom._objects is None  # a serde subclass may not round-trip: no memo
    custom.put("a", ValueAndTimestamp({"a": 1}, 1))
    assert custom.get("a") == ValueAndTimestamp({"a": 1}, 1)


def test_delete_and_put_if_absent_drop_the_memo_entry() -> None:
    store, _ = open_store(Json())
    store.put("a", ValueAndTimestamp({"a": 1}, 1))
    assert store.delete("a") == ValueAndTimestamp({"a": 1}, 1)
    assert store.get("a") is None and b"a" not in store._objects
    assert store.put_if_absent("a", ValueAndTimestamp({"a": 2}, 2)) is None
    assert store.get("a") == ValueAndTimestamp({"a": 2}, 2)


@pytest.mark.parametrize("serde", [Json(), MsgPack()])
def test_pairs_read_and_write_like_values_and_timestamps(serde: Any) -> None:
    """The DSL's aggregations write (value, timestamp) pairs and read them back with
    `get_pair` (no ValueAndTimestamp built): the same bytes, flushes and reads as with a
    ValueAndTimestamp, and each pair read is an independent copy."""
    store, flushed = open_store(serde)
    twin, twin_flushed = open_store(serde)
    store.put("c", ({"n": 1}, 5))
    twin.put("c", ValueAndTimestamp({"n": 1}, 5))
    assert store.inner.get(b"c") == twin.inner.get(b"c")
    reads = [store.get_pair("c") for _ in range(3)]  # (one in many is a sampled `get`)
    assert all(tuple(r) == ({"n": 1}, 5) for r in reads)
    assert any(r.__class__ is tuple for r in reads), "memoized reads build no ValueAndTimestamp"
    reads[-1][0]["n"] = 7  # a reader mutating its copy changes nothing stored
    assert tuple(store.get_pair("c")) == ({"n": 1}, 5)
    assert store.get("c") == ValueAndTimestamp({"n": 1}, 5)
    assert store.get_pair("absent") is None
    store.flush()
    twin.flush()
    assert flushed == twin_flushed == [("c", ValueAndTimestamp({"n": 1}, 5), None)]
    with pytest.raises(Exception, match="unpack"):
        store.put("bad", ({"n": 1}, 5, 6))  # not a pair: refused as TimestampedSerde does


def test_get_pair_of_a_plain_store_is_get() -> None:
    store, _ = open_store(Json(), timestamped=False)
    store.put("c", {"n": 1})
    assert store.get_pair("c") == {"n": 1}
