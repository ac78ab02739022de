"""StreamsConfig: Kafka Streams' defaults, validation, and per-client librdkafka configs."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import pytest

from kstreamy.config import StreamsConfig
from kstreamy.errors import (
    ConfigError,
    DeadLetterQueueHandler,
    LogAndContinueHandler,
    LogAndFailHandler,
)
from kstreamy.serdes import Bytes, Long, String

BASE = {"application.id": "cart", "bootstrap.servers": "127.0.0.1:9092"}


def config(**overrides: Any) -> StreamsConfig:
    return StreamsConfig({**BASE, **{k.replace("_", "."): v for k, v in overrides.items()}})


# --------------------------------------------------------------------------- defaults


def test_kafka_streams_defaults() -> None:
    c = StreamsConfig(BASE)
    assert c.application_id == "cart"
    assert c.bootstrap_servers == "127.0.0.1:9092"
    assert c.processing_guarantee == "at_least_once" and not c.exactly_once
    assert c.commit_interval_ms == 30_000
    assert c.cache_max_bytes == 10 * 1024 * 1024
    assert c.num_standby_replicas == 0
    assert c.num_stream_threads == 1
    assert c.state_dir == os.path.join(tempfile.gettempdir(), "kstreamy")
    assert c.max_task_idle_ms == 0
    assert c.buffered_records_per_partition == 1000
    assert c.poll_ms == 100
    assert c.replication_factor == -1
    assert c.application_server == ""
    assert c.topology_optimizations == frozenset()
    assert c.timestamp_extractor is None
    assert c.dead_letter_queue_topic is None


def test_default_serdes_are_bytes_pass_through() -> None:
    c = StreamsConfig()
    assert c.default_key_serde == Bytes() and c.default_value_serde == Bytes()


def test_exactly_once_v2_commits_every_100_ms() -> None:
    c = StreamsConfig({"processing.guarantee": "exactly_once_v2"})
    assert c.exactly_once and c.commit_interval_ms == 100
    explicit = StreamsConfig({"processing.guarantee": "exactly_once_v2", "commit.interval.ms": 50})
    assert explicit.commit_interval_ms == 50


def test_deprecated_cache_key_is_honoured_and_new_key_wins() -> None:
    assert StreamsConfig({"cache.max.bytes.buffering": 5}).cache_max_bytes == 5
    both = StreamsConfig({"cache.max.bytes.buffering": 5, "statestore.cache.max.bytes": 0})
    assert both.cache_max_bytes == 0


def test_values_from_properties_files_are_parsed() -> None:
    c = StreamsConfig({"commit.interval.ms": "250", "num.stream.threads": " 4 "})
    assert c.commit_interval_ms == 250 and c.num_stream_threads == 4
    assert c.get_int("commit.interval.ms") == 250


def test_serdes_accept_instances_classes_and_names() -> None:
    c = StreamsConfig({"default.key.serde": String(), "default.value.serde": Long})
    assert c.default_key_serde == String() and c.default_value_serde == Long()
    assert StreamsConfig({"default.key.serde": "string"}).default_key_serde == String()


def test_handlers_are_resolved_with_the_dead_letter_topic() -> None:
    c = StreamsConfig(
        {
            "default.deserialization.exception.handler": "log_and_continue",
            "processing.exception.handler": "dead_letter",
            "errors.dead.letter.queue.topic.name": "cart-dlq",
        }
    )
    assert c.deserialization_exception_handler == LogAndContinueHandler("cart-dlq")
    assert c.processing_exception_handler == DeadLetterQueueHandler("cart-dlq")
    assert c.production_exception_handler == LogAndFailHandler("cart-dlq")
    assert StreamsConfig().deserialization_exception_handler == LogAndFailHandler()


def test_new_handler_key_wins_over_deprecated_default_key() -> None:
    c = StreamsConfig(
        {
            "default.deserialization.exception.handler": "fail",
            "deserialization.exception.handler": "log_and_continue",
        }
    )
    assert c.deserialization_exception_handler == LogAndContinueHandler()


def test_topology_optimization_all_and_lists() -> None:
    assert len(StreamsConfig({"topology.optimization": "all"}).topology_optimizations) == 3
    c = StreamsConfig({"topology.optimization": "merge.repartition.topics"})
    assert c.topology_optimizations == {"merge.repartition.topics"}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("processing.guarantee", "exactly_once", "at_least_once, exactly_once_v2"),
        ("processing.guarantee", "maybe", "at_least_once, exactly_once_v2"),
        ("commit.interval.ms", -1, "at least 0"),
        ("num.stream.threads", 0, "at least 1"),
        ("statestore.cache.max.bytes", "lots", "must be an integer"),
        ("num.standby.replicas", True, "must be an integer"),
        ("topology.optimization", "fast", "'none', 'all'"),
        ("default.key.serde", "Avro", "Serde"),
        ("default.value.serde", 42, "Serde"),
        ("processing.exception.handler", "ignore", "processing.exception.handler"),
        ("default.timestamp.extractor", 5, "callable"),
        ("default.dsl.store", "redis", "in_memory"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_key(
    key: str, value: Any, needle: str
) -> None:
    with pytest.raises(ConfigError) as info:
        StreamsConfig({key: value})
    assert key.split(".")[0] in str(info.value) or key in str(info.value)
    assert needle in str(info.value)


def test_require_kafka_settings() -> None:
    StreamsConfig(BASE).require_kafka_settings()
    with pytest.raises(ConfigError, match=r"application\.id"):
        StreamsConfig({"bootstrap.servers": "x"}).require_kafka_settings()


def test_unknown_keys_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kstreamy.config"):
        c = StreamsConfig({**BASE, "fetch.min.bytes": 5})
    assert "fetch.min.bytes" in caplog.text
    for kind in ("consumer", "producer", "admin"):
        assert "fetch.min.bytes" not in c.client_config(kind)


# --------------------------------------------------------------------------- client configs


def test_consumer_defaults_at_least_once() -> None:
    consumer = StreamsConfig(BASE).client_config("consumer")
    assert consumer == {
        "bootstrap.servers": "127.0.0.1:9092",
        "group.id": "cart",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "fetch.queue.backoff.ms": 10,
        "isolation.level": "read_uncommitted",
        "partition.assignment.strategy": "range",
    }


def test_producer_defaults() -> None:
    producer = StreamsConfig(BASE).client_config("producer")
    assert producer == {
        "bootstrap.servers": "127.0.0.1:9092",
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "acks": "all",
    }


def test_exactly_once_v2_client_settings() -> None:
    c = config(processing_guarantee="exactly_once_v2")
    assert c.client_config("consumer")["isolation.level"] == "read_committed"
    assert c.client_config("restore_consumer")["isolation.level"] == "read_committed"
    producer = c.client_config("producer")
    assert producer["enable.idempotence"] is True and producer["acks"] == "all"


def test_streams_only_keys_never_reach_clients() -> None:
    c = StreamsConfig(
        {
            **BASE,
            "commit.interval.ms": 5,
            "state.dir": "/x",
            "default.key.serde": String(),
            "topic.segment.bytes": 1024,
        }
    )
    for kind in ("consumer", "producer", "admin", "restore_consumer", "global_consumer"):
        client = c.client_config(kind)
        for key in (
            "application.id",
            "commit.interval.ms",
            "state.dir",
            "default.key.serde",
            "segment.bytes",
            "topic.segment.bytes",
        ):
            assert key not in client
    assert c.topic_config() == {"segment.bytes": 1024}


def test_common_security_settings_reach_every_client() -> None:
    c = StreamsConfig(
        {
            **BASE,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "PLAIN",
            "ssl.ca.location": "/ca.pem",
        }
    )
    for kind in ("consumer", "producer", "admin", "restore_consumer", "global_consumer"):
        client = c.client_config(kind)
        assert client["security.protocol"] == "SASL_SSL"
        assert client["sasl.mechanism"] == "PLAIN" and client["ssl.ca.location"] == "/ca.pem"


def test_prefixed_keys_reach_only_their_client_and_win() -> None:
    c = StreamsConfig(
        {
            **BASE,
            "client.id": "all",
            "consumer.client.id": "c",
            "producer.linger.ms": 50,
            "consumer.fetch.queue.backoff.ms": 100,
            "admin.request.timeout.ms": 9,
            "restore.consumer.fetch.max.bytes": 7,
            "main.consumer.client.id": "main",
        }
    )
    assert c.client_config("producer")["linger.ms"] == 50
    assert c.client_config("producer")["client.id"] == "all"
    assert "linger.ms" not in c.client_config("consumer")
    assert c.client_config("consumer")["fetch.queue.backoff.ms"] == 100
    assert c.client_config("consumer")["client.id"] == "main"  # main.consumer. beats consumer.
    assert c.client_config("restore_consumer")["client.id"] == "c"
    assert c.client_config("restore_consumer")["fetch.max.bytes"] == 7
    assert "fetch.max.bytes" not in c.client_config("consumer")
    assert c.client_config("admin") == {
        "bootstrap.servers": "127.0.0.1:9092",
        "client.id": "all",
        "request.timeout.ms": 9,
    }


def test_streams_controlled_settings_cannot_be_overridden(caplog: pytest.LogCaptureFixture) -> None:
    c = StreamsConfig(
        {
            **BASE,
            "processing.guarantee": "exactly_once_v2",
            "consumer.enable.auto.commit": True,
            "consumer.group.id": "other",
            "consumer.isolation.level": "read_uncommitted",
            "producer.enable.idempotence": False,
        }
    )
    with caplog.at_level(logging.WARNING, logger="kstreamy.config"):
        consumer = c.client_config("consumer")
        producer = c.client_config("producer")
    assert consumer["enable.auto.commit"] is False and consumer["group.id"] == "cart"
    assert consumer["isolation.level"] == "read_committed"
    assert producer["enable.idempotence"] is True
    assert "enable.auto.commit" in caplog.text


def test_restore_and_global_consumers_stay_out_of_the_application_group() -> None:
    c = StreamsConfig(BASE)
    assert c.client_config("restore_consumer")["group.id"] == "cart-restore"
    assert c.client_config("global_consumer")["group.id"] == "cart-global"
    assert "group.id" not in StreamsConfig().client_config("consumer")


def test_unknown_client_kind() -> None:
    with pytest.raises(ConfigError, match="client kind"):
        StreamsConfig().client_config("streams")  # type: ignore[arg-type]


def test_config_copies_and_exposes_originals() -> None:
    source = dict(BASE)
    c = StreamsConfig(source)
    source["application.id"] = "changed"
    assert c.application_id == "cart"
    assert StreamsConfig(c).originals == BASE
    assert c.as_dict()["commit.interval.ms"] == 30_000
    assert c.get("not.a.key", "fallback") == "fallback"
