"""Read-only views of stores for interactive queries from other threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from kstreamy.state.typed import MeteredKeyValueStore

K = TypeVar("K")
V = TypeVar("V")


class ReadOnlyKeyValueStoreView(Generic[K, V]):
    """A read-only facade over a typed store, safe to use from any thread while the task runs.

    Reads go below the cache: an LMDB store shows its last committed batch (as of the last
    commit), an in-memory store the latest writes that reached it (with caching: as of the last
    cache flush). Ranges are materialized in small chunks, so they never block processing for
    long. A closed (migrated) store raises `InvalidStateStoreError`.
    """

    __slots__ = ("_store",)

    def __init__(self, store: MeteredKeyValueStore[K, V]) -> None:
        self._store = store

    @property
    def name(self) -> str:
        return self._store.name

    def get(self, key: K) -> V | None:
        return self._store.query_get(key)

    def range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V]]:
        return self._store.query_range(from_key, to_key)

    def all(self) -> Iterator[tuple[K, V]]:
        return self._store.query_all()

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V]]:
        return self._store.query_prefix_scan(prefix, prefix_serde)

    def approximate_num_entries(self) -> int:
        return self._store.query_count()
