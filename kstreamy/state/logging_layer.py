"""The change-logging layer: every write reaching it is also sent to the store's changelog topic.

The changelog is `<application.id>-<store>-changelog` (named by the task), compacted by default,
written through the task's producer so exactly-once covers it. Writes flushed from a cache carry
the record context of the write that made them (`put_with_context`); direct writes use the
context of the record being processed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kstreamy.state.api import RecordContext, RecordFields, StateStore, StoreContext
from kstreamy.state.base import BytesItems, BytesStore, fallback_record_context

DEFAULT_CHANGELOG_CONFIG: dict[str, str] = {"cleanup.policy": "compact"}


def flush_target(layer: Any) -> Callable[[], None] | None:
    """What flushing `layer` really calls: the change-logging layer only delegates, and the
    base bytes store's flush does nothing (None: skip the call on every commit)."""
    while isinstance(layer, ChangeLoggingKeyValueStore):
        layer = layer.inner
    flush = getattr(type(layer), "flush", None)
    if flush is BytesStore.flush:
        return None
    bound: Callable[[], None] = layer.flush
    return bound


class ChangeLoggingKeyValueStore:
    """Delegates to `inner` and logs each put/delete to the changelog."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._context: StoreContext | None = None
        self._store_name: str = inner.name

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def persistent(self) -> bool:
        return bool(self.inner.persistent)

    @property
    def is_open(self) -> bool:
        return bool(self.inner.is_open)

    def init(self, context: StoreContext, root: StateStore) -> None:
        self._context = context
        self._store_name = self.inner.name
        self.inner.init(context, root)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()

    def _log(self, key: bytes, value: bytes | None, rc: RecordContext | None) -> None:
        context = self._context
        assert context is not None, "store not initialized"
        if rc is None:
            rc = context.record_context() or fallback_record_context()
        context.log_change(self._store_name, key, value, rc.timestamp, rc.headers)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.inner.get(key)
        return value

    def put(self, key: bytes, value: bytes | None) -> None:
        self.inner.put(key, value)
        self._log(key, value, None)

    def put_with_context(self, key: bytes, value: bytes | None, rc: RecordFields | None) -> None:
        self.inner.put(key, value)
        if rc is None:
            self._log(key, value, None)
        else:  # the cache's flush path: log directly
            self._context.log_change(  # type: ignore[union-attr]
                self._store_name, key, value, rc[0], rc[1]
            )

    def put_if_absent(self, key: bytes, value: bytes) -> bytes | None:
        old: bytes | None = self.inner.put_if_absent(key, value)
        if old is None:
            self._log(key, value, None)
        return old

    def put_all(self, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        for key, value in entries:
            self.put(key, value)

    def delete(self, key: bytes) -> bytes | None:
        old: bytes | None = self.inner.delete(key)
        self._log(key, None, None)
        return old

    def range(self, from_key: bytes | None, to_key: bytes | None) -> BytesItems:
        items: BytesItems = self.inner.range(from_key, to_key)
        return items

    def all(self) -> BytesItems:
        items: BytesItems = self.inner.all()
        return items

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> BytesItems:
        items: BytesItems = self.inner.prefix_scan(prefix, prefix_serde)
        return items

    def approximate_num_entries(self) -> int:
        return int(self.inner.approximate_num_entries())

    @property
    def bytes_store(self) -> BytesStore:
        store: BytesStore = getattr(self.inner, "bytes_store", self.inner)
        return store
