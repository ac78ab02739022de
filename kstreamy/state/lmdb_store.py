"""The LMDB bytes store: one LMDB environment per store per task, `<task dir>/<store>/`.

Writes since the last `flush()` are buffered in a dict (reads see them) and applied in one write
transaction at `flush()` (the task's commit), so a commit costs one transaction, and a full map is
handled by growing the map (doubling) and replaying the same batch: nothing is lost.

Durability settings, chosen deliberately:
- `sync=True, metasync=False`: each flush syncs its data pages but not the meta page (LMDB keeps
  its integrity; an OS crash may undo the last transaction). A store lagging behind its
  checkpoint (the changelog offset it reflects) after a power loss would silently lose updates,
  so `sync()` makes the last transaction durable before every checkpoint: one fsync per
  commit, and one more per checkpoint, instead of two per commit.
- `writemap=False`: a stray write through a writable map could corrupt the file; the copy costs
  little at our batch sizes. `readahead=False`: state access is random, readahead only evicts.
- `lock=True`, `max_readers=256`: interactive queries (threads) and readers in other processes
  use reader slots; `MapResizedError` (another process grew the map) is handled by adopting the
  new size and retrying.

LMDB rejects empty keys, so every key is stored behind a one-byte tag (`\x00`), which keeps the
byte order; keys are limited to LMDB's maximum key size minus that byte (510 bytes); longer keys
raise `StoreError`.
Interactive queries (`query_*`) see the last committed batch; the task's own reads see its writes.

Reads of committed data are remembered (key -> bytes or None, up to `READ_CACHE_BYTES` per
store, dropped whole when full) and forgotten for every key a flush writes: a GlobalKTable looked
up on every record then costs a dict lookup instead of an LMDB call, which releases and retakes
the GIL each time (costly when other threads or processes compete for the CPU).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import lmdb

from kstreamy.errors import StoreError
from kstreamy.state.api import StoreContext
from kstreamy.state.base import BytesItems, BytesStore
from kstreamy.state.errors import StateDirectoryError

DEFAULT_MAP_SIZE = 64 * 1024 * 1024
MAP_SIZE_CONFIG = "kstreamy.lmdb.map.size"
MAX_READERS = 256
CHUNK = 512
READ_CACHE_BYTES = 8 * 1024 * 1024
_READ_ENTRY_OVERHEAD = 64
TAG = b"\x00"

_MISSING: Any = object()


def open_environment(path: Path, map_size: int, readonly: bool = False) -> lmdb.Environment:
    """Open (creating unless `readonly`) the LMDB environment at `path` with our settings."""
    try:
        if not readonly:
            path.mkdir(parents=True, exist_ok=True)
        return lmdb.open(
            str(path),
            map_size=map_size,
            subdir=True,
            readonly=readonly,
            sync=True,
            metasync=False,  # `LmdbKeyValueStore.sync` before each checkpoint
            writemap=False,
            readahead=False,
            meminit=False,
            max_readers=MAX_READERS,
            max_dbs=0,
            lock=True,
            create=not readonly,
        )
    except lmdb.Error as exc:
        raise StateDirectoryError(
            f"Cannot open the LMDB store at {path}: {type(exc).__name__}: {exc}. The files are "
            f"corrupt, from an incompatible LMDB, or not a store. Reset it by deleting {path} "
            "(or the whole task directory); kstreamy then restores the store from its changelog."
        ) from exc


def begin_read(env: lmdb.Environment) -> lmdb.Transaction:
    """A read transaction, adopting the map size if another process grew the map."""
    try:
        return env.begin(buffers=False)
    except lmdb.MapResizedError:
        env.set_mapsize(0)
        return env.begin(buffers=False)


def read_chunk(
    txn: lmdb.Transaction,
    lo: bytes | None,
    lo_inclusive: bool,
    hi: bytes | None,
    hi_inclusive: bool,
    limit: int = CHUNK,
) -> list[tuple[bytes, bytes]]:
    """Up to `limit` entries of `txn` between the (untagged) bounds, in key order, untagged."""
    out: list[tuple[bytes, bytes]] = []
    cursor = txn.cursor()
    if lo is not None:
        lo = TAG + lo
    if hi is not None:
        hi = TAG + hi
    try:
        found = cursor.first() if lo is None else cursor.set_range(lo)
        if not found:
            return out
        for key, value in cast("Iterator[tuple[bytes, bytes]]", cursor.iternext()):
            if not lo_inclusive and key == lo:
                continue
            if hi is not None and (key > hi or (key == hi and not hi_inclusive)):
                break
            out.append((key[1:], value))
            if len(out) >= limit:
                break
    finally:
        cursor.close()
    return out


class LmdbKeyValueStore(BytesStore):
    """A persistent bytes key-value store on LMDB, batched into one transaction per flush."""

    persistent_store = True
    counts_generations = True  # see BytesStore.generation

    def __init__(self, name: str, map_size: int | None = None) -> None:
        super().__init__(name)
        self._map_size_cfg = map_size
        self._env: Any = None
        self._rtxn: Any = None
        self._pending: dict[bytes, bytes | None] = {}
        self._unsynced = False  # a write transaction committed since the last `sync`
        self._reads: dict[bytes, bytes | None] = {}
        self._reads_size = 0
        self._query_lock = threading.Lock()
        self.path: Path | None = None
        self.map_size = 0
        self.map_grows = 0

    # --- lifecycle ----------------------------------------------------------------------------
    def _open(self, context: StoreContext) -> None:
        if context.state_dir is None:
            raise StoreError(f"LMDB store '{self.name}' needs a state directory (state.dir)")
        self.path = Path(context.state_dir) / self.name
        self.fresh = not (self.path / "data.mdb").exists()
        size = self._map_size_cfg or int(context.app_config.get(MAP_SIZE_CONFIG, DEFAULT_MAP_SIZE))
        self._env = open_environment(self.path, size)
        self.map_size = int(self._env.info()["map_size"])
        self._pending = {}
        self._forget_reads()
        self._rtxn = begin_read(self._env)
        self.generation += 1

    def _close(self) -> None:
        # Unflushed writes are dropped: a clean shutdown flushes first, and after a crash the
        # changelog (past the last checkpoint) is the truth.
        with self._query_lock:
            self._pending = {}
            self._forget_reads()
            self.generation += 1
            if self._rtxn is not None:
                self._rtxn.abort()
                self._rtxn = None
            if self._env is not None:
                self._env.close()
                self._env = None

    def flush(self) -> None:
        pending = self._pending
        if pending:
            self._write(pending.items())
            self._pending = {}

    def sync(self) -> None:
        if self._unsynced and self._env is not None:
            self._env.sync(True)
            self._unsynced = False

    def _write(self, items: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Apply `items` in order in one write transaction, growing the map when it is full."""
        batch = items if isinstance(items, list) else list(items)
        env = self._env
        self._unsynced = True
        while True:
            try:
                with env.begin(write=True) as txn:
                    put, delete = txn.put, txn.delete
                    for key, value in batch:
                        if value is None:
                            delete(TAG + key)
                        else:
                            put(TAG + key, value)
                break
            except lmdb.MapFullError:
                self._grow()
            except lmdb.BadValsizeError as exc:
                bad = max((k for k, _ in batch), key=len)
                raise StoreError(
                    f"LMDB store '{self.name}' at {self.path}: a key of {len(bad)} bytes exceeds "
                    f"the limit ({env.max_key_size() - 1} bytes): {exc}"
                ) from exc
        self._rtxn.abort()
        self._rtxn = begin_read(env)
        reads = self._reads
        if reads:
            if len(batch) * 4 >= len(reads):
                self._forget_reads()
            else:
                for key, _ in batch:
                    reads.pop(key, None)  # sizes stay counted: over-counting only clears sooner

    def _forget_reads(self) -> None:
        self._reads = {}
        self._reads_size = 0

    def _grow(self) -> None:
        # set_mapsize needs no open transaction in this process: queries hold _query_lock while
        # their (short) transactions are open, the task's reader is reopened afterwards.
        with self._query_lock:
            self._rtxn.abort()
            self.map_size *= 2
            self._env.set_mapsize(self.map_size)
            self.map_grows += 1
            self._rtxn = begin_read(self._env)

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        self.flush()
        self._write(batch)
        self.generation += 1

    # --- task reads and writes ----------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        value = self._pending.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        reads = self._reads
        value = reads.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        value = self._rtxn.get(TAG + key)
        size = self._reads_size + len(key) + _READ_ENTRY_OVERHEAD
        if value is not None:
            size += len(value)
        if size > READ_CACHE_BYTES:
            self._forget_reads()
            reads = self._reads
            size = len(key) + _READ_ENTRY_OVERHEAD + (0 if value is None else len(value))
        reads[key] = value
        self._reads_size = size
        return value  # type: ignore[no-any-return]

    def put(self, key: bytes, value: bytes | None) -> None:
        self._pending[key] = value

    def delete(self, key: bytes) -> bytes | None:
        old = self.get(key)
        self._pending[key] = None
        return old

    def approximate_num_entries(self) -> int:
        count = int(self._rtxn.stat()["entries"])
        get = self._rtxn.get
        for key, value in list(self._pending.items()):
            stored = get(TAG + key) is not None
            if value is None and stored:
                count -= 1
            elif value is not None and not stored:
                count += 1
        return count

    def _scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        pending = sorted(
            (k, v)
            for k, v in self._pending.items()
            if (lo is None or k >= lo) and (hi is None or k < hi or (hi_inclusive and k == hi))
        )
        stored = self._chunks(lambda: self._rtxn, None, lo, hi, hi_inclusive)
        if not pending:
            return stored
        return _merge_pending(pending, stored)

    def _chunks(
        self,
        txn_of: Any,
        lock: threading.Lock | None,
        lo: bytes | None,
        hi: bytes | None,
        hi_inclusive: bool,
    ) -> BytesItems:
        lo_inclusive = True
        while True:
            if lock is None:
                chunk = read_chunk(txn_of(), lo, lo_inclusive, hi, hi_inclusive)
            else:
                with lock:
                    if self._env is None:
                        return
                    txn = begin_read(self._env)
                    try:
                        chunk = read_chunk(txn, lo, lo_inclusive, hi, hi_inclusive)
                    finally:
                        txn.abort()
            yield from chunk
            if len(chunk) < CHUNK:
                return
            lo, lo_inclusive = chunk[-1][0], False

    # --- interactive queries (any thread): the last committed batch -------------------------
    def query_get(self, key: bytes) -> bytes | None:
        with self._query_lock:
            if self._env is None:
                return None
            txn = begin_read(self._env)
            try:
                value = cast("bytes | None", txn.get(TAG + key))
                return value
            finally:
                txn.abort()

    def query_scan(self, lo: bytes | None, hi: bytes | None, hi_inclusive: bool) -> BytesItems:
        return self._chunks(None, self._query_lock, lo, hi, hi_inclusive)

    def query_count(self) -> int:
        with self._query_lock:
            if self._env is None:
                return 0
            return int(self._env.stat()["entries"])


