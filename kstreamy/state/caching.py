"""The caching layer: write-back over the worker's `ThreadCache`, flushed on commit.

Like Kafka's CachingKeyValueStore: writes go to the cache (deduplicated by key); on flush or
eviction each dirty entry is written to the layer below with the record context of its write and
handed to the flush listener as (key, new, old, context). The old value is read from below only
when old values are wanted, or to skip deleting a key that never existed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from kstreamy.state.api import RecordFields, StateStore, StoreContext
from kstreamy.state.base import BytesItems, BytesStore, fallback_record_context, prefix_successor
from kstreamy.state.cache import DirtyEntry, NamedCache, ThreadCache
from kstreamy.state.logging_layer import flush_target

BytesFlushListener = Callable[[bytes, bytes | None, bytes | None, RecordFields], None]


def _not_initialized(*args: Any) -> Any:
    raise ValueError("caching store used before init")


class CachingKeyValueStore:
    """Caches reads and writes of `inner` in the worker's thread cache."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._context: StoreContext | None = None
        self._cache: ThreadCache | None = None
        self._named: NamedCache | None = None
        self._namespace = ""
        self._listener: BytesFlushListener | None = None
        self._send_old_values = False
        # bound at init: the hot operations without attribute chains
        self._cache_put: Callable[..., None] = _not_initialized
        self._record_context: Callable[[], RecordFields | None] = _not_initialized
        self._flush_below: Callable[[], None] | None = None

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def persistent(self) -> bool:
        return bool(self.inner.persistent)

    @property
    def is_open(self) -> bool:
        return bool(self.inner.is_open)

    @property
    def bytes_store(self) -> BytesStore:
        store: BytesStore = getattr(self.inner, "bytes_store", self.inner)
        return store

    def init(self, context: StoreContext, root: StateStore) -> None:
        cache = context.thread_cache()
        if cache is None:
            raise ValueError(f"store '{self.name}': caching layer needs the task's thread cache")
        self._context = context
        self._cache = cache
        self._namespace = f"{context.task_id}-{self.name}"
        self._named = cache.namespace(self._namespace, self._apply_flushed)
        self._cache_put = cache.put
        # a Task gives the record's context as a plain tuple (`record_fields`): cheaper per put
        self._record_context = getattr(context, "record_fields", context.record_context)
        self.inner.init(context, root)
        self._flush_below = flush_target(self.inner)

    def set_flush_listener(self, listener: BytesFlushListener, send_old_values: bool) -> bool:
        self._listener = listener
        self._send_old_values = send_old_values
        return True

    # --- flush path -------------------------------------------------------------------------
    def _apply_flushed(self, entries: list[DirtyEntry]) -> None:
        put = self.inner.put_with_context
        listener = self._listener
        if listener is None:
            for key, value, rc in entries:
                put(key, value, rc)
            return
        get = self.inner.get
        send_old = self._send_old_values
        for key, value, rc in entries:
            if value is None:
                old = get(key)
                if old is None:
                    continue  # deleting a key that never reached the store: nothing to emit
            else:
                old = get(key) if send_old else None
            put(key, value, rc)
            listener(key, value, old if send_old else None, rc or fallback_record_context())

    def flush(self) -> None:
        named = self._named
        assert named is not None and self._cache is not None
        if named.dirty:
            self._cache.flush_named(named, None)
        flush_below = self._flush_below
        if flush_below is not None:
            flush_below()

    def flush_cache(self) -> None:
        """Emit the cache's dirty entries without committing the layers below."""
        assert self._cache is not None
        self._cache.flush(self._namespace)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close(self._namespace)
        self.inner.close()

    # --- key-value operations -----------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        named: Any = self._named
        lru = named.lru
        entry = lru.get(key)
        if entry is not None:
            lru.move_to_end(key)
            return entry[0]  # type: ignore[no-any-return]
        value: bytes | None = self.inner.get(key)
        if value is not None:
            assert self._cache is not None
            self._cache.put_clean(named, key, value)
        return value

    def put(self, key: bytes, value: bytes | None) -> None:
        self._cache_put(self._named, key, value, self._record_context())

    def put_with_context(self, key: bytes, value: bytes | None, rc: RecordFields | None) -> None:
        self._cache_put(self._named, key, value, rc)

    def put_if_absent(self, key: bytes, value: bytes) -> bytes | None:
        old = self.get(key)
        if old is None:
            self.put(key, value)
        return old

    def put_all(self, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        for key, value in entries:
            self.put(key, value)

    def delete(self, key: bytes) -> bytes | None:
        old = self.get(key)
        self.put(key, None)
        return old

    def _scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        """Merge the cache's entries in range (they win) with the store's, in key order."""
        assert self._named is not None
        cached = sorted(
            (k, e[0])
            for k, e in self._named.lru.items()
            if (lo is None or k >= lo) and (hi is None or k < hi or (hi_inclusive and k == hi))
        )
        below: BytesItems = self.inner.range(lo, hi)
        if hi is not None and not hi_inclusive:
            below = (kv for kv in below if kv[0] != hi)
        return _merge(cached, below)

    def range(self, from_key: bytes | None, to_key: bytes | None) -> BytesItems:
        if from_key is not None and to_key is not None and from_key > to_key:
            return iter(())
        return self._scan(from_key, to_key, True)

    def all(self) -> BytesItems:
        return self._scan(None, None, True)

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> BytesItems:
        prefix_bytes = bytes(prefix)
        return self._scan(prefix_bytes, prefix_successor(prefix_bytes), False)

    def approximate_num_entries(self) -> int:
        return int(self.inner.approximate_num_entries())


def _merge(cached: list[tuple[bytes, bytes | None]], below: BytesItems) -> BytesItems:
    """Both inputs sorted by key; cached values (None: deleted) override the store's."""
    tagged_cache = ((k, 0, v) for k, v in cached)
    tagged_below = ((k, 1, v) for k, v in below)
    last: bytes | None = None
    for key, _, value in heapq.merge(tagged_cache, tagged_below):
        if key == last:
            continue
        last = key
        if value is not None:
            yield key, value
