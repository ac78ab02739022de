"""Testing support: the TopologyTestDriver (no broker), and helpers and pytest fixtures for a real
Kafka broker.

The pytest fixtures (``kafka_bootstrap``, ``kafka_client``) come from the plugin
:mod:`kstreamy.testing.plugin`, which pytest loads automatically once kstreamy is installed.
"""

from kstreamy.testing.driver import (
    KeyValue,
    TestInputTopic,
    TestOutputTopic,
    TestRecord,
    TopologyTestDriver,
)
from kstreamy.testing.kafka import (
    BrokerHandle,
    ConsumedRecord,
    KafkaTestClient,
    NoBrokerError,
    acquire_broker,
    consume,
    create_topics,
    delete_topics,
    docker_engine_answers,
    produce,
    unique_topic,
    wait_for_metadata,
)

__all__ = [
    "BrokerHandle",
    "ConsumedRecord",
    "KafkaTestClient",
    "KeyValue",
    "NoBrokerError",
    "TestInputTopic",
    "TestOutputTopic",
    "TestRecord",
    "TopologyTestDriver",
    "acquire_broker",
    "consume",
    "create_topics",
    "delete_topics",
    "docker_engine_answers",
    "produce",
    "unique_topic",
    "wait_for_metadata",
]
