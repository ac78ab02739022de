"""`StreamsConfig`: Kafka Streams' configuration keys, their defaults, validation, and the
librdkafka client configs derived from them.

Keys are Kafka Streams' own names. Values may be Python values or the strings a properties file
would hold (`"30000"`). Client settings work as in Kafka Streams: unprefixed common settings
(`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, ...) reach every client, and
`consumer.` / `producer.` / `admin.` (plus `main.consumer.`, `restore.consumer.`,
`global.consumer.`) prefixed keys reach only that client, prefix stripped, winning over
unprefixed ones. Streams-only keys never reach librdkafka, which rejects unknown properties.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kstreamy.errors import (
    DEAD_LETTER_QUEUE_TOPIC_CONFIG,
    ConfigError,
    HandlerKind,
    resolve_handler,
)
from kstreamy.serdes import Bytes, Double, Integer, Json, Long, MsgPack, Serde, String

__all__ = ["AT_LEAST_ONCE", "EXACTLY_ONCE_V2", "ClientKind", "StreamsConfig"]

logger = logging.getLogger("kstreamy.config")

AT_LEAST_ONCE = "at_least_once"
EXACTLY_ONCE_V2 = "exactly_once_v2"
_GUARANTEES = (AT_LEAST_ONCE, EXACTLY_ONCE_V2)

ClientKind = Literal["consumer", "producer", "admin", "restore_consumer", "global_consumer"]

_OPTIMIZATIONS = (
    "reuse.ktable.source.topics",
    "merge.repartition.topics",
    "single.store.self.join",
)
_DSL_STORES = {
    "rocksdb": "rocksDB",
    "lmdb": "rocksDB",
    "persistent": "rocksDB",
    "in_memory": "in_memory",
}
_NAMED_SERDES: dict[str, type[Any]] = {
    cls.__name__.lower(): cls for cls in (Bytes, Double, Integer, Json, Long, MsgPack, String)
}


@dataclass(frozen=True, slots=True)
class _Key:
    """One Kafka Streams config key: its default, how to parse it, and the smallest int allowed."""

    default: Any
    kind: Literal[
        "str", "int", "bool", "guarantee", "serde", "handler", "extractor", "optimization", "dsl"
    ]
    minimum: int = 0


# fmt: off
_STREAMS_KEYS: dict[str, _Key] = {
    "application.id": _Key(None, "str"),            # required by KafkaStreams; group id, prefix
    "application.server": _Key("", "str"),          # host:port for interactive-query discovery
    "processing.guarantee": _Key(AT_LEAST_ONCE, "guarantee"),
    "commit.interval.ms": _Key(None, "int"),        # None: 30000, or 100 under exactly_once_v2
    "statestore.cache.max.bytes": _Key(10 * 1024 * 1024, "int"),  # 10 MiB for all caches
    "cache.max.bytes.buffering": _Key(None, "int"),  # deprecated name of the above
    "num.standby.replicas": _Key(0, "int"),
    "num.stream.threads": _Key(1, "int", minimum=1),
    "state.dir": _Key(os.path.join(tempfile.gettempdir(), "kstreamy"), "str"),
    "default.key.serde": _Key(None, "serde"),       # None: Bytes(), raw bytes pass through
    "default.value.serde": _Key(None, "serde"),
    "default.deserialization.exception.handler": _Key(None, "handler"),
    "deserialization.exception.handler": _Key(None, "handler"),  # Kafka 4 name, wins if set
    "processing.exception.handler": _Key(None, "handler"),
    "production.exception.handler": _Key(None, "handler"),
    "default.production.exception.handler": _Key(None, "handler"),  # pre-4.0 name
    DEAD_LETTER_QUEUE_TOPIC_CONFIG: _Key(None, "str"),
    "default.timestamp.extractor": _Key(None, "extractor"),  # None: the record's timestamp
    "max.task.idle.ms": _Key(0, "int", minimum=-1),  # -1: never wait for empty partitions
    "buffered.records.per.partition": _Key(1000, "int", minimum=1),
    "poll.ms": _Key(100, "int"),
    "state.cleanup.delay.ms": _Key(600_000, "int"),
    "task.timeout.ms": _Key(300_000, "int"),
    "replication.factor": _Key(-1, "int", minimum=-1),  # -1: the broker's default
    "topology.optimization": _Key("none", "optimization"),
    "default.dsl.store": _Key("rocksDB", "dsl"),    # rocksDB means our persistent LMDB stores
    "windowstore.changelog.additional.retention.ms": _Key(86_400_000, "int"),
    "acceptable.recovery.lag": _Key(10_000, "int"),
    "max.warmup.replicas": _Key(2, "int", minimum=1),
    "probing.rebalance.interval.ms": _Key(600_000, "int", minimum=60_000),
    "repartition.purge.interval.ms": _Key(30_000, "int"),
    "metrics.recording.level": _Key("INFO", "str"),
    "upgrade.from": _Key(None, "str"),
    # kstreamy's own keys (no Kafka Streams equivalent)
    "kstreamy.gc.tuning": _Key(True, "bool"),       # workers tune Python's GC (gc_tuning.py)
    "kstreamy.lmdb.map.size": _Key(64 * 1024 * 1024, "int", minimum=1),  # initial LMDB map
}

# Settings every librdkafka client understands, passed on unprefixed (Kafka Streams does the same
# for its Java clients). Callbacks (error_cb, ...) are confluent-kafka's own keys.
_COMMON_CLIENT_KEYS = frozenset({
    "bootstrap.servers", "client.id", "client.rack", "security.protocol", "debug", "log_level",
    "statistics.interval.ms", "connections.max.idle.ms", "client.dns.lookup",
    "enable.ssl.certificate.verification", "enable.sasl.oauthbearer.unsecure.jwt",
    "error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger",
})
_COMMON_CLIENT_PREFIXES = (
    "ssl.", "sasl.", "socket.", "metadata.", "topic.metadata.", "reconnect.backoff.",
    "retry.backoff.", "api.version.", "broker.", "log.",
)
_CLIENT_PREFIXES: dict[str, tuple[str, ...]] = {  # applied in order: later prefixes win
    "consumer": ("consumer.", "main.consumer."),
    "restore_consumer": ("consumer.", "restore.consumer."),
    "global_consumer": ("consumer.", "global.consumer."),
    "producer": ("producer.",),
    "admin": ("admin.",),
}
_ALL_PREFIXES = ("main.consumer.", "restore.consumer.", "global.consumer.", "consumer.",
                 "producer.", "admin.", "topic.")

# Client defaults chosen by Kafka Streams (or by us, for librdkafka), each overridable by prefix.
_CONSUMER_DEFAULTS: dict[str, Any] = {
    "auto.offset.reset": "earliest",      # Streams: a new app reads its topics from the start
    "enable.partition.eof": False,        # no EOF events in the poll loop
    "fetch.queue.backoff.ms": 10,         # librdkafka's 1000 ms default was measured to stall polls
    "partition.assignment.strategy": "range",  # partition i of co-partitioned topics -> same member
}
_PRODUCER_DEFAULTS: dict[str, Any] = {
    "partitioner": "murmur2_random",      # Java's default partitioner: same partition for a key
    "linger.ms": 5,                       # small batches; the commit flushes the producer anyway
    "acks": "all",                        # Kafka's default since 3.0; no loss on leader failover
}
_EOS_PRODUCER_DEFAULTS: dict[str, Any] = {
    "transaction.timeout.ms": 10_000,     # Streams' EOS default: fence a dead worker quickly
}
# fmt: on


class StreamsConfig:
    """A validated Kafka Streams configuration (read-only).

    `StreamsConfig({"application.id": "cart", "processing.guarantee": "exactly_once_v2"})`.
    Invalid values raise `ConfigError` naming the key and the accepted values. Unknown keys that
    are neither Streams keys, common client keys, nor prefixed are dropped with a warning.
    """

    __slots__ = ("_handlers", "_originals", "_values")

    def __init__(self, config: Mapping[str, Any] | StreamsConfig | None = None) -> None:
        if isinstance(config, StreamsConfig):
            config = config._originals
        originals = {k: v for k, v in (config or {}).items() if v is not None}
        for key in originals:
            if not isinstance(key, str):
                raise ConfigError(f"config keys must be strings, got {key!r}")
        self._originals: dict[str, Any] = originals
        self._values: dict[str, Any] = {
            name: _parse(name, spec, originals.get(name, spec.default))
            for name, spec in _STREAMS_KEYS.items()
        }
        self._resolve_aliases()
        self._handlers = self._resolve_handlers()
        for key in originals:
            if not _is_known(key):
                logger.warning(
                    "Ignoring unknown config key '%s': it is not a Kafka Streams key; prefix it "
                    "with consumer., producer. or admin. to pass it to a client",
                    key,
                )

    def _resolve_aliases(self) -> None:
        values = self._values
        if values["commit.interval.ms"] is None:
            values["commit.interval.ms"] = 100 if self.exactly_once else 30_000
        if (
            "statestore.cache.max.bytes" not in self._originals
            and values["cache.max.bytes.buffering"] is not None
        ):
            values["statestore.cache.max.bytes"] = values["cache.max.bytes.buffering"]
        if values["deserialization.exception.handler"] is None:
            values["deserialization.exception.handler"] = values[
                "default.deserialization.exception.handler"
            ]
        if values["production.exception.handler"] is None:
            values["production.exception.handler"] = values["default.production.exception.handler"]
        for key in ("default.key.serde", "default.value.serde"):
            if values[key] is None:
                values[key] = Bytes()

    def _resolve_handlers(self) -> dict[str, Any]:
        dlq = self._values[DEAD_LETTER_QUEUE_TOPIC_CONFIG]
        kinds: dict[HandlerKind, str] = {
            "deserialization": "deserialization.exception.handler",
            "processing": "processing.exception.handler",
            "production": "production.exception.handler",
        }
        return {
            kind: resolve_handler(self._values[key], kind, dead_letter_queue_topic=dlq)
            for kind, key in kinds.items()
        }

    # ------------------------------------------------------------------ generic access

    @property
    def originals(self) -> dict[str, Any]:
        """A copy of the user's settings, as given."""
        return dict(self._originals)

    def get(self, key: str, default: Any = None) -> Any:
        """The parsed value of a Streams key (with its default), else the raw user setting."""
        if key in self._values:
            return self._values[key]
        return self._originals.get(key, default)

    def get_int(self, key: str) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return _to_int(key, value)
        return value

    def get_str(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else str(value)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        return default if value is None else _to_bool(key, value)

    def as_dict(self) -> dict[str, Any]:
        """User settings overlaid with every Streams key's parsed value (for `app_config`)."""
        return {**self._originals, **self._values}

    def __repr__(self) -> str:
        return f"StreamsConfig({self._originals!r})"

    # ------------------------------------------------------------------ typed accessors

    @property
    def application_id(self) -> str | None:
        return self._values["application.id"]  # type: ignore[no-any-return]

    @property
    def bootstrap_servers(self) -> str | None:
        value = self._originals.get("bootstrap.servers")
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return None if value is None else str(value)

    @property
    def processing_guarantee(self) -> str:
        return self._values["processing.guarantee"]  # type: ignore[no-any-return]

    @property
    def exactly_once(self) -> bool:
        return bool(self._values["processing.guarantee"] == EXACTLY_ONCE_V2)

    @property
    def commit_interval_ms(self) -> int:
        return self._values["commit.interval.ms"]  # type: ignore[no-any-return]

    @property
    def cache_max_bytes(self) -> int:
        return self._values["statestore.cache.max.bytes"]  # type: ignore[no-any-return]

    @property
    def num_standby_replicas(self) -> int:
        return self._values["num.standby.replicas"]  # type: ignore[no-any-return]

    @property
    def num_stream_threads(self) -> int:
        return self._values["num.stream.threads"]  # type: ignore[no-any-return]

    @property
    def state_dir(self) -> str:
        return self._values["state.dir"]  # type: ignore[no-any-return]

    @property
    def default_key_serde(self) -> Serde:
        return self._values["default.key.serde"]  # type: ignore[no-any-return]

    @property
    def default_value_serde(self) -> Serde:
        return self._values["default.value.serde"]  # type: ignore[no-any-return]

    @property
    def application_server(self) -> str:
        return self._values["application.server"]  # type: ignore[no-any-return]

    @property
    def max_task_idle_ms(self) -> int:
        return self._values["max.task.idle.ms"]  # type: ignore[no-any-return]

    @property
    def buffered_records_per_partition(self) -> int:
        return self._values["buffered.records.per.partition"]  # type: ignore[no-any-return]

    @property
    def poll_ms(self) -> int:
        return self._values["poll.ms"]  # type: ignore[no-any-return]

    @property
    def state_cleanup_delay_ms(self) -> int:
        return self._values["state.cleanup.delay.ms"]  # type: ignore[no-any-return]

    @property
    def replication_factor(self) -> int:
        return self._values["replication.factor"]  # type: ignore[no-any-return]

    @property
    def topology_optimizations(self) -> frozenset[str]:
        """The enabled optimization names (all of them for `topology.optimization=all`)."""
        return self._values["topology.optimization"]  # type: ignore[no-any-return]

    @property
    def default_dsl_store_persistent(self) -> bool:
        """True unless `default.dsl.store=in_memory`."""
        return bool(self._values["default.dsl.store"] != "in_memory")

    @property
    def timestamp_extractor(self) -> Any:
        """The `default.timestamp.extractor`, or None for the record's own timestamp."""
        return self._values["default.timestamp.extractor"]

    @property
    def dead_letter_queue_topic(self) -> str | None:
        return self._values[DEAD_LETTER_QUEUE_TOPIC_CONFIG]  # type: ignore[no-any-return]

    @property
    def deserialization_exception_handler(self) -> Any:
        """The resolved deserialization handler (default: log and fail)."""
        return self._handlers["deserialization"]

    @property
    def processing_exception_handler(self) -> Any:
        return self._handlers["processing"]

    @property
    def production_exception_handler(self) -> Any:
        return self._handlers["production"]

    def require_kafka_settings(self) -> None:
        """Raise `ConfigError` unless `application.id` and `bootstrap.servers` are set."""
        for key in ("application.id", "bootstrap.servers"):
            if not self._originals.get(key):
                raise ConfigError(f"{key} is required to run on Kafka; set it in the config")

    # ------------------------------------------------------------------ clients

    def topic_config(self) -> dict[str, Any]:
        """`topic.`-prefixed settings (prefix stripped) for the internal topics Streams creates."""
        return {
            key[len("topic.") :]: value
            for key, value in self._originals.items()
            if key.startswith("topic.") and not key.startswith("topic.metadata.")
        }

    def client_config(self, kind: ClientKind) -> dict[str, Any]:
        """The librdkafka config for one client, ready for `confluent_kafka.Consumer(...)` etc.

        Order of precedence: Streams defaults < unprefixed common client keys < prefixed keys <
        settings Streams must control (group.id, enable.auto.commit, and under exactly_once_v2
        isolation.level / enable.idempotence), which are enforced with a warning if overridden.
        """
        if kind not in _CLIENT_PREFIXES:
            raise ConfigError(
                f"unknown client kind {kind!r}; use one of {sorted(_CLIENT_PREFIXES)}"
            )
        config: dict[str, Any] = dict(self._client_defaults(kind))
        for key, value in self._originals.items():
            if not key.startswith(_ALL_PREFIXES) and _is_common_client_key(key):
                config[key] = value
        for prefix in _CLIENT_PREFIXES[kind]:
            for key, value in self._originals.items():
                if key.startswith(prefix):
                    config[key[len(prefix) :]] = value
        for key, value in self._forced_client_settings(kind).items():
            if key in config and str(config[key]).lower() != str(value).lower():
                logger.warning(
                    "Overriding %s=%r for the %s client: Kafka Streams requires %s=%r",
                    key,
                    config[key],
                    kind,
                    key,
                    value,
                )
            config[key] = value
        return config

    def _client_defaults(self, kind: ClientKind) -> dict[str, Any]:
        if kind == "admin":
            return {}
        if kind == "producer":
            return {**_PRODUCER_DEFAULTS, **(_EOS_PRODUCER_DEFAULTS if self.exactly_once else {})}
        isolation = "read_committed" if self.exactly_once else "read_uncommitted"
        return {**_CONSUMER_DEFAULTS, "isolation.level": isolation}

    def _forced_client_settings(self, kind: ClientKind) -> dict[str, Any]:
        forced: dict[str, Any] = {}
        app_id = self.application_id
        if kind == "producer":
            if self.exactly_once:
                forced["enable.idempotence"] = True
                forced["acks"] = "all"
            return forced
        if kind == "admin":
            return forced
        forced["enable.auto.commit"] = False  # Streams commits offsets itself, after processing
        if self.exactly_once:
            forced["isolation.level"] = "read_committed"
        if app_id:
            # librdkafka needs a group.id even for assign()-only consumers; restore and global
            # consumers get their own so they never touch the application's group.
            suffix = {"consumer": "", "restore_consumer": "-restore", "global_consumer": "-global"}
            forced["group.id"] = app_id + suffix[kind]
        return forced


# ---------------------------------------------------------------------- parsing helpers


def _is_common_client_key(key: str) -> bool:
    return key in _COMMON_CLIENT_KEYS or key.startswith(_COMMON_CLIENT_PREFIXES)


def _is_known(key: str) -> bool:
    return key in _STREAMS_KEYS or key.startswith(_ALL_PREFIXES) or _is_common_client_key(key)


def _to_int(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{key} must be an integer, got {value!r}")


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _parse(key: str, spec: _Key, value: Any) -> Any:
    if value is None:
        return None
    parse = _PARSERS[spec.kind]
    return parse(key, spec, value)


def _parse_int(key: str, spec: _Key, value: Any) -> int:
    number = _to_int(key, value)
    if number < spec.minimum:
        raise ConfigError(f"{key} must be at least {spec.minimum}, got {number}")
    return number


def _parse_str(key: str, spec: _Key, value: Any) -> str:
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    return value


def _parse_guarantee(key: str, spec: _Key, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in _GUARANTEES:
        hint = "; use exactly_once_v2" if text.startswith("exactly_once") else ""
        raise ConfigError(f"{key} must be one of {', '.join(_GUARANTEES)}, got {value!r}{hint}")
    return text


def _parse_serde(key: str, spec: _Key, value: Any) -> Serde:
    if isinstance(value, str):
        cls = _NAMED_SERDES.get(value.strip().lower())
        if cls is None:
            raise ConfigError(
                f"{key} must be a Serde instance (e.g. String()) or one of "
                f"{sorted(c.__name__ for c in _NAMED_SERDES.values())}, got {value!r}"
            )
        value = cls
    if isinstance(value, type):
        try:
            value = value()
        except TypeError as exc:
            raise ConfigError(f"{key}: cannot build serde {value.__name__}() ({exc})") from exc
    if not isinstance(value, Serde):
        raise ConfigError(
            f"{key} must be a Serde (an object with serialize/deserialize), got {value!r}"
        )
    return value


def _parse_handler(key: str, spec: _Key, value: Any) -> Any:
    return value  # resolved once the dead-letter topic is known


def _parse_extractor(key: str, spec: _Key, value: Any) -> Any:
    from kstreamy.timestamps import resolve_timestamp_extractor

    resolve_timestamp_extractor(value)  # validates names; raises ConfigError naming the choices
    return value


def _parse_optimization(key: str, spec: _Key, value: Any) -> frozenset[str]:
    names = [part.strip().lower() for part in str(value).split(",") if part.strip()]
    if names == ["all"]:
        return frozenset(_OPTIMIZATIONS)
    if names in ([], ["none"]):
        return frozenset()
    unknown = [name for name in names if name not in _OPTIMIZATIONS]
    if unknown:
        raise ConfigError(
            f"{key} must be 'none', 'all' or a comma-separated list of "
            f"{', '.join(_OPTIMIZATIONS)}; got {value!r}"
        )
    return frozenset(names)


def _parse_dsl(key: str, spec: _Key, value: Any) -> str:
    store = _DSL_STORES.get(str(value).strip().lower())
    if store is None:
        raise ConfigError(f"{key} must be rocksDB (persistent) or in_memory, got {value!r}")
    return store


_PARSERS: dict[str, Callable[[str, _Key, Any], Any]] = {
    "str": _parse_str,
    "int": _parse_int,
    "bool": lambda key, spec, value: _to_bool(key, value),
    "guarantee": _parse_guarantee,
    "serde": _parse_serde,
    "handler": _parse_handler,
    "extractor": _parse_extractor,
    "optimization": _parse_optimization,
    "dsl": _parse_dsl,
}
