"""The in-memory bytes store: a dict plus a lazily rebuilt sorted key list for range scans.

Reads from other threads (interactive queries) are safe while the task writes: structural changes
(a new key, a removed key) take a short lock, readers copy the key set under that lock and sort it
outside, then read values one by one (a deleted key is skipped). Queries see the latest writes
that reached this store (with caching on: as of the last cache flush/commit).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from itertools import islice

from kstreamy.state.api import StoreContext
from kstreamy.state.base import BytesItems, BytesStore


class InMemoryKeyValueStore(BytesStore):
    """A non-persistent bytes key-value store, restored from its changelog on every start."""

    persistent_store = False
    counts_generations = True  # see BytesStore.generation

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._data: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._sorted: list[bytes] | None = []

    def _open(self, context: StoreContext) -> None:
        return None

    def _close(self) -> None:
        with self._lock:
            self._data = {}
            self._sorted = []
            self._version += 1
        self.generation += 1

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes | None) -> None:
        data = self._data
        if value is None:
            if key in data:
                with self._lock:
                    data.pop(key, None)
                    self._version += 1
                    self._sorted = None
        elif key in data:
            data[key] = value  # same size: concurrent key copies stay valid
        else:
            with self._lock:
                data[key] = value
                self._version += 1
                self._sorted = None

    def delete(self, key: bytes) -> bytes | None:
        old = self._data.get(key)
        if old is not None:
            self.put(key, None)
        return old

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        put = self.put
        for key, value in batch:
            put(key, value)
        self.generation += 1

    def approximate_num_entries(self) -> int:
        return len(self._data)

    def _sorted_keys(self) -> list[bytes]:
        keys = self._sorted
        if keys is not None:
            return keys
        with self._lock:
            version = self._version
            keys = list(self._data)
        keys.sort()
        with self._lock:
            if self._version == version:
                self._sorted = keys
        return keys

    def _scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        keys = self._sorted_keys()
        start = 0 if lo is None else bisect_left(keys, lo)
        if hi is None:
            stop = len(keys)
        elif hi_inclusive:
            stop = bisect_right(keys, hi)
        else:
            stop = bisect_left(keys, hi)
        return self._values(islice(keys, start, stop))

    def _values(self, keys: islice[bytes]) -> BytesItems:
        data = self._data
        for key in keys:
            value = data.get(key)
            if value is not None:
                yield key, value
