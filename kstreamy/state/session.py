"""Bytes-level session store (for session windows), over any bytes key-value store.

Layout, as window.py: primary `\\x00` + key + 8-byte end + 8-byte start -> value (after the tag,
Kafka's session-store key layout, which the changelog carries); index `\\x01` + end + key +
start -> b""; `\\x02observed` keeps the highest session end seen. Sessions ending before
`observed - retention_ms + 1` are dropped on write and purged at `flush()`.
"""

from __future__ import annotations

from collections.abc import Iterator

from kstreamy.state.api import StateStore, StoreContext
from kstreamy.state.base import BytesStore
from kstreamy.state.window import (
    INDEX,
    PRIMARY,
    TS_SIZE,
    TimeIndexedBytesStore,
    _RegisterAs,
    _ts,
)

SUFFIX = 2 * TS_SIZE
MAX_TIME = (1 << 63) - 1


def session_key(key: bytes, start: int, end: int) -> bytes:
    """Kafka's session-store key: key + 8-byte end + 8-byte start."""
    if end < start:
        raise ValueError(f"session end {end} is before its start {start}")
    return key + _ts(end) + _ts(start)


def split_session_key(data: bytes) -> tuple[bytes, int, int]:
    """(key, start, end) of a session-store key."""
    return (
        data[:-SUFFIX],
        int.from_bytes(data[-TS_SIZE:], "big"),
        int.from_bytes(data[-SUFFIX:-TS_SIZE], "big"),
    )


class SessionBytesStore(TimeIndexedBytesStore):
    """Sessions `(key, start, end) -> value` with retention by session end."""

    TAIL = TS_SIZE  # a session's time is its end; its start follows

    def put(self, key: bytes, start: int, end: int, value: bytes | None) -> bytes | None:
        """Store (None: remove) a session; returns the stored key, None if expired."""
        if end > self.observed:
            self.observed = end
        if end < self.expiry:
            return None
        stored = session_key(key, start, end)
        self._apply(stored, value)
        return stored

    def remove(self, key: bytes, start: int, end: int) -> bytes | None:
        return self.put(key, start, end, None)

    def _apply(self, stored: bytes, value: bytes | None) -> None:
        key, end_start = stored[:-SUFFIX], stored[-SUFFIX:]
        index = INDEX + end_start[:TS_SIZE] + key + end_start[TS_SIZE:]
        self.inner.put(PRIMARY + stored, value)
        self.inner.put(index, None if value is None else b"")

    def fetch_session(self, key: bytes, start: int, end: int) -> bytes | None:
        if end < self.expiry:
            return None
        return self.inner.get(PRIMARY + session_key(key, start, end))

    def find_sessions(
        self, key: bytes, earliest_session_end: int, latest_session_start: int
    ) -> Iterator[tuple[int, int, bytes]]:
        """(start, end, value) of `key`'s sessions with end >= earliest_session_end and
        start <= latest_session_start (the sessions a new record may merge with), by end."""
        earliest = max(earliest_session_end, self.expiry, 0)
        lo = PRIMARY + key + _ts(earliest) + _ts(0)
        hi = PRIMARY + key + _ts(MAX_TIME) + _ts(MAX_TIME)
        size = 1 + len(key) + SUFFIX
        for stored, value in self.inner.range(lo, hi):
            if len(stored) != size:
                continue
            start = int.from_bytes(stored[-TS_SIZE:], "big")
            if start <= latest_session_start:
                yield start, int.from_bytes(stored[-SUFFIX:-TS_SIZE], "big"), value

    def fetch(self, key: bytes) -> Iterator[tuple[int, int, bytes]]:
        """Every live session of `key`: (start, end, value)."""
        return self.find_sessions(key, 0, MAX_TIME)


class InMemorySessionBytesStore(SessionBytesStore):
    """The in-memory session store: `by_key[key][(end, start)] = value` plus `ends[end]` (keys
    with a session ending there) for expiry; the inner store only provides the lifecycle."""

    def __init__(self, inner: BytesStore, retention_ms: int) -> None:
        super().__init__(inner, retention_ms)
        self.by_key: dict[bytes, dict[tuple[int, int], bytes]] = {}
        self.ends: dict[int, set[bytes]] = {}

    def init(self, context: StoreContext, root: StateStore) -> None:
        self.inner.init(_RegisterAs(context, self.restore_batch), root)

    def close(self) -> None:
        self.by_key.clear()
        self.ends.clear()
        self.inner.close()

    def put(self, key: bytes, start: int, end: int, value: bytes | None) -> bytes | None:
        if end > self.observed:
            self.observed = end
        if end < self.expiry:
            return None
        stored = session_key(key, start, end)
        self._set(key, start, end, value)
        return stored

    def _set(self, key: bytes, start: int, end: int, value: bytes | None) -> None:
        sessions = self.by_key.get(key)
        if value is None:
            removed = sessions is not None and sessions.pop((end, start), None) is not None
            if removed and not sessions:
                del self.by_key[key]
            return
        if sessions is None:
            sessions = self.by_key[key] = {}
        sessions[(end, start)] = value
        keys = self.ends.get(end)
        if keys is None:
            keys = self.ends[end] = set()
        keys.add(key)

    def restore_batch(self, batch: list[tuple[bytes, bytes | None]]) -> None:
        for stored, value in batch:
            key, start, end = split_session_key(stored)
            if end > self.observed:
                self.observed = end
            self._set(key, start, end, value)
        self.purge_expired()

    def flush(self) -> None:
        self.purge_expired()

    def purge_expired(self) -> int:
        expiry = self.expiry
        if expiry <= 0 or expiry <= self._purged_below:
            return 0
        deleted = 0
        for end in [e for e in self.ends if e < expiry]:
            for key in self.ends.pop(end):
                sessions = self.by_key.get(key)
                if sessions is None:
                    continue
                for session in [s for s in sessions if s[0] == end]:
                    del sessions[session]
                    deleted += 1
                if not sessions:
                    del self.by_key[key]
        self._purged_below = expiry
        return deleted

    def fetch_session(self, key: bytes, start: int, end: int) -> bytes | None:
        if end < self.expiry:
            return None
        sessions = self.by_key.get(key)
        return None if sessions is None else sessions.get((end, start))

    def find_sessions(
        self, key: bytes, earliest_session_end: int, latest_session_start: int
    ) -> Iterator[tuple[int, int, bytes]]:
        earliest = max(earliest_session_end, self.expiry, 0)
        sessions = self.by_key.get(key)
        if sessions is None:
            return
        for end, start in sorted(sessions):
            if end >= earliest and start <= latest_session_start:
                yield start, end, sessions[(end, start)]
