"""Typed window and session stores (serdes + change-logging over the bytes-level shapes).

`Stores.window_store(...)` / `Stores.session_store(...)` build these. Without a state directory
they hold windows in the dict-based in-memory shapes (`InMemoryWindowBytesStore`,
`InMemorySessionBytesStore`), else in LMDB through the sorted-bytes shapes. Caching: a store
built with caching (the DSL's default) sets `caching` when the task has a thread cache; the
windowed operators then collapse the updates of one window within a record into one forward,
as Kafka's caching window/session stores do between commits, and a caching session store still
finds the sessions it wrote after the store below expired them (`session_cache`). Changelog
records carry Kafka's window/session key layouts; the topics are `compact,delete` with the
store's retention plus one day, as Kafka configures them.
Also here: the shared store of left/outer stream-stream joins (`OuterJoinStore`) and the views
the TopologyTestDriver hands out (`window_store_view`, `session_store_view`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kstreamy.serdes import Serde
from kstreamy.state.api import FlushListener, StateStore, StoreContext
from kstreamy.state.base import BytesStore, closed_error, fallback_record_context
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.serde_util import TimestampedSerde, resolve_serde
from kstreamy.state.session import InMemorySessionBytesStore, SessionBytesStore
from kstreamy.state.session_cache import CachedSessions
from kstreamy.state.window import InMemoryWindowBytesStore, WindowBytesStore
from kstreamy.windows import MAX_TIMESTAMP, SessionWindow, TimeWindow, Windowed

ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000
_NO_RECORD = object()
_IMMUTABLE = frozenset((int, float, str, bytes, bool))


def windowed_changelog_config(retention_ms: int) -> dict[str, str]:
    return {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(retention_ms + ADDITIONAL_RETENTION_MS),
    }


class _TypedBase:
    """Lifecycle, serdes and change-logging shared by the typed window and session stores."""

    def __init__(
        self,
        name: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
        persistent: bool,
        logging: bool,
        timestamped: bool = False,
    ) -> None:
        self._name = name
        self._key_serde_cfg = key_serde
        self._value_serde_cfg = value_serde
        self._persistent = persistent
        self._logging = logging
        self.timestamped = timestamped
        self._context: StoreContext | None = None
        self._topic = name
        self.bytes_store: BytesStore | None = None
        self.key_serde: Serde | None = None
        self.value_serde: Serde | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def persistent(self) -> bool:
        return self.bytes_store.persistent if self.bytes_store is not None else self._persistent

    @property
    def is_open(self) -> bool:
        return self.bytes_store is not None and self.bytes_store.is_open

    @property
    def fresh(self) -> bool:
        return self.bytes_store is None or self.bytes_store.fresh

    def _open_bytes(self, context: StoreContext) -> BytesStore:
        self._context = context
        self._topic = context.changelog_topic(self._name)
        config = context.app_config
        self.key_serde = resolve_serde(self._key_serde_cfg, config.get("default.key.serde"))
        value_serde = resolve_serde(self._value_serde_cfg, config.get("default.value.serde"))
        self.value_serde = TimestampedSerde(value_serde) if self.timestamped else value_serde
        if self._persistent and context.state_dir is not None:
            from kstreamy.state.lmdb_store import LmdbKeyValueStore

            self.bytes_store = LmdbKeyValueStore(self._name)
        else:
            self.bytes_store = InMemoryKeyValueStore(self._name)
        return self.bytes_store

    def _check_open(self) -> None:
        if not self.is_open:
            raise closed_error(self._name)

    _last_key: Any = None
    _last_kb = b""

    def _kb(self, key: Any) -> bytes:
        # an operator usually reads and then writes the same key: serialize it once
        if key is self._last_key and key is not None:
            return self._last_kb
        data = self._serialize_key(key)
        self._last_key, self._last_kb = key, data
        return data

    def _serialize_key(self, key: Any) -> bytes:
        if key is None:
            raise ValueError(f"State store '{self._name}': the key must not be None")
        assert self.key_serde is not None
        data = self.key_serde.serialize(self._topic, key)
        if data is None:
            raise ValueError(f"State store '{self._name}': key {key!r} serialized to None")
        return bytes(data)

    def _vb(self, value: Any) -> bytes | None:
        assert self.value_serde is not None
        return None if value is None else self.value_serde.serialize(self._topic, value)

    def _v(self, data: bytes | None) -> Any:
        assert self.value_serde is not None
        return None if data is None else self.value_serde.deserialize(self._topic, data)

    def _k(self, data: bytes) -> Any:
        assert self.key_serde is not None
        return self.key_serde.deserialize(self._topic, data)

    def _log(self, stored: bytes | None, value: bytes | None) -> None:
        if stored is None or not self._logging:
            return
        context = self._context
        assert context is not None
        # a Task exposes the record being processed: skip building a RecordContext per write
        record: Any = getattr(context, "current_record", _NO_RECORD)
        if record is _NO_RECORD or record is None:
            rc = context.record_context() or fallback_record_context()
            context.log_change(self._name, stored, value, rc.timestamp, rc.headers)
        else:
            context.log_change(self._name, stored, value, record.timestamp, record.headers)

    def set_flush_listener(self, listener: FlushListener, send_old_values: bool) -> bool:
        return False  # windowed operators dedupe themselves when `caching` is set

    _caching_cfg = False
    caching = False
    """True when the store was built with caching and the task has a non-empty thread cache:
    windowed operators then forward one update per window and commit, like Kafka's caching
    window/session stores (see `kstreamy.processors.windowed._common.WindowForwarder`)."""

    def _set_caching(self, context: StoreContext) -> None:
        cache: Any = context.thread_cache() if hasattr(context, "thread_cache") else None
        self.caching = bool(self._caching_cfg and cache is not None and cache.enabled)


class MeteredWindowStore(_TypedBase):
    """A typed window store: values per (key, window start), with retention."""

    def __init__(
        self,
        name: str,
        retention_ms: int,
        window_size_ms: int,
        retain_duplicates: bool = False,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
        timestamped: bool = False,
    ) -> None:
        super().__init__(name, key_serde, value_serde, persistent, logging, timestamped)
        self.retention_ms = retention_ms
        self.window_size_ms = window_size_ms
        self.retain_duplicates = retain_duplicates
        self.window: WindowBytesStore | None = None

    def init(self, context: StoreContext, root: StateStore) -> None:
        inner = self._open_bytes(context)
        kind = WindowBytesStore if inner.persistent else InMemoryWindowBytesStore
        self.window = kind(inner, self.retention_ms, self.retain_duplicates)
        self.window.init(context, root)
        self._set_caching(context)
        self._live = self.window

    def flush(self) -> None:
        if self.window is not None and self.is_open:
            self.window.flush()

    def close(self) -> None:
        self._live = None
        if self.window is not None and self.is_open:
            self.window.close()

    _live: WindowBytesStore | None = None

    def _win(self) -> WindowBytesStore:
        window = self._live  # set while open: the per-record path skips the is_open chain
        if window is None:
            raise closed_error(self._name)
        return window

    def _windowed(self, key: Any, start: int) -> Windowed[Any]:
        end = min(start + self.window_size_ms, MAX_TIMESTAMP)
        return Windowed(key, TimeWindow(start, end))

    def put(self, key: Any, value: Any, window_start: int) -> None:
        """Store (None: delete) the value of `key`'s window starting at `window_start`."""
        data = self._vb(value)
        stored = self._win().put(self._kb(key), data, window_start)
        inner = value[0] if self.timestamped and value is not None else value
        if type(inner) in _IMMUTABLE:  # a mutable aggregate must come back as a fresh copy
            self._last_data, self._last_value = data, value
        else:
            self._last_data = None
        self._log(stored, data)

    def fetch(self, key: Any, time_from: int, time_to: int) -> Iterator[tuple[int, Any]]:
        """(window start, value) of `key`'s windows starting in [time_from, time_to]."""
        for start, data in self._win().fetch_range(self._kb(key), time_from, time_to):
            yield start, self._v(data)

    def get(self, key: Any, window_start: int) -> Any:
        """The value of one window, None if absent or expired (Kafka's `fetch(key, time)`)."""
        data = self._win().fetch(self._kb(key), window_start)
        if data is None:
            return None
        # the bytes this store last wrote for a window decode to the object it was given
        if data is self._last_data:
            return self._last_value
        return self._v(data)

    _last_data: bytes | None = None
    _last_value: Any = None

    def fetch_keys(
        self, key_from: Any, key_to: Any, time_from: int, time_to: int
    ) -> Iterator[tuple[Windowed[Any], Any]]:
        lo = None if key_from is None else self._kb(key_from)
        hi = None if key_to is None else self._kb(key_to)
        for key, start, data in self._win().fetch_keys(lo, hi, time_from, time_to):
            yield self._windowed(self._k(key), start), self._v(data)

    def fetch_all(self, time_from: int, time_to: int) -> Iterator[tuple[Windowed[Any], Any]]:
        return self.fetch_keys(None, None, time_from, time_to)

    def all(self) -> Iterator[tuple[Windowed[Any], Any]]:
        return self.fetch_keys(None, None, 0, MAX_TIMESTAMP)


