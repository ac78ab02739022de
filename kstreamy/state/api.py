"""Store protocols shared by every store layer, the tasks that own stores, and the DSL.

Layering (outermost first): typed/metered (serdes) -> caching -> change-logging -> bytes store
(LMDB or in-memory). Each layer implements `KeyValueStore` and delegates to the one inside it;
only the typed layer knows Python types, all layers below it see `bytes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, runtime_checkable

from kstreamy.processor import Headers, TaskId

K = TypeVar("K")
V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


class ValueAndTimestamp(NamedTuple, Generic[V]):
    """A table value with the timestamp of the record that produced it (Kafka's layout on disk:
    8-byte big-endian timestamp, then the value bytes)."""

    value: V
    timestamp: int


class RecordContext(NamedTuple):
    """The context of the record being processed, kept with cached entries so that a later flush
    forwards them with their own timestamp, headers and origin."""

    timestamp: int
    headers: Headers
    topic: str | None
    partition: int
    offset: int


RecordFields = tuple[int, Headers, str | None, int, int]
"""A RecordContext's fields as a plain tuple, read by index (0 timestamp, 1 headers, 2 topic,
3 partition, 4 offset): what the cache keeps per write, since a NamedTuple costs about a
microsecond to build and free. Every RecordContext is one."""


RestoreCallback = Callable[[list[tuple[bytes, bytes | None]]], None]
"""Applies one batch of changelog records (key, value-or-None) straight to the bytes store."""


class StoreContext(Protocol):
    """What a task offers the stores it owns (implemented by the task, in both drivers)."""

    @property
    def application_id(self) -> str: ...

    @property
    def task_id(self) -> TaskId: ...

    @property
    def app_config(self) -> Mapping[str, Any]: ...

    @property
    def state_dir(self) -> Path | None:
        """This task's directory, `<state.dir>/<application.id>/<task-id>/`; None: memory only."""

    def register(self, store: StateStore, restore: RestoreCallback) -> None:
        """Register a store (and how to restore its changelog) with the task."""

    def changelog_topic(self, store_name: str) -> str:
        """`<application.id>-<store>-changelog`."""

    @property
    def changelog_partition(self) -> int: ...

    def log_change(
        self,
        store_name: str,
        key: bytes,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
    ) -> None:
        """Write one change to the store's changelog through the task's producer."""

    def record_context(self) -> RecordContext | None:
        """The record being processed, or None outside processing (punctuation, flush)."""

    def thread_cache(self) -> Any:
        """The worker's shared record cache (`statestore.cache.max.bytes`), or None if disabled."""


@runtime_checkable
class StateStore(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def persistent(self) -> bool: ...

    def init(self, context: StoreContext, root: StateStore) -> None:
        """Open the store for a task; `root` is the outermost layer, the one registered."""

    def flush(self) -> None:
        """Make every write durable downstream (caches emit, LMDB commits its transaction)."""

    def close(self) -> None: ...

    @property
    def is_open(self) -> bool: ...


class ReadOnlyKeyValueStore(Protocol[K, V_co]):
    """What interactive queries see; safe to call from other threads while processing runs."""

    def get(self, key: K) -> V_co | None: ...

    def range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V_co]]:
        """Entries with from_key <= key <= to_key (by serialized bytes), in key order; None: open"""

    def all(self) -> Iterator[tuple[K, V_co]]: ...

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V_co]]: ...

    def approximate_num_entries(self) -> int: ...


class KeyValueStore(StateStore, ReadOnlyKeyValueStore[K, V], Protocol[K, V]):
    """A read/write key-value store; `put(k, None)` deletes, like Kafka."""

    def put(self, key: K, value: V | None) -> None: ...

    def put_if_absent(self, key: K, value: V) -> V | None: ...

    def put_all(self, entries: Iterable[tuple[K, V | None]]) -> None: ...

    def delete(self, key: K) -> V | None: ...


BytesKeyValueStore = KeyValueStore[bytes, bytes]

FlushListener = Callable[[Any, Any, Any, RecordContext], None]
"""Called by a caching layer for each flushed/evicted entry: (key, new, old, record_context),
new/old as the typed layer's values (ValueAndTimestamp for timestamped stores)."""


class CachedStateStore(Protocol):
    def set_flush_listener(self, listener: FlushListener, send_old_values: bool) -> bool:
        """Install the listener; returns True when caching is enabled for this store (the caller
        then forwards on flush instead of on every write, as Kafka's TimestampedTupleForwarder)."""


class StoreBuilder(Protocol):
    """Builds one fresh, unopened store stack per task (what `Stores.*` returns)."""

    @property
    def name(self) -> str: ...

    @property
    def logging_enabled(self) -> bool: ...

    @property
    def logging_config(self) -> Mapping[str, str]: ...

    def with_logging_disabled(self) -> StoreBuilder: ...

    def with_caching_disabled(self) -> StoreBuilder: ...

    def build(self) -> StateStore: ...
