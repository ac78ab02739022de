"""The typed (metered) layer: serdes and simple metrics over the bytes layers.

It is the outermost layer, the one registered with the task. The inner stack is assembled at
`init`, when the task context says whether a thread cache and a state directory exist:
caching (if enabled and the worker has a cache) -> change-logging (if enabled) -> LMDB (if
persistent and the task has a state directory) or in-memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from kstreamy.errors import InvalidStateStoreError
from kstreamy.serdes import Serde
from kstreamy.state.api import FlushListener, RecordContext, StateStore, StoreContext
from kstreamy.state.base import BytesItems, BytesStore, closed_error, prefix_successor
from kstreamy.state.caching import CachingKeyValueStore
from kstreamy.state.logging_layer import ChangeLoggingKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.serde_util import TimestampedSerde, resolve_serde

K = TypeVar("K")
V = TypeVar("V")

_now_ns = time.perf_counter_ns


class _NotOpen:
    """Stands in for the inner layers before `init` and after `close`: every use raises."""

    is_open = False

    def __init__(self, name: str) -> None:
        self._store_name = name

    def __getattr__(self, attribute: str) -> Any:
        raise closed_error(self._store_name)


class StoreMetrics:
    """Counts and summed latencies (ns) of the typed operations of one store."""

    __slots__ = ("get_count", "get_ns", "put_count", "put_ns")

    def __init__(self) -> None:
        self.get_count = 0
        self.get_ns = 0
        self.put_count = 0
        self.put_ns = 0

    def as_dict(self) -> dict[str, int]:
        return {s: getattr(self, s) for s in self.__slots__}


class MeteredKeyValueStore(Generic[K, V]):
    """`KeyValueStore[K, V]` over bytes layers; `timestamped` stores hold `ValueAndTimestamp`."""

    def __init__(
        self,
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        persistent: bool = True,
        logging: bool = True,
        caching: bool = True,
        timestamped: bool = False,
        logging_config: Mapping[str, str] | None = None,
    ) -> None:
        self._name = name
        self._key_serde_cfg = key_serde
        self._value_serde_cfg = value_serde
        self._persistent = persistent
        self._logging = logging
        self._caching = caching
        self.timestamped = timestamped
        self.logging_config = dict(logging_config or {})
        self.metrics = StoreMetrics()
        self.inner: Any = _NotOpen(name)

        def not_open(topic: str, obj: Any) -> Any:
            raise closed_error(name)

        self._kser: Any = not_open
        self._kde: Any = not_open
        self._vser: Any = not_open
        self._vde: Any = not_open
        self.bytes_store: BytesStore | None = None
        self.key_serde: Serde | None = None
        self.value_serde: Serde | None = None
        self._topic = name
        self._flush_listener: tuple[FlushListener, bool] | None = None
        self._context: StoreContext | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def persistent(self) -> bool:
        if self.bytes_store is not None:
            return self.bytes_store.persistent
        return self._persistent

    @property
    def is_open(self) -> bool:
        return bool(self.inner.is_open)

    @property
    def fresh(self) -> bool:
        """True when the store opened without existing local data: restore it from the start
        of its changelog, whatever a checkpoint says."""
        return self.bytes_store is None or self.bytes_store.fresh

    @property
    def caching_enabled(self) -> bool:
        return isinstance(self.inner, CachingKeyValueStore)

    @property
    def logging_enabled(self) -> bool:
        return self._logging

    def _assemble(self, context: StoreContext) -> Any:
        bytes_store: BytesStore
        if self._persistent and context.state_dir is not None:
            from kstreamy.state.lmdb_store import LmdbKeyValueStore

            bytes_store = LmdbKeyValueStore(self._name)
        else:
            bytes_store = InMemoryKeyValueStore(self._name)
        self.bytes_store = bytes_store
        layer: Any = bytes_store
        if self._logging:
            layer = ChangeLoggingKeyValueStore(layer)
        cache = context.thread_cache()
        if self._caching and cache is not None and getattr(cache, "max_bytes", 1) > 0:
            layer = CachingKeyValueStore(layer)
        return layer

    def init(self, context: StoreContext, root: StateStore) -> None:
        if self.is_open:
            raise InvalidStateStoreError(f"State store '{self._name}' is already open")
        self._context = context
        self._topic = context.changelog_topic(self._name)
        config = context.app_config
        self.key_serde = resolve_serde(self._key_serde_cfg, config.get("default.key.serde"))
        value_serde = resolve_serde(self._value_serde_cfg, config.get("default.value.serde"))
        self.value_serde = TimestampedSerde(value_serde) if self.timestamped else value_serde
        self._kser = self.key_serde.serialize
        self._kde = self.key_serde.deserialize
        self._vser = self.value_serde.serialize
        self._vde = self.value_serde.deserialize
        self.inner = self._assemble(context)
        self.inner.init(context, root)
        if self._flush_listener is not None:
            self.set_flush_listener(*self._flush_listener)

    def flush(self) -> None:
        if self.inner.is_open:
            self.inner.flush()

    def close(self) -> None:
        """Close every layer; unflushed cache entries and LMDB writes are dropped (a clean
        shutdown flushes first, as the task's commit does)."""
        inner = self.inner
        if inner.is_open:
            self.inner = _NotOpen(self._name)
            inner.close()

    def set_flush_listener(self, listener: FlushListener, send_old_values: bool) -> bool:
        """Forward flushed cache entries as typed values; False when this store has no cache.

        Call it after `init` (as Kafka's processors do); before `init` the listener is kept and
        installed at `init`, and the answer is only whether caching was requested.
        """
        self._flush_listener = (listener, send_old_values)
        if not self.inner.is_open:
            return self._caching
        if not isinstance(self.inner, CachingKeyValueStore):
            return False
        kde, vde, topic = self._kde, self._vde, self._topic

        def typed_listener(
            key: bytes, new: bytes | None, old: bytes | None, rc: RecordContext
        ) -> None:
            listener(
                kde(topic, key),
                None if new is None else vde(topic, new),
                None if old is None else vde(topic, old),
                rc,
            )

        return self.inner.set_flush_listener(typed_listener, send_old_values)

    # --- key-value operations -----------------------------------------------------------------
    def _key(self, key: K) -> bytes:
        if key is None:
            raise ValueError(f"State store '{self._name}': the key must not be None")
        data = self._kser(self._topic, key)
        if data is None:
            raise ValueError(f"State store '{self._name}': key {key!r} serialized to None")
        return bytes(data)

    def get(self, key: K) -> V | None:
        start = _now_ns()
        kb = None if key is None else self._kser(self._topic, key)
        if kb.__class__ is not bytes:
            kb = self._key(key)  # None keys, odd serde results: the checked path
        raw = self.inner.get(kb)
        value: V | None = None if raw is None else self._vde(self._topic, raw)
        metrics = self.metrics
        metrics.get_count += 1
        metrics.get_ns += _now_ns() - start
        return value

    def put(self, key: K, value: V | None) -> None:
        start = _now_ns()
        kb = None if key is None else self._kser(self._topic, key)
        if kb.__class__ is not bytes:
            kb = self._key(key)
        self.inner.put(kb, None if value is None else self._vser(self._topic, value))
        metrics = self.metrics
        metrics.put_count += 1
        metrics.put_ns += _now_ns() - start

    def put_if_absent(self, key: K, value: V) -> V | None:
        start = _now_ns()
        old = self.inner.put_if_absent(self._key(key), self._vser(self._topic, value))
        self.metrics.put_count += 1
        self.metrics.put_ns += _now_ns() - start
        return None if old is None else self._vde(self._topic, old)

    def put_all(self, entries: Iterable[tuple[K, V | None]]) -> None:
        for key, value in entries:
            self.put(key, value)

    def delete(self, key: K) -> V | None:
        start = _now_ns()
        old = self.inner.delete(self._key(key))
        self.metrics.put_count += 1
        self.metrics.put_ns += _now_ns() - start
        return None if old is None else self._vde(self._topic, old)

    def _typed(self, items: BytesItems) -> Iterator[tuple[K, V]]:
        kde, vde, topic = self._kde, self._vde, self._topic
        for key, value in items:
            yield kde(topic, key), vde(topic, value)

    def _bound(self, key: K | None) -> bytes | None:
        return None if key is None else self._key(key)

    def range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.range(self._bound(from_key), self._bound(to_key)))

    def all(self) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.all())

    def _prefix_bytes(self, prefix: Any, prefix_serde: Any) -> bytes:
        serde = prefix_serde if prefix_serde is not None else self.key_serde
        assert serde is not None
        data = serde.serialize(self._topic, prefix)
        return b"" if data is None else bytes(data)

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.prefix_scan(self._prefix_bytes(prefix, prefix_serde)))

    def approximate_num_entries(self) -> int:
        return int(self.inner.approximate_num_entries())

    # --- thread-safe reads (interactive queries: below the cache) ------------------------------
    def _queryable(self) -> BytesStore:
        store = self.bytes_store
        if store is None or not store.is_open:
            raise closed_error(self._name)
        return store

    def query_get(self, key: K) -> V | None:
        raw = self._queryable().query_get(self._key(key))
        return None if raw is None else self._vde(self._topic, raw)

    def query_range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V]]:
        lo, hi = self._bound(from_key), self._bound(to_key)
        if lo is not None and hi is not None and lo > hi:
            return iter(())
        return self._typed(self._queryable().query_scan(lo, hi, True))

    def query_all(self) -> Iterator[tuple[K, V]]:
        return self._typed(self._queryable().query_scan(None, None, True))

    def query_prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V]]:
        lo = self._prefix_bytes(prefix, prefix_serde)
        return self._typed(self._queryable().query_scan(lo, prefix_successor(lo), False))

    def query_count(self) -> int:
        return self._queryable().query_count()
