"""State stores: protocols, LMDB and in-memory bytes stores, caching, change-logging and typed
layers, checkpoints, state directories and changelog restoration."""

from kstreamy.state.api import (
    BytesKeyValueStore,
    CachedStateStore,
    FlushListener,
    KeyValueStore,
    ReadOnlyKeyValueStore,
    RecordContext,
    RestoreCallback,
    StateStore,
    StoreBuilder,
    StoreContext,
    ValueAndTimestamp,
)
from kstreamy.state.cache import ThreadCache
from kstreamy.state.query import ReadOnlyKeyValueStoreView
from kstreamy.state.stores import KeyValueStoreBuilder, Stores
from kstreamy.state.typed import MeteredKeyValueStore

__all__ = [
    "BytesKeyValueStore",
    "CachedStateStore",
    "FlushListener",
    "KeyValueStore",
    "KeyValueStoreBuilder",
    "MeteredKeyValueStore",
    "ReadOnlyKeyValueStore",
    "ReadOnlyKeyValueStoreView",
    "RecordContext",
    "RestoreCallback",
    "StateStore",
    "StoreBuilder",
    "StoreContext",
    "Stores",
    "ThreadCache",
    "ValueAndTimestamp",
]