class MeteredSessionStore(_TypedBase):
    """A typed session store: values per (key, session start, session end)."""

    def __init__(
        self,
        name: str,
        retention_ms: int,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
    ) -> None:
        super().__init__(name, key_serde, value_serde, persistent, logging)
        self.retention_ms = retention_ms
        self.sessions: SessionBytesStore | None = None

    def init(self, context: StoreContext, root: StateStore) -> None:
        inner = self._open_bytes(context)
        kind = SessionBytesStore if inner.persistent else InMemorySessionBytesStore
        self.sessions = kind(inner, self.retention_ms)
        self.sessions.init(context, root)
        self._set_caching(context)

    def flush(self) -> None:
        if self.sessions is not None and self.is_open:
            self.sessions.flush()

    def close(self) -> None:
        self._cached = None
        if self.sessions is not None and self.is_open:
            self.sessions.close()

    def _ses(self) -> SessionBytesStore:
        sessions = self.sessions
        if sessions is None or not sessions.is_open:
            raise closed_error(self._name)
        return sessions

    def put(self, session: Windowed[Any], value: Any) -> None:
        """Store (None: remove) the session `Windowed(key, SessionWindow(start, end))`."""
        data = self._vb(value)
        window = session.window
        kb = self._kb(session.key)
        sessions = self._ses()
        stored = sessions.put(kb, window.start, window.end, data)
        self._log(stored, data)
        if self.caching:
            cached = self._cached
            if cached is None:
                cached = self._cached = CachedSessions(self.retention_ms)
            cached.remember(kb, window.start, window.end, data, sessions.observed)

    _cached: CachedSessions | None = None  # see kstreamy.state.session_cache

    def fetch_stored(self, session: Windowed[Any]) -> Any:
        """The session's value in the store below the cache (None if absent or expired)."""
        window = session.window
        return self._v(self._ses().fetch_session(self._kb(session.key), window.start, window.end))

    def remove(self, session: Windowed[Any]) -> None:
        self.put(session, None)

    def fetch_session(self, key: Any, start: int, end: int) -> Any:
        return self._v(self._ses().fetch_session(self._kb(key), start, end))

    def find_sessions(
        self, key: Any, earliest_session_end: int, latest_session_start: int
    ) -> Iterator[tuple[Windowed[Any], Any]]:
        """Sessions of `key` ending at or after `earliest_session_end` and starting at or before
        `latest_session_start` (those a new record may merge with), by end time."""
        kb = self._kb(key)
        found = self._ses().find_sessions(kb, earliest_session_end, latest_session_start)
        cached = self._cached
        held = cached.find(kb, earliest_session_end, latest_session_start) if cached else None
        if held:
            merged = {(end, start): data for start, end, data in found}
            merged.update(held)
            found = ((start, end, merged[(end, start)]) for end, start in sorted(merged))
        for start, end, data in found:
            yield Windowed(key, SessionWindow(start, end)), self._v(data)

    def fetch(self, key: Any) -> Iterator[tuple[Windowed[Any], Any]]:
        return self.find_sessions(key, 0, MAX_TIMESTAMP)


