"""The concrete stores satisfy the protocols of kstreamy.state.api (mypy and runtime checks)."""

from __future__ import annotations

from typing import Any

import kstreamy.state as state
from kstreamy.state.api import (
    CachedStateStore,
    KeyValueStore,
    ReadOnlyKeyValueStore,
    StateStore,
    StoreBuilder,
)
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.query import ReadOnlyKeyValueStoreView
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext
from kstreamy.state.typed import MeteredKeyValueStore


def test_static_and_runtime_protocol_conformance() -> None:
    builder: StoreBuilder = Stores.key_value("s")
    assert isinstance(builder.build(), StateStore)
    typed: KeyValueStore[Any, Any] = Stores.key_value("s").build()
    cached: CachedStateStore = Stores.timestamped_key_value("t").build()
    memory: KeyValueStore[bytes, bytes] = InMemoryKeyValueStore("m")
    lmdb_store: KeyValueStore[bytes, bytes] = LmdbKeyValueStore("l")
    view: ReadOnlyKeyValueStore[Any, Any] = ReadOnlyKeyValueStoreView(
        MeteredKeyValueStore[Any, Any]("v")
    )
    for store in (typed, cached, memory, lmdb_store):
        assert isinstance(store, StateStore)
    assert view.name == "v"  # type: ignore[attr-defined]
    assert FakeStoreContext().changelog_topic("s") == "app-s-changelog"


def test_public_names() -> None:
    assert state.__all__ == sorted(state.__all__)
    assert {"Stores", "ThreadCache", "ReadOnlyKeyValueStoreView", "ValueAndTimestamp"} <= set(
        state.__all__
    )
