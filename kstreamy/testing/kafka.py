"""Helpers for tests against a real Kafka broker: find one, create topics, produce, consume.

:func:`acquire_broker` picks a broker in this order: ``KSTREAMY_BOOTSTRAP`` if set, Kafka in
testcontainers when a Docker engine answers, else a :class:`~kstreamy.broker.DevBroker` on a
free port in a temporary directory. The pytest fixtures in :mod:`kstreamy.testing.plugin` wrap
these; the helpers work without pytest too.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

BOOTSTRAP_ENV = "KSTREAMY_BOOTSTRAP"
_QUIET_LOGGER = logging.getLogger("kstreamy.testing.probe")
_QUIET_LOGGER.addHandler(logging.NullHandler())
_QUIET_LOGGER.propagate = False
# librdkafka's own log lines from the helpers' clients go to Python logging (pytest shows them
# with a failing test) instead of straight to stderr.
_CLIENT_LOGGER = logging.getLogger("kstreamy.testing.kafka")
_CLIENT_LOGGER.addHandler(logging.NullHandler())
DOCKER_PING_TIMEOUT_S = 2.0

RawKey = bytes | str | None


class _Serializer(Protocol):
    def serialize(self, topic: str, obj: Any) -> bytes | None: ...


class _Deserializer(Protocol):
    def deserialize(self, topic: str, data: bytes | None) -> Any: ...


class NoBrokerError(Exception):
    """No Kafka broker could be had; the message says why for each option and what to do."""


@dataclass
class BrokerHandle:
    """A broker in use by a test session: its address, where it came from, how to release it."""

    bootstrap: str
    source: str
    release: Callable[[], None] = field(default=lambda: None)


# -- finding a broker ----------------------------------------------------------------------
def acquire_broker(*, wait: float | None = None) -> BrokerHandle:
    """A reachable broker: KSTREAMY_BOOTSTRAP, else testcontainers, else a fresh dev broker.

    ``wait`` bounds how long a configured KSTREAMY_BOOTSTRAP may take to answer (default:
    ``KSTREAMY_BOOTSTRAP_WAIT_S`` or 30 s). Raises :class:`NoBrokerError` naming what was tried
    and what to do.
    """
    configured = os.environ.get(BOOTSTRAP_ENV)
    if configured:
        if wait is None:
            wait = float(os.environ.get("KSTREAMY_BOOTSTRAP_WAIT_S", "30"))
        if not wait_for_metadata(configured, timeout=wait):
            raise NoBrokerError(
                f"{BOOTSTRAP_ENV}={configured} is set, but no Kafka broker answered metadata "
                f"requests there within {wait:g} s. Start that cluster, or unset "
                f"{BOOTSTRAP_ENV} to let the tests start their own broker."
            )
        return BrokerHandle(configured, BOOTSTRAP_ENV)
    reasons: list[str] = []
    if docker_engine_answers():
        try:
            return _testcontainers_broker()
        except Exception as exc:  # any failure here falls through to the dev broker
            reasons.append(f"testcontainers' Kafka failed to start ({exc})")
    else:
        reasons.append("no Docker engine answered, so testcontainers was not used")
    try:
        return _dev_broker()
    except Exception as exc:
        reasons.append(f"the dev broker failed to start: {exc}")
    raise NoBrokerError("No Kafka broker for the tests: " + "; ".join(reasons))


def docker_engine_answers(timeout: float = DOCKER_PING_TIMEOUT_S) -> bool:
    """True when a Docker engine answers ``GET /_ping`` on DOCKER_HOST or the default socket."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            path = host.removeprefix("unix://")
            if not os.path.exists(path):
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(path)
            except OSError:
                sock.close()
                raise
        elif host.startswith("tcp://"):
            address, _, port = host.removeprefix("tcp://").rstrip("/").rpartition(":")
            sock = socket.create_connection((address, int(port)), timeout=timeout)
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
    except (OSError, ValueError):
        return False
    return reply.startswith(b"HTTP/") and b" 200 " in reply.split(b"\r\n", 1)[0] + b" "


def _testcontainers_broker() -> BrokerHandle:
    try:  # testcontainers >= 4.10 moved Kafka to .community; the old path warns
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:
        from testcontainers.kafka import KafkaContainer

    image = os.environ.get("KSTREAMY_TESTCONTAINERS_IMAGE")
    container = KafkaContainer(image) if image else KafkaContainer()
    # Kafka in KRaft mode, like the dev broker (no ZooKeeper container).
    container = container.with_kraft() if hasattr(container, "with_kraft") else container
    container.start()
    bootstrap = str(container.get_bootstrap_server())
    return BrokerHandle(bootstrap, "testcontainers", container.stop)


_DIR_PREFIX = "kstreamy-test-broker-"


