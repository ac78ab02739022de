"""A real Apache Kafka broker for development and tests (``kstreamy broker ...``).

``DevBroker(directory, port).start()`` fetches Kafka with Maven once (cached), formats KRaft
storage, starts one broker+controller node on 127.0.0.1 and returns the bootstrap address once
it answers metadata requests; ``stop()`` ends it by its recorded pid.
"""

from kstreamy.broker.dev import BrokerStatus, DevBroker, default_dir
from kstreamy.broker.errors import BrokerError
from kstreamy.broker.toolchain import KAFKA_VERSION, KafkaJars, ensure_kafka, find_java

__all__ = [
    "KAFKA_VERSION",
    "BrokerError",
    "BrokerStatus",
    "DevBroker",
    "KafkaJars",
    "default_dir",
    "ensure_kafka",
    "find_java",
]