def _merge_pending(pending: list[tuple[bytes, bytes | None]], stored: BytesItems) -> BytesItems:
    """Merge sorted pending writes (None: deleted) over sorted stored entries."""
    i, n = 0, len(pending)
    for key, value in stored:
        while i < n and pending[i][0] < key:
            if pending[i][1] is not None:
                yield pending[i]  # type: ignore[misc]
            i += 1
        if i < n and pending[i][0] == key:
            if pending[i][1] is not None:
                yield pending[i]  # type: ignore[misc]
            i += 1
        else:
            yield key, value
    for entry in pending[i:]:
        if entry[1] is not None:
            yield entry  # type: ignore[misc]


class LmdbReader:
    """A read-only view of a store's LMDB files from another process (tools, diagnostics)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._env = open_environment(path, 0, readonly=True)

    def get(self, key: bytes) -> bytes | None:
        txn = begin_read(self._env)
        try:
            value = cast("bytes | None", txn.get(TAG + key))
            return value
        finally:
            txn.abort()

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        lo: bytes | None = None
        inclusive = True
        while True:
            txn = begin_read(self._env)
            try:
                chunk = read_chunk(txn, lo, inclusive, None, True)
            finally:
                txn.abort()
            yield from chunk
            if len(chunk) < CHUNK:
                return
            lo, inclusive = chunk[-1][0], False

    def close(self) -> None:
        self._env.close()