def _dev_broker() -> BrokerHandle:
    from kstreamy.broker import DevBroker
    from kstreamy.broker.config import free_port

    _sweep_stale_dirs()
    directory = tempfile.mkdtemp(prefix=_DIR_PREFIX)
    broker = DevBroker(directory, free_port())

    def release() -> None:
        atexit.unregister(release)
        try:
            broker.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(release)  # also stops it when the session ends without the finalizer
    try:
        bootstrap = broker.start(tie_to_parent=True, any_port=True)
    except BaseException:
        release()
        raise
    return BrokerHandle(bootstrap, f"dev broker in {directory}", release)


def _sweep_stale_dirs(max_age_s: float = 3600.0) -> None:
    """Remove directories of dev brokers from killed sessions (their broker is gone too)."""
    from kstreamy.broker.process import pid_alive

    for path in Path(tempfile.gettempdir()).glob(_DIR_PREFIX + "*"):
        try:
            pid_text = (path / "broker.pid").read_text().strip()
        except FileNotFoundError:
            pid_text = ""
        except OSError:
            continue
        try:
            stale = (
                not pid_alive(int(pid_text))
                if pid_text.isdigit()
                else time.time() - path.stat().st_mtime > max_age_s
            )
        except OSError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)


def wait_for_metadata(bootstrap: str, timeout: float = 30.0) -> bool:
    """True once a broker at ``bootstrap`` answers a metadata request within ``timeout``."""
    from confluent_kafka import KafkaException

    admin = _admin(bootstrap, quiet=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if admin.list_topics(timeout=min(2.0, timeout)).brokers:
                return True
        except KafkaException:
            time.sleep(0.2)
    return False


# -- topics --------------------------------------------------------------------------------
def unique_topic(prefix: str = "test") -> str:
    """A topic name no other test uses: ``prefix`` (sanitised) plus a random suffix."""
    clean = re.sub(r"[^a-zA-Z0-9._-]+", "-", prefix).strip("-.")[:120] or "test"
    return f"{clean}-{uuid.uuid4().hex[:10]}"


def create_topics(
    bootstrap: str,
    topics: str | Sequence[str] | Mapping[str, int],
    *,
    partitions: int = 1,
    config: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Create topics (a name, names, or name -> partition count); return once all have leaders.

    Idempotent: an existing topic with the wanted partition count is fine; one with a different
    count raises AssertionError.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    wanted = _partition_counts(topics, partitions)
    admin = _admin(bootstrap)
    new = [
        NewTopic(name, num_partitions=n, replication_factor=1, config=dict(config or {}))
        for name, n in wanted.items()
    ]
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise AssertionError(f"creating topic {name!r} failed: {exc}") from exc
    _wait_for_partitions(admin, wanted, timeout)


def delete_topics(bootstrap: str, topics: Sequence[str], *, timeout: float = 30.0) -> None:
    """Delete topics; missing ones are ignored."""
    from confluent_kafka import KafkaError, KafkaException

    for name, future in _admin(bootstrap).delete_topics(list(topics)).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise AssertionError(f"deleting topic {name!r} failed: {exc}") from exc


def _partition_counts(
    topics: str | Sequence[str] | Mapping[str, int], partitions: int
) -> dict[str, int]:
    if isinstance(topics, str):
        return {topics: partitions}
    if isinstance(topics, Mapping):
        return dict(topics)
    return dict.fromkeys(topics, partitions)


def _wait_for_partitions(admin: Any, wanted: Mapping[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=timeout)
        seen = {}
        for name in wanted:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                continue
            seen[name] = sum(1 for p in topic.partitions.values() if p.leader >= 0)
            if len(topic.partitions) != seen[name]:
                seen[name] = -1  # some partition has no leader yet
        mismatched = {n: seen[n] for n in wanted if n in seen and seen[n] > wanted[n]}
        if mismatched:
            raise AssertionError(
                f"topics exist with other partition counts than wanted: {mismatched} "
                f"(wanted {dict(wanted)}); use fresh names, e.g. unique_topic()"
            )
        if all(seen.get(n) == count for n, count in wanted.items()):
            return
        time.sleep(0.1)
    raise AssertionError(
        f"topics {dict(wanted)} were not ready within {timeout} s (partitions with a leader: "
        f"{seen})"
    )


# -- records -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsumedRecord:
    """One record read back by :func:`consume`."""

    topic: str
    partition: int
    offset: int
    key: Any
    value: Any
    timestamp: int
    headers: list[tuple[str, bytes]]


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[Any, Any] | tuple[Any, Any, int | None]],
    *,
    partition: int | None = None,
    key_serde: _Serializer | None = None,
    value_serde: _Serializer | None = None,
    headers: Sequence[tuple[str, bytes]] | None = None,
    timeout: float = 30.0,
) -> int:
    """Produce ``(key, value)`` or ``(key, value, timestamp_ms)`` records; wait until acked.

    Keys and values are bytes, str (UTF-8) or None, or anything the given serdes serialise.
    Returns the number of records written; raises AssertionError on any delivery failure.
    """
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "logger": _CLIENT_LOGGER}
    )
    failures: list[str] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            failures.append(f"{msg.topic()}[{msg.partition()}]: {err}")

    count = 0
    for record in records:
        key, value = record[0], record[1]
        timestamp = record[2] if len(record) > 2 else None
        kwargs: dict[str, Any] = {"on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        if headers:
            kwargs["headers"] = list(headers)
        producer.produce(
            topic, key=_encode(topic, key, key_serde), value=_encode(topic, value, value_serde),
            **kwargs,
        )  # fmt: skip
        producer.poll(0)
        count += 1
    remaining = producer.flush(timeout)
    if remaining or failures:
        raise AssertionError(
            f"producing to {topic!r}: {remaining} records unsent after {timeout} s; "
            f"failures: {failures[:5]}"
        )
    return count


def consume(
    bootstrap: str,
    topics: str | Sequence[str],
    n: int | None,
    *,
    timeout: float = 30.0,
    key_serde: _Deserializer | None = None,
    value_serde: _Deserializer | None = None,
    isolation_level: str = "read_committed",
) -> list[ConsumedRecord]:
    """Read ``n`` records from the start of every partition of ``topics`` (no consumer group).

    With ``n=None``, read until the end of every partition instead. Raises AssertionError if
    fewer than ``n`` records (or not the end) arrive within ``timeout`` seconds.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    names = [topics] if isinstance(topics, str) else list(topics)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"kstreamy-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": n is None,
            "isolation.level": isolation_level,
            "logger": _CLIENT_LOGGER,
        }
    )
    got: list[ConsumedRecord] = []
    try:
        metadata = consumer.list_topics(timeout=timeout)
        assignment = []
        for name in names:
            if name not in metadata.topics or metadata.topics[name].error is not None:
                raise AssertionError(f"cannot consume from {name!r}: the topic does not exist")
            for p in metadata.topics[name].partitions:
                assignment.append(TopicPartition(name, p, OFFSET_BEGINNING))
        consumer.assign(assignment)
        pending_eof = {(tp.topic, tp.partition) for tp in assignment}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if n is not None and len(got) >= n:
                return got
            if n is None and not pending_eof:
                return got
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending_eof.discard((msg.topic(), msg.partition()))
                    continue
                raise AssertionError(f"consuming from {names}: {error}")
            got.append(_decode(msg, key_serde, value_serde))
    finally:
        consumer.close()
    wanted = "to the end of every partition" if n is None else f"{n} records"
    raise AssertionError(
        f"consuming {wanted} from {names} timed out after {timeout} s with {len(got)} "
        f"records: {[(r.key, r.value) for r in got[:10]]}"
    )


def _encode(topic: str, obj: Any, serde: _Serializer | None) -> bytes | None:
    if serde is not None:
        return serde.serialize(topic, obj)
    if obj is None or isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        return obj.encode()
    raise TypeError(
        f"cannot produce {type(obj).__name__} to {topic!r} without a serde: pass bytes, str "
        "or None, or key_serde=/value_serde="
    )


def _decode(
    msg: Any, key_serde: _Deserializer | None, value_serde: _Deserializer | None
) -> ConsumedRecord:
    topic: str = msg.topic()
    key, value = msg.key(), msg.value()
    return ConsumedRecord(
        topic=topic,
        partition=msg.partition(),
        offset=msg.offset(),
        key=key_serde.deserialize(topic, key) if key_serde else key,
        value=value_serde.deserialize(topic, value) if value_serde else value,
        timestamp=msg.timestamp()[1],
        headers=[(k, v) for k, v in (msg.headers() or [])],
    )


def _admin(bootstrap: str, *, quiet: bool = False) -> Any:
    from confluent_kafka.admin import AdminClient

    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": _CLIENT_LOGGER}
    if quiet:  # no "connection refused" lines while probing a broker that may not be up
        conf.update({"logger": _QUIET_LOGGER, "error_cb": lambda _err: None})
    return AdminClient(conf)


# -- a bound helper for tests --------------------------------------------------------------
class KafkaTestClient:
    """The helpers above bound to one broker, with topic names unique to one test."""

    def __init__(self, bootstrap: str, prefix: str = "test") -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix

    def unique_topic(self, suffix: str = "") -> str:
        """A fresh topic name (not created)."""
        return unique_topic(f"{self.prefix}-{suffix}" if suffix else self.prefix)

    def create_topic(
        self,
        name: str | None = None,
        *,
        partitions: int = 1,
        config: Mapping[str, str] | None = None,
    ) -> str:
        """Create one topic (a fresh name unless given) and return its name."""
        topic = name or self.unique_topic()
        create_topics(self.bootstrap, topic, partitions=partitions, config=config)
        return topic

    def produce(self, topic: str, records: Iterable[Any], **kwargs: Any) -> int:
        """See :func:`produce`."""
        return produce(self.bootstrap, topic, records, **kwargs)

    def consume(
        self, topics: str | Sequence[str], n: int | None, **kwargs: Any
    ) -> list[ConsumedRecord]:
        """See :func:`consume`."""
        return consume(self.bootstrap, topics, n, **kwargs)