@dataclass(frozen=True)
class WindowStoreBuilder:
    """Builds typed window stores (`Stores.window_store`)."""

    name: str
    retention_ms: int
    window_size_ms: int
    retain_duplicates: bool = False
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    persistent: bool = True
    logging_enabled: bool = True
    timestamped: bool = False
    _logging_config: Mapping[str, str] = field(default_factory=dict)
    caching_enabled: bool = False

    @property
    def logging_config(self) -> Mapping[str, str]:
        return {**windowed_changelog_config(self.retention_ms), **self._logging_config}

    def with_logging_disabled(self) -> WindowStoreBuilder:
        return replace(self, logging_enabled=False)

    def with_caching_disabled(self) -> WindowStoreBuilder:
        return replace(self, caching_enabled=False)

    def with_caching_enabled(self) -> WindowStoreBuilder:
        return replace(self, caching_enabled=True)

    def with_serdes(self, key_serde: Serde | None, value_serde: Serde | None) -> WindowStoreBuilder:
        return replace(self, key_serde=key_serde, value_serde=value_serde)

    def build(self) -> MeteredWindowStore:
        store = MeteredWindowStore(
            self.name,
            self.retention_ms,
            self.window_size_ms,
            self.retain_duplicates,
            self.key_serde,
            self.value_serde,
            self.persistent,
            self.logging_enabled,
            self.timestamped,
        )
        store._caching_cfg = self.caching_enabled
        return store


