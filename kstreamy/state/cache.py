"""The worker's record cache (Kafka's ThreadCache/NamedCache): a byte budget shared by every
cached store of every task of one worker, one namespace per store per task.

- A write replaces the key's entry (deduplication) and marks it dirty; dirty keys flush in the
  order they were last dirtied.
- When the total size passes the budget, the least recently used entries of the namespace being
  written are evicted; evicting a dirty entry first flushes every dirty entry of that namespace
  (the evicted one first) to the namespace's listener, which writes them down and forwards them.
- `flush(namespace)` on commit sends every dirty entry to the listener; deleted (None) entries are
  dropped from the cache afterwards.
- Entry size = key + value + `ENTRY_OVERHEAD` bytes (the bookkeeping cost per entry).

Not thread-safe: one worker thread owns it (interactive queries read below the cache).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from kstreamy.state.api import RecordFields

ENTRY_OVERHEAD = 64

# (value or None for a delete, context of the write, accounted size)
CacheEntry = tuple[bytes | None, RecordFields | None, int]
DirtyEntry = tuple[bytes, bytes | None, RecordFields | None]
NamespaceListener = Callable[[list[DirtyEntry]], None]


class NamedCache:
    """One namespace: LRU order of entries and the last-dirtied order of dirty keys."""

    __slots__ = ("dirty", "listener", "lru", "name", "size")

    def __init__(self, name: str, listener: NamespaceListener) -> None:
        self.name = name
        self.listener = listener
        self.lru: OrderedDict[bytes, CacheEntry] = OrderedDict()
        self.dirty: dict[bytes, None] = {}
        self.size = 0

    def __len__(self) -> int:
        return len(self.lru)


class ThreadCache:
    """A byte-bounded cache shared by the stores of one worker; `max_bytes == 0` disables it."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"statestore.cache.max.bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.size = 0
        self._caches: dict[str, NamedCache] = {}
        self.evictions = 0
        self.flushes = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def namespace(self, name: str, listener: NamespaceListener) -> NamedCache:
        """Create (or re-bind) the namespace `name` and its flush listener."""
        cache = self._caches.get(name)
        if cache is None:
            cache = self._caches[name] = NamedCache(name, listener)
        else:
            cache.listener = listener
        return cache

    def namespaces(self) -> list[str]:
        return list(self._caches)

    def get(self, cache: NamedCache, key: bytes) -> CacheEntry | None:
        """The entry for `key` (value None: deleted), touching it in LRU order; None: a miss."""
        entry = cache.lru.get(key)
        if entry is not None:
            cache.lru.move_to_end(key)
        return entry

    def put(
        self, cache: NamedCache, key: bytes, value: bytes | None, rc: RecordFields | None
    ) -> None:
        """A dirty write: deduplicated by key, flushed later in last-dirtied order."""
        lru = cache.lru
        old = lru.pop(key, None)
        size = (
            len(key) + ENTRY_OVERHEAD if value is None else len(key) + len(value) + ENTRY_OVERHEAD
        )
        lru[key] = (value, rc, size)
        if old is not None:
            size -= old[2]
        cache.size += size
        total = self.size + size
        self.size = total
        dirty = cache.dirty
        dirty.pop(key, None)  # re-inserted: last-dirtied order
        dirty[key] = None
        if total > self.max_bytes:
            self._maybe_evict(cache)

    def put_clean(self, cache: NamedCache, key: bytes, value: bytes) -> None:
        """Cache a value read from below (a clean entry: never flushed)."""
        if key in cache.lru:
            return
        size = len(key) + len(value) + ENTRY_OVERHEAD
        cache.lru[key] = (value, None, size)
        cache.size += size
        self.size += size
        if self.size > self.max_bytes:
            self._maybe_evict(cache)

    def _maybe_evict(self, cache: NamedCache) -> None:
        # Only the namespace being written is evicted from: a put here may have triggered puts
        # in other namespaces (through forwarding) that are over budget too; they evict on
        # their own next write.
        while self.size > self.max_bytes and cache.lru:
            key, entry = cache.lru.popitem(last=False)
            cache.size -= entry[2]
            self.size -= entry[2]
            self.evictions += 1
            if key in cache.dirty:
                del cache.dirty[key]
                self.flush_named(cache, (key, entry[0], entry[1]))

    def flush(self, name: str) -> None:
        """Send every dirty entry of namespace `name` to its listener (on commit)."""
        cache = self._caches.get(name)
        if cache is not None and cache.dirty:
            self.flush_named(cache, None)

    def flush_named(self, cache: NamedCache, evicted: DirtyEntry | None = None) -> None:
        """Send the dirty entries of `cache` (after `evicted`, if given) to its listener.

        The caching store calls it directly on commit when the namespace has dirty entries.
        """
        self.flushes += 1
        entries: list[DirtyEntry] = []
        if evicted is not None:
            entries.append(evicted)
        lru = cache.lru
        deleted: list[bytes] = []
        for key in cache.dirty:
            value, rc, _ = lru[key]
            entries.append((key, value, rc))
            if value is None:
                deleted.append(key)
        # Cleared before the listener runs: forwarding may write to this namespace again.
        cache.dirty = {}
        cache.listener(entries)
        for key in deleted:
            if key not in cache.dirty:
                entry = lru.pop(key, None)
                if entry is not None:
                    cache.size -= entry[2]
                    self.size -= entry[2]

    def clear(self, name: str) -> None:
        """Drop every entry of `name` without flushing (a dirty close)."""
        cache = self._caches.get(name)
        if cache is not None:
            self.size -= cache.size
            cache.size = 0
            cache.lru.clear()
            cache.dirty = {}

    def close(self, name: str) -> None:
        """Drop the namespace `name` (its store closed); dirty entries are discarded."""
        self.clear(name)
        self._caches.pop(name, None)

    def namespace_size(self, name: str) -> int:
        cache = self._caches.get(name)
        return 0 if cache is None else len(cache.lru)
