"""Bytes-level window store (for the windowing operators), over any bytes key-value store.

Layout (one key-value store, so one LMDB environment per store per task):
- primary entries: `\\x00` + key + 8-byte big-endian window start + 4-byte seqnum -> value; the
  part after the tag is Kafka's window-store key layout, and what the changelog carries;
- a time index: `\\x01` + window start + key + seqnum -> b"", so expiry never scans keys;
- `\\x02observed`: the highest window start seen (stream time for retention), kept across restarts.

Windows older than `observed - retention_ms` are dropped on write and purged at `flush()`
(the commit), as Kafka drops expired segments. With `retain_duplicates` (stream-stream joins)
every put gets a new seqnum instead of replacing the window's value.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from kstreamy.state.api import RestoreCallback, StateStore, StoreContext
from kstreamy.state.base import BytesStore

PRIMARY = b"\x00"
INDEX = b"\x01"
OBSERVED_KEY = b"\x02observed"
TS_SIZE = 8
SEQ_SIZE = 4
SUFFIX = TS_SIZE + SEQ_SIZE
MIN_SEQ = b"\x00" * SEQ_SIZE
MAX_SEQ = b"\xff" * SEQ_SIZE
NO_TIME = -(1 << 63)


def _ts(timestamp: int) -> bytes:
    if timestamp < 0:
        raise ValueError(f"window start must be >= 0, got {timestamp}")
    return timestamp.to_bytes(TS_SIZE, "big")


_WINDOW_SUFFIX = struct.Struct(">QI")


def window_key(key: bytes, window_start: int, seqnum: int = 0) -> bytes:
    """Kafka's window-store key: key + 8-byte window start + 4-byte seqnum."""
    if window_start < 0:
        raise ValueError(f"window start must be >= 0, got {window_start}")
    return key + _WINDOW_SUFFIX.pack(window_start, seqnum)


def split_window_key(data: bytes) -> tuple[bytes, int, int]:
    """(key, window start, seqnum) of a window-store key."""
    return (
        data[:-SUFFIX],
        int.from_bytes(data[-SUFFIX:-SEQ_SIZE], "big"),
        int.from_bytes(data[-SEQ_SIZE:], "big"),
    )


class _RegisterAs:
    """A context whose `register` installs the window store's own restore callback."""

    def __init__(self, context: StoreContext, restore: RestoreCallback) -> None:
        self._context = context
        self._restore = restore

    def register(self, store: StateStore, restore: RestoreCallback) -> None:
        self._context.register(store, self._restore)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class TimeIndexedBytesStore:
    """What window and session bytes stores share: entries under `PRIMARY + key + time + tail`, a
    time-ordered index under `INDEX + time + key + tail`, the highest time observed (persisted
    under OBSERVED_KEY) and retention by that time. `TAIL` is what follows the time in both keys
    (a window's seqnum, a session's start)."""

    TAIL: int

    def __init__(self, inner: BytesStore, retention_ms: int) -> None:
        if retention_ms < 0:
            raise ValueError(f"retention must be >= 0 ms, got {retention_ms}")
        self.inner = inner
        self.retention_ms = retention_ms
        self.observed = NO_TIME
        self._purged_below = NO_TIME

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def persistent(self) -> bool:
        return self.inner.persistent

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    def init(self, context: StoreContext, root: StateStore) -> None:
        self.inner.init(_RegisterAs(context, self.restore_batch), root)
        stored = self.inner.get(OBSERVED_KEY)
        self.observed = NO_TIME if stored is None else int.from_bytes(stored, "big", signed=True)

    def close(self) -> None:
        self.inner.close()

    @property
    def expiry(self) -> int:
        """Entries whose time (window start, session end) is before this are expired."""
        if self.observed == NO_TIME:
            return NO_TIME
        return self.observed - self.retention_ms + 1

    def _apply(self, stored: bytes, value: bytes | None) -> None:
        raise NotImplementedError

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        """Changelog records carry Kafka's key layout (key + time + tail)."""
        tail = self.TAIL
        for stored, value in batch:
            time = int.from_bytes(stored[-(TS_SIZE + tail) : -tail], "big")
            if time > self.observed:
                self.observed = time
            self._apply(stored, value)
        self.inner.put(OBSERVED_KEY, self.observed.to_bytes(8, "big", signed=True))
        self.inner.flush()

    def flush(self) -> None:
        self.purge_expired()
        if self.observed != NO_TIME:
            self.inner.put(OBSERVED_KEY, self.observed.to_bytes(8, "big", signed=True))
        self.inner.flush()

    def purge_expired(self) -> int:
        """Delete every entry older than the retention; returns how many were deleted."""
        expiry = self.expiry
        if expiry <= 0 or expiry <= self._purged_below:
            return 0
        tail = self.TAIL
        doomed = [k for k, _ in self.inner.range(INDEX, INDEX + _ts(expiry))]
        deleted = 0
        for index in doomed:
            time = index[1 : 1 + TS_SIZE]
            if int.from_bytes(time, "big") < expiry:
                key, rest = index[1 + TS_SIZE : -tail], index[-tail:]
                self.inner.put(PRIMARY + key + time + rest, None)
                self.inner.put(index, None)
                deleted += 1
        self._purged_below = expiry
        return deleted


