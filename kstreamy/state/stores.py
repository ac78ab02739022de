"""`Stores`: the public factory of store builders (Kafka's `Stores` + `StoreBuilder`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kstreamy.serdes import Serde
from kstreamy.state.logging_layer import DEFAULT_CHANGELOG_CONFIG
from kstreamy.state.typed import MeteredKeyValueStore
from kstreamy.state.windowed_stores import SessionStoreBuilder, WindowStoreBuilder


@dataclass(frozen=True)
class KeyValueStoreBuilder:
    """Builds one fresh, unopened key-value store stack per task; `with_*` return copies."""

    name: str
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    persistent: bool = True
    logging_enabled: bool = True
    caching_enabled: bool = True
    timestamped: bool = False
    _logging_config: Mapping[str, str] = field(default_factory=dict)

    @property
    def logging_config(self) -> Mapping[str, str]:
        """Changelog topic configs: `cleanup.policy=compact` plus what the user gave."""
        return {**DEFAULT_CHANGELOG_CONFIG, **self._logging_config}

    def with_logging_disabled(self) -> KeyValueStoreBuilder:
        return replace(self, logging_enabled=False)

    def with_logging_enabled(self, config: Mapping[str, str] | None = None) -> KeyValueStoreBuilder:
        return replace(self, logging_enabled=True, _logging_config=dict(config or {}))

    def with_caching_disabled(self) -> KeyValueStoreBuilder:
        return replace(self, caching_enabled=False)

    def with_caching_enabled(self) -> KeyValueStoreBuilder:
        return replace(self, caching_enabled=True)

    def with_serdes(
        self, key_serde: Serde | None, value_serde: Serde | None
    ) -> KeyValueStoreBuilder:
        return replace(self, key_serde=key_serde, value_serde=value_serde)

    def build(self) -> MeteredKeyValueStore[Any, Any]:
        return MeteredKeyValueStore(
            self.name,
            self.key_serde,
            self.value_serde,
            persistent=self.persistent,
            logging=self.logging_enabled,
            caching=self.caching_enabled,
            timestamped=self.timestamped,
            logging_config=self.logging_config,
        )


def _check_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid store name {name!r}: must be non-empty and contain no '/'")
    return name


class Stores:
    """Store builders for `StreamsBuilder.add_state_store`, the DSL and the Processor API."""

    @staticmethod
    def key_value(
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
        caching: bool = True,
        logging_config: Mapping[str, str] | None = None,
    ) -> KeyValueStoreBuilder:
        """A key-value store: LMDB when persistent (and the task has a state dir), else memory."""
        return KeyValueStoreBuilder(
            _check_name(name),
            key_serde,
            value_serde,
            persistent,
            logging,
            caching,
            False,
            dict(logging_config or {}),
        )

    @staticmethod
    def timestamped_key_value(
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
        caching: bool = True,
        logging_config: Mapping[str, str] | None = None,
    ) -> KeyValueStoreBuilder:
        """A key-value store of `ValueAndTimestamp` values (what DSL KTables materialize)."""
        return KeyValueStoreBuilder(
            _check_name(name),
            key_serde,
            value_serde,
            persistent,
            logging,
            caching,
            True,
            dict(logging_config or {}),
        )

    @staticmethod
    def in_memory_key_value(
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        logging: bool = True,
        caching: bool = True,
        logging_config: Mapping[str, str] | None = None,
    ) -> KeyValueStoreBuilder:
        return Stores.key_value(
            name, key_serde, value_serde, False, logging, caching, logging_config
        )

    @staticmethod
    def persistent_key_value(
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        logging: bool = True,
        caching: bool = True,
        logging_config: Mapping[str, str] | None = None,
    ) -> KeyValueStoreBuilder:
        return Stores.key_value(
            name, key_serde, value_serde, True, logging, caching, logging_config
        )

    @staticmethod
    def window_store(
        name: str,
        retention_ms: int,
        window_size_ms: int,
        retain_duplicates: bool = False,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
        timestamped: bool = False,
        logging_config: Mapping[str, str] | None = None,
    ) -> WindowStoreBuilder:
        """A window store keeping windows whose start is within `retention_ms` of stream time."""
        if window_size_ms <= 0 or retention_ms < window_size_ms:
            raise ValueError(
                f"window store '{name}': need 0 < window size ({window_size_ms} ms) <= "
                f"retention ({retention_ms} ms)"
            )
        return WindowStoreBuilder(
            _check_name(name),
            retention_ms,
            window_size_ms,
            retain_duplicates,
            key_serde,
            value_serde,
            persistent,
            logging,
            timestamped,
            dict(logging_config or {}),
        )

    @staticmethod
    def session_store(
        name: str,
        retention_ms: int,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        persistent: bool = True,
        logging: bool = True,
        logging_config: Mapping[str, str] | None = None,
    ) -> SessionStoreBuilder:
        """A session store keeping sessions that end within `retention_ms` of stream time."""
        if retention_ms < 0:
            raise ValueError(f"session store '{name}': retention must be >= 0 ms")
        return SessionStoreBuilder(
            _check_name(name),
            retention_ms,
            key_serde,
            value_serde,
            persistent,
            logging,
            dict(logging_config or {}),
        )
