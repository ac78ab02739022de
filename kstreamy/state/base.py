"""Shared pieces of the bytes-level key-value stores and layers (no Python types below the top)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from kstreamy.errors import InvalidStateStoreError
from kstreamy.state.api import RecordContext, RecordFields, StateStore, StoreContext

BytesItems = Iterator[tuple[bytes, bytes]]


def prefix_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `prefix` (None: none)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def fallback_record_context() -> RecordContext:
    """The context used for writes outside record processing (punctuation with no record)."""
    return RecordContext(int(time.time() * 1000), (), None, -1, -1)


def closed_error(name: str) -> InvalidStateStoreError:
    return InvalidStateStoreError(
        f"State store '{name}' is not open (closed, or its task moved to another worker); "
        "retry the query once the application is RUNNING again."
    )


class BytesStore:
    """Common behaviour of the bytes stores: lifecycle, composite writes built on get/put.

    Subclasses implement `get`, `put`, `_scan`, `approximate_num_entries`, `_open`, `_close`,
    `restore_batch` and the thread-safe `query_*` reads used by interactive queries.
    """

    persistent_store = False

    def __init__(self, name: str) -> None:
        self._name = name
        self._is_open = False
        self.context: StoreContext | None = None
        # True when `init` found no existing data (a checkpoint for it must not be trusted).
        self.fresh = True
        # Bumped when the contents change other than by `put`/`delete` (a restore, a reopen) in
        # the stores that maintain it (`counts_generations`): the typed layer's read memo
        # forgets a key when it writes it, and everything when the generation moves.
        self.generation = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def persistent(self) -> bool:
        return self.persistent_store

    @property
    def is_open(self) -> bool:
        return self._is_open

    def init(self, context: StoreContext, root: StateStore) -> None:
        self.context = context
        self._open(context)
        self._is_open = True
        context.register(root, self.restore_batch)

    def close(self) -> None:
        if self._is_open:
            self._is_open = False
            self._close()

    def flush(self) -> None:
        return None

    def sync(self) -> None:
        """Make what `flush` wrote durable (before a checkpoint names it); a no-op for stores
        that flush durably or keep nothing on disk."""
        return None

    def _open(self, context: StoreContext) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # --- writes ---------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        raise NotImplementedError

    def put(self, key: bytes, value: bytes | None) -> None:
        raise NotImplementedError

    def put_with_context(self, key: bytes, value: bytes | None, rc: RecordFields | None) -> None:
        """A write flushed from a cache with the context of the record that made it."""
        self.put(key, value)

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

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        raise NotImplementedError

    # --- reads ----------------------------------------------------------------------------
    def _scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        raise NotImplementedError

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
        raise NotImplementedError

    # --- thread-safe reads for interactive queries (default: the normal reads) ----------------
    def query_get(self, key: bytes) -> bytes | None:
        return self.get(key)

    def query_scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        return self._scan(lo, hi, hi_inclusive)

    def query_count(self) -> int:
        return self.approximate_num_entries()