class WindowBytesStore(TimeIndexedBytesStore):
    """Windows of bytes values keyed by bytes keys, with retention, over a bytes KV store."""

    TAIL = SEQ_SIZE

    def __init__(
        self, inner: BytesStore, retention_ms: int, retain_duplicates: bool = False
    ) -> None:
        super().__init__(inner, retention_ms)
        self.retain_duplicates = retain_duplicates
        self._seqnum = 0

    # --- writes ---------------------------------------------------------------------------------
    def put(self, key: bytes, value: bytes | None, window_start: int) -> bytes | None:
        """Store (or with None delete) the window; returns the stored key, None if expired."""
        if window_start > self.observed:
            self.observed = window_start
        if window_start < self.expiry:
            return None
        if self.retain_duplicates:
            if value is None:
                return None  # Kafka ignores deletes in duplicate-retaining stores
            self._seqnum = (self._seqnum + 1) & 0xFFFFFFFF
            stored = window_key(key, window_start, self._seqnum)
        else:
            stored = window_key(key, window_start)
        self._apply(stored, value)
        return stored

    def _apply(self, stored: bytes, value: bytes | None) -> None:
        key, start, seq = split_window_key(stored)
        index = INDEX + _ts(start) + key + seq.to_bytes(SEQ_SIZE, "big")
        self.inner.put(PRIMARY + stored, value)
        self.inner.put(index, None if value is None else b"")

    def fetch(self, key: bytes, window_start: int) -> bytes | None:
        """The value of one window (seqnum 0), None if absent or expired."""
        if window_start < self.expiry:
            return None
        return self.inner.get(PRIMARY + window_key(key, window_start))

    def fetch_range(self, key: bytes, time_from: int, time_to: int) -> Iterator[tuple[int, bytes]]:
        """(window start, value) of `key`'s windows starting in [time_from, time_to], in order."""
        time_from = max(time_from, self.expiry, 0)
        if time_to < time_from:
            return
        lo = PRIMARY + key + _ts(time_from) + MIN_SEQ
        hi = PRIMARY + key + _ts(time_to) + MAX_SEQ
        size = 1 + len(key) + SUFFIX
        for stored, value in self.inner.range(lo, hi):
            if len(stored) == size:  # longer keys sharing the prefix are not this key
                yield int.from_bytes(stored[-SUFFIX:-SEQ_SIZE], "big"), value

    def fetch_keys(
        self, key_from: bytes | None, key_to: bytes | None, time_from: int, time_to: int
    ) -> Iterator[tuple[bytes, int, bytes]]:
        """(key, window start, value) for keys in [key_from, key_to] (None: open) and windows
        starting in [time_from, time_to], in key then time order."""
        time_from = max(time_from, self.expiry, 0)
        if time_to < time_from:
            return
        lo = PRIMARY if key_from is None else PRIMARY + key_from
        hi = b"\x01" if key_to is None else PRIMARY + key_to + b"\xff" * (SUFFIX + 1)
        for stored, value in self.inner.range(lo, hi):
            if stored == hi or len(stored) < 1 + SUFFIX:
                continue
            key, start, _ = split_window_key(stored[1:])
            if (key_from is not None and key < key_from) or (key_to is not None and key > key_to):
                continue
            if time_from <= start <= time_to:
                yield key, start, value

    def all(self) -> Iterator[tuple[bytes, int, bytes]]:
        return self.fetch_keys(None, None, 0, (1 << 63) - 1)


