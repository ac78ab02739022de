"""Typed window and session stores (serdes + change-logging over the bytes-level shapes).

`Stores.window_store(...)` / `Stores.session_store(...)` build these. They have no caching layer
yet (`set_flush_listener` returns False, so windowed operators forward every update, as Kafka
does with caching off). Changelog records carry Kafka's window/session key layouts; the topics
are `compact,delete` with the store's retention plus one day, as Kafka configures them.
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
from kstreamy.state.session import SessionBytesStore
from kstreamy.state.window import WindowBytesStore
from kstreamy.windows import MAX_TIMESTAMP, SessionWindow, TimeWindow, Windowed

ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000


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

    def _kb(self, key: Any) -> bytes:
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
        rc = context.record_context() or fallback_record_context()
        context.log_change(self._name, stored, value, rc.timestamp, rc.headers)

    def set_flush_listener(self, listener: FlushListener, send_old_values: bool) -> bool:
        return False  # no caching layer for windowed stores yet


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
        self.window = WindowBytesStore(inner, self.retention_ms, self.retain_duplicates)
        self.window.init(context, root)

    def flush(self) -> None:
        if self.window is not None and self.is_open:
            self.window.flush()

    def close(self) -> None:
        if self.window is not None and self.is_open:
            self.window.close()

    def _win(self) -> WindowBytesStore:
        window = self.window
        if window is None or not window.is_open:
            raise closed_error(self._name)
        return window

    def _windowed(self, key: Any, start: int) -> Windowed[Any]:
        end = min(start + self.window_size_ms, MAX_TIMESTAMP)
        return Windowed(key, TimeWindow(start, end))

    def put(self, key: Any, value: Any, window_start: int) -> None:
        """Store (None: delete) the value of `key`'s window starting at `window_start`."""
        data = self._vb(value)
        stored = self._win().put(self._kb(key), data, window_start)
        self._log(stored, data)

    def fetch(self, key: Any, time_from: int, time_to: int) -> Iterator[tuple[int, Any]]:
        """(window start, value) of `key`'s windows starting in [time_from, time_to]."""
        for start, data in self._win().fetch_range(self._kb(key), time_from, time_to):
            yield start, self._v(data)

    def get(self, key: Any, window_start: int) -> Any:
        """The value of one window, None if absent or expired (Kafka's `fetch(key, time)`)."""
        return self._v(self._win().fetch(self._kb(key), window_start))

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
        self.sessions = SessionBytesStore(inner, self.retention_ms)
        self.sessions.init(context, root)

    def flush(self) -> None:
        if self.sessions is not None and self.is_open:
            self.sessions.flush()

    def close(self) -> None:
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
        stored = self._ses().put(self._kb(session.key), window.start, window.end, data)
        self._log(stored, data)

    def remove(self, session: Windowed[Any]) -> None:
        self.put(session, None)

    def fetch_session(self, key: Any, start: int, end: int) -> Any:
        return self._v(self._ses().fetch_session(self._kb(key), start, end))

    def find_sessions(
        self, key: Any, earliest_session_end: int, latest_session_start: int
    ) -> Iterator[tuple[Windowed[Any], Any]]:
        """Sessions of `key` ending at or after `earliest_session_end` and starting at or before
        `latest_session_start` (those a new record may merge with), by end time."""
        for start, end, data in self._ses().find_sessions(
            self._kb(key), earliest_session_end, latest_session_start
        ):
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
        return self

    def with_serdes(self, key_serde: Serde | None, value_serde: Serde | None) -> WindowStoreBuilder:
        return replace(self, key_serde=key_serde, value_serde=value_serde)

    def build(self) -> MeteredWindowStore:
        return MeteredWindowStore(
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
        return self

    def with_serdes(
        self, key_serde: Serde | None, value_serde: Serde | None
    ) -> SessionStoreBuilder:
        return replace(self, key_serde=key_serde, value_serde=value_serde)

    def build(self) -> MeteredSessionStore:
        return MeteredSessionStore(
            self.name,
            self.retention_ms,
            self.key_serde,
            self.value_serde,
            self.persistent,
            self.logging_enabled,
        )
