"""One contract suite for every key-value store implementation and layering."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = [b"", b"\x00", b"a", b"ab", b"abc", b"b", b"ba", b"\x7f", b"\x80", b"\xff", b"\xff\xff"]


def fill(sut: Any, keys: list[bytes] = KEYS) -> None:
    for key in keys:
        sut.store.put(key, sut.wrap(b"v-" + key))


def expected(keys: list[bytes]) -> list[tuple[bytes, bytes]]:
    return [(k, b"v-" + k) for k in sorted(keys)]


def test_put_get_overwrite_and_none_deletes(sut: Any) -> None:
    store = sut.store
    assert store.get(b"k") is None
    store.put(b"k", sut.wrap(b"1"))
    assert sut.unwrap(store.get(b"k")) == b"1"
    store.put(b"k", sut.wrap(b"2"))
    assert sut.unwrap(store.get(b"k")) == b"2"
    store.put(b"k", None)
    assert store.get(b"k") is None
    store.flush()
    assert store.get(b"k") is None


def test_put_if_absent(sut: Any) -> None:
    store = sut.store
    assert store.put_if_absent(b"k", sut.wrap(b"1")) is None
    assert sut.unwrap(store.put_if_absent(b"k", sut.wrap(b"2"))) == b"1"
    store.flush()
    assert sut.unwrap(store.put_if_absent(b"k", sut.wrap(b"3"))) == b"1"
    assert sut.unwrap(store.get(b"k")) == b"1"


def test_put_all_with_tombstones(sut: Any) -> None:
    store = sut.store
    store.put_all([(b"a", sut.wrap(b"1")), (b"b", sut.wrap(b"2")), (b"c", sut.wrap(b"3"))])
    store.flush()
    store.put_all([(b"a", None), (b"d", sut.wrap(b"4"))])
    assert sut.items(store.all()) == [(b"b", b"2"), (b"c", b"3"), (b"d", b"4")]


def test_delete_returns_old_value(sut: Any) -> None:
    store = sut.store
    assert store.delete(b"missing") is None
    store.put(b"k", sut.wrap(b"1"))
    store.flush()
    assert sut.unwrap(store.delete(b"k")) == b"1"
    assert store.get(b"k") is None
    assert store.delete(b"k") is None


@pytest.mark.parametrize("flush_between", [False, True])
def test_range_inclusive_bounds_and_byte_order(sut: Any, flush_between: bool) -> None:
    fill(sut)
    if flush_between:
        sut.store.flush()
    store = sut.store
    assert sut.items(store.range(b"a", b"b")) == expected([b"a", b"ab", b"abc", b"b"])
    assert sut.items(store.range(b"aa", b"az")) == expected([b"ab", b"abc"])
    assert sut.items(store.range(None, b"a")) == expected([b"", b"\x00", b"a"])
    assert sut.items(store.range(b"\x80", None)) == expected([b"\x80", b"\xff", b"\xff\xff"])
    assert sut.items(store.range(None, None)) == expected(KEYS)
    assert sut.items(store.range(b"b", b"a")) == []
    assert sut.items(store.all()) == expected(KEYS)


def test_range_merges_unflushed_writes_over_stored(sut: Any) -> None:
    fill(sut)
    sut.store.flush()
    store = sut.store
    store.put(b"ab", None)
    store.put(b"aa", sut.wrap(b"v-aa"))
    store.put(b"b", sut.wrap(b"v-b"))
    assert sut.items(store.range(b"a", b"b")) == expected([b"a", b"aa", b"abc", b"b"])
    store.flush()
    assert sut.items(store.range(b"a", b"b")) == expected([b"a", b"aa", b"abc", b"b"])


def test_prefix_scan(sut: Any) -> None:
    fill(sut)
    store = sut.store
    assert sut.items(store.prefix_scan(b"a")) == expected([b"a", b"ab", b"abc"])
    assert sut.items(store.prefix_scan(b"\xff")) == expected([b"\xff", b"\xff\xff"])
    assert sut.items(store.prefix_scan(b"zz")) == []
    store.flush()
    assert sut.items(store.prefix_scan(b"ab")) == expected([b"ab", b"abc"])


def test_approximate_num_entries(sut: Any) -> None:
    store = sut.store
    fill(sut)
    store.flush()
    assert store.approximate_num_entries() == len(KEYS)
    store.delete(b"a")
    store.flush()
    assert store.approximate_num_entries() == len(KEYS) - 1


def test_many_keys_scan_in_order_across_chunks(sut: Any) -> None:
    keys = [i.to_bytes(4, "big") for i in range(0, 3000, 3)]
    for key in reversed(keys):
        sut.store.put(key, sut.wrap(key))
    sut.store.flush()
    sut.store.put((1).to_bytes(4, "big"), sut.wrap(b"x"))
    scanned = [k for k, _ in sut.store.all()]
    assert scanned == sorted([*keys, (1).to_bytes(4, "big")])


def test_close_and_reopen(sut: Any) -> None:
    fill(sut)
    sut.store.flush()
    sut.store.close()
    assert not sut.store.is_open
    sut.open()
    if sut.persistent:
        assert sut.items(sut.store.all()) == expected(KEYS)
    else:
        assert sut.items(sut.store.all()) == []


def test_registers_root_once(sut: Any) -> None:
    assert list(sut.ctx.registered) == ["s"]
    assert sut.ctx.registered["s"][0] is sut.store


OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "delete", "flush", "put_if_absent"]),
        st.binary(min_size=0, max_size=3),
        st.binary(min_size=1, max_size=3),
    ),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS, bounds=st.tuples(st.binary(max_size=2), st.binary(max_size=2)))
def test_behaves_like_a_sorted_dict(
    kind: str, make_store: Callable[[str, Path], Any], ops: list[Any], bounds: tuple[bytes, bytes]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sut = make_store(kind, Path(tmp))
        model: dict[bytes, bytes] = {}
        store = sut.store
        for op, key, value in ops:
            if op == "put":
                store.put(key, sut.wrap(value))
                model[key] = value
            elif op == "delete":
                assert sut.unwrap(store.delete(key)) == model.pop(key, None)
            elif op == "put_if_absent":
                assert sut.unwrap(store.put_if_absent(key, sut.wrap(value))) == model.get(key)
                model.setdefault(key, value)
            else:
                store.flush()
        lo, hi = min(bounds), max(bounds)
        assert sut.items(store.all()) == sorted(model.items())
        assert sut.items(store.range(lo, hi)) == sorted(
            (k, v) for k, v in model.items() if lo <= k <= hi
        )
        for key in {k for _, k, _ in ops}:
            assert sut.unwrap(store.get(key)) == model.get(key)
        store.close()


def _bottom(store: Any) -> Any:
    while hasattr(store, "inner"):
        store = store.inner
    return store


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_changelog_replays_to_the_same_state(
    logging_kind: str, make_store: Callable[[str, Path], Any], ops: list[Any]
) -> None:
    from kstreamy.state.memory import InMemoryKeyValueStore
    from kstreamy.state.testing import FakeStoreContext

    with tempfile.TemporaryDirectory() as tmp:
        sut = make_store(logging_kind, Path(tmp))
        for op, key, value in ops:
            if op in ("put", "put_if_absent"):
                getattr(sut.store, op)(key, sut.wrap(value))
            elif op == "delete":
                sut.store.delete(key)
            else:
                sut.store.flush()
        sut.store.flush()
        replica = InMemoryKeyValueStore("s")
        ctx = FakeStoreContext()
        replica.init(ctx, replica)
        ctx.restore("s", sut.ctx.changelog_of("s"))
        assert list(replica.all()) == list(_bottom(sut.store).all())
        sut.store.close()
