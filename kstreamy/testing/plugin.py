"""The kstreamy pytest plugin (entry point ``pytest11``): fixtures for a real Kafka broker.

Fixtures:
- ``kafka_bootstrap`` (session): a broker's bootstrap address, from KSTREAMY_BOOTSTRAP, else
  testcontainers' Kafka when a Docker engine answers, else a dev broker in a temporary
  directory, stopped at the end of the session. When none can be had, every test using it
  fails (never skips) with the reason.
- ``kafka_client`` (function): a :class:`~kstreamy.testing.kafka.KafkaTestClient` bound to that
  broker, whose topic names start with the test's name.

Tests using these fixtures get the ``kafka`` marker automatically (select with ``-m kafka``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kstreamy.testing.kafka import KafkaTestClient, NoBrokerError, acquire_broker

KAFKA_MARKER = "kafka: needs a real Kafka broker (the kafka_bootstrap fixture provides one)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", KAFKA_MARKER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "kafka"
        ):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker for this test session."""
    try:
        handle = acquire_broker()
    except NoBrokerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield handle.bootstrap
    finally:
        handle.release()


@pytest.fixture
def kafka_client(kafka_bootstrap: str, request: pytest.FixtureRequest) -> KafkaTestClient:
    """Topic/produce/consume helpers bound to the session's broker, named after this test."""
    return KafkaTestClient(kafka_bootstrap, prefix=request.node.name[:60])