@dataclass(frozen=True)
class SessionStoreBuilder:
    """Builds typed session stores (`Stores.session_store`)."""

    name: str
    retention_ms: int
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    persistent: bool = True
    logging_enabled: bool = True
    _logging_config: Mapping[str, str] = field(default_factory=dict)
    caching_enabled: bool = False

    @property
    def logging_config(self) -> Mapping[str, str]:
        return {**windowed_changelog_config(self.retention_ms), **self._logging_config}

    def with_logging_disabled(self) -> SessionStoreBuilder:
        return replace(self, logging_enabled=False)

    def with_caching_disabled(self) -> SessionStoreBuilder:
        return replace(self, caching_enabled=False)

    def with_caching_enabled(self) -> SessionStoreBuilder:
        return replace(self, caching_enabled=True)

    def with_serdes(
        self, key_serde: Serde | None, value_serde: Serde | None
    ) -> SessionStoreBuilder:
        return replace(self, key_serde=key_serde, value_serde=value_serde)

    def build(self) -> MeteredSessionStore:
        store = MeteredSessionStore(
            self.name,
            self.retention_ms,
            self.key_serde,
            self.value_serde,
            self.persistent,
            self.logging_enabled,
        )
        store._caching_cfg = self.caching_enabled
        return store


class OuterJoinStore(_TypedBase):
    """The shared store of left/outer stream-stream joins (Kafka's `...-outer-shared-join-store`):
    records not joined yet, held until their join window closes.

    Keys are Kafka's `TimestampedKeyAndJoinSide` layout, 8-byte timestamp + side byte (1 left,
    0 right) + key bytes, so iteration is by time, then right before left, then key. A key holds
    the list of its values (Kafka's list-value store): 4-byte length + bytes per value, each
    serialized with its side's value serde.
    """

    def __init__(
        self,
        name: str,
        key_serde: Serde | None,
        left_serde: Serde | None,
        right_serde: Serde | None,
        persistent: bool,
        logging: bool,
    ) -> None:
        super().__init__(name, key_serde, left_serde, persistent, logging)
        self._right_cfg = right_serde
        self.left_serde: Serde | None = None
        self.right_serde: Serde | None = None

    def init(self, context: StoreContext, root: StateStore) -> None:
        from kstreamy.runtime.task import PYTHON_OBJECTS

        config = context.app_config

        def pick(explicit: Serde | None, default_key: str) -> Serde:
            default = config.get(default_key)
            chosen = explicit or (default() if isinstance(default, type) else default)
            return chosen if chosen is not None else PYTHON_OBJECTS

        inner = self._open_bytes(context)
        self.key_serde = pick(self._key_serde_cfg, "default.key.serde")
        self.left_serde = pick(self._value_serde_cfg, "default.value.serde")
        self.right_serde = pick(self._right_cfg, "default.value.serde")
        inner.init(context, root)

    def flush(self) -> None:
        if self.bytes_store is not None and self.is_open:
            self.bytes_store.flush()

    def close(self) -> None:
        if self.bytes_store is not None and self.is_open:
            self.bytes_store.close()

    def _store(self) -> BytesStore:
        store = self.bytes_store
        if store is None or not store.is_open:
            raise closed_error(self._name)
        return store

    def _key(self, timestamp: int, is_left: bool, key: Any) -> bytes:
        return timestamp.to_bytes(8, "big") + (b"\x01" if is_left else b"\x00") + self._kb(key)

    def append(self, timestamp: int, is_left: bool, key: Any, value: Any) -> None:
        """Add `value` to the list held for (timestamp, side, key)."""
        serde = self.left_serde if is_left else self.right_serde
        assert serde is not None
        data = serde.serialize(self._topic, value) or b""
        stored = self._key(timestamp, is_left, key)
        store = self._store()
        new = (store.get(stored) or b"") + len(data).to_bytes(4, "big") + data
        store.put(stored, new)
        self._log(stored, new)

    def delete(self, timestamp: int, is_left: bool, key: Any) -> None:
        """Remove every value held for (timestamp, side, key), if any."""
        self._delete_stored(self._key(timestamp, is_left, key))

    def _delete_stored(self, stored: bytes) -> None:
        store = self._store()
        if store.get(stored) is not None:
            store.put(stored, None)
            self._log(stored, None)

    def entries(self) -> Iterator[tuple[bytes, int, bool, Any, list[Any]]]:
        """(stored key, timestamp, is_left, key, values) in time, side, key order."""
        for stored, data in list(self._store().all()):
            is_left = stored[8] == 1
            serde = self.left_serde if is_left else self.right_serde
            assert serde is not None
            values, pos = [], 0
            while pos < len(data):
                n = int.from_bytes(data[pos : pos + 4], "big")
                values.append(serde.deserialize(self._topic, data[pos + 4 : pos + 4 + n]))
                pos += 4 + n
            ts = int.from_bytes(stored[:8], "big")
            yield stored, ts, is_left, self._k(stored[9:]), values

    def remove_stored(self, stored: bytes) -> None:
        self._delete_stored(stored)