class InMemoryWindowBytesStore(WindowBytesStore):
    """The in-memory window store: windows held in dicts instead of a sorted bytes store.

    `by_key[key][start]` is the value (or, retaining duplicates, a `{seqnum: value}` dict), and
    `starts[start]` the keys with a window there, so a lookup is a dict access and expiry drops
    whole window starts (Kafka's InMemoryWindowStore keeps the same two-level map). The inner
    store only provides the lifecycle; nothing is written to it. Changelog and restore use the
    same key layout as the persistent store.
    """

    def __init__(
        self, inner: BytesStore, retention_ms: int, retain_duplicates: bool = False
    ) -> None:
        super().__init__(inner, retention_ms, retain_duplicates)
        self.by_key: dict[bytes, dict[int, Any]] = {}
        self.starts: dict[int, set[bytes]] = {}

    def init(self, context: StoreContext, root: StateStore) -> None:
        self.inner.init(_RegisterAs(context, self.restore_batch), root)

    def close(self) -> None:
        self.by_key.clear()
        self.starts.clear()
        self.inner.close()

    def put(self, key: bytes, value: bytes | None, window_start: int) -> bytes | None:
        if window_start > self.observed:
            self.observed = window_start
        if window_start < self.expiry:
            return None
        if self.retain_duplicates:
            if value is None:
                return None
            self._seqnum = (self._seqnum + 1) & 0xFFFFFFFF
            self._set(key, window_start, self._seqnum, value)
            return window_key(key, window_start, self._seqnum)
        self._set(key, window_start, 0, value)
        return window_key(key, window_start)

    def _set(self, key: bytes, start: int, seq: int, value: bytes | None) -> None:
        windows = self.by_key.get(key)
        if value is None:
            if windows is None or start not in windows:
                return
            if self.retain_duplicates:
                windows[start].pop(seq, None)
                if windows[start]:
                    return
            del windows[start]
            if not windows:
                del self.by_key[key]
            keys = self.starts.get(start)
            if keys is not None:
                keys.discard(key)
            return
        if windows is None:
            windows = self.by_key[key] = {}
        elif not self.retain_duplicates and start in windows:
            windows[start] = value  # an update: the start index already has this key
            return
        if self.retain_duplicates:
            held = windows.get(start)
            if held is None:
                held = windows[start] = {}
            held[seq] = value
        else:
            windows[start] = value
        keys = self.starts.get(start)
        if keys is None:
            keys = self.starts[start] = set()
        keys.add(key)

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        for stored, value in batch:
            key, start, seq = split_window_key(stored)
            if start > self.observed:
                self.observed = start
            self._set(key, start, seq, value)
        self.purge_expired()

    def flush(self) -> None:
        self.purge_expired()

    def purge_expired(self) -> int:
        expiry = self.expiry
        if expiry <= 0 or expiry <= self._purged_below:
            return 0
        deleted = 0
        for start in [s for s in self.starts if s < expiry]:
            for key in self.starts.pop(start):
                windows = self.by_key.get(key)
                if windows is not None and windows.pop(start, None) is not None:
                    deleted += 1
                    if not windows:
                        del self.by_key[key]
        self._purged_below = expiry
        return deleted

    def fetch(self, key: bytes, window_start: int) -> bytes | None:
        if window_start < self.expiry:
            return None
        windows = self.by_key.get(key)
        if windows is None:
            return None
        held = windows.get(window_start)
        if self.retain_duplicates and held is not None:
            first: bytes | None = held.get(0)
            return first
        value: bytes | None = held
        return value

    def _values(self, held: Any) -> list[bytes]:
        return list(held.values()) if self.retain_duplicates else [held]

    def fetch_range(self, key: bytes, time_from: int, time_to: int) -> Iterator[tuple[int, bytes]]:
        time_from = max(time_from, self.expiry, 0)
        windows = self.by_key.get(key)
        if windows is None or time_to < time_from:
            return
        for start in sorted(s for s in windows if time_from <= s <= time_to):
            for value in self._values(windows[start]):
                yield start, value

    def fetch_keys(
        self, key_from: bytes | None, key_to: bytes | None, time_from: int, time_to: int
    ) -> Iterator[tuple[bytes, int, bytes]]:
        for key in sorted(self.by_key):
            if (key_from is not None and key < key_from) or (key_to is not None and key > key_to):
                continue
            for start, value in self.fetch_range(key, time_from, time_to):
                yield key, start, value