@dataclass(frozen=True)
class OuterJoinStoreBuilder:
    """Builds the shared store of a left/outer stream-stream join."""

    name: str
    key_serde: Serde | None = None
    left_serde: Serde | None = None
    right_serde: Serde | None = None
    persistent: bool = True
    logging_enabled: bool = True
    caching_enabled: bool = False

    @property
    def logging_config(self) -> Mapping[str, str]:
        return {}

    def with_logging_disabled(self) -> OuterJoinStoreBuilder:
        return replace(self, logging_enabled=False)

    def with_caching_disabled(self) -> OuterJoinStoreBuilder:
        return self

    def build(self) -> OuterJoinStore:
        return OuterJoinStore(
            self.name, self.key_serde, self.left_serde, self.right_serde, self.persistent,
            self.logging_enabled,
        )  # fmt: skip


class WindowStoreView:
    """What `driver.get_window_store(name)` returns: a window store read with plain values
    (a timestamped store's `ValueAndTimestamp` is unwrapped, as in Kafka's driver) and lists
    instead of iterators."""

    def __init__(self, store: MeteredWindowStore) -> None:
        self.store = store
        self.name = store.name
        self._plain = store.timestamped

    def _v(self, value: Any) -> Any:
        return value.value if self._plain and value is not None else value

    def fetch(self, key: Any, time_from: int, time_to: int) -> list[tuple[int, Any]]:
        """(window start, value) of `key`'s windows starting in [time_from, time_to]."""
        return [(s, self._v(v)) for s, v in self.store.fetch(key, time_from, time_to)]

    def get(self, key: Any, window_start: int) -> Any:
        return self._v(self.store.get(key, window_start))

    def fetch_all(self, time_from: int, time_to: int) -> list[tuple[Windowed[Any], Any]]:
        return [(w, self._v(v)) for w, v in self.store.fetch_all(time_from, time_to)]

    def all(self) -> list[tuple[Windowed[Any], Any]]:
        return [(w, self._v(v)) for w, v in self.store.all()]


class SessionStoreView:
    """What `driver.get_session_store(name)` returns: sessions as lists of (Windowed, value)."""

    def __init__(self, store: MeteredSessionStore) -> None:
        self.store = store
        self.name = store.name

    def fetch(self, key: Any) -> list[tuple[Windowed[Any], Any]]:
        return list(self.store.fetch(key))

    def find_sessions(
        self, key: Any, earliest_session_end: int, latest_session_start: int
    ) -> list[tuple[Windowed[Any], Any]]:
        return list(self.store.find_sessions(key, earliest_session_end, latest_session_start))

    def fetch_session(self, key: Any, start: int, end: int) -> Any:
        return self.store.fetch_session(key, start, end)


def window_store_view(store: Any) -> Any:
    """The driver's view of a window store (idempotent; other stores pass through)."""
    if isinstance(store, MeteredWindowStore):
        return WindowStoreView(store)
    return store


def session_store_view(store: Any) -> Any:
    """The driver's view of a session store (idempotent; other stores pass through)."""
    if isinstance(store, MeteredSessionStore):
        return SessionStoreView(store)
    return store
