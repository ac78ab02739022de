"""`kstreamy reset`: refuses while the app runs; then input offsets go back to the start, internal
topics and local state are deleted, and the next run re-processes everything."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.runtime.reset import (
    ActiveMembersError,
    internal_topics_of,
    register,
    reset_application,
)
from kstreamy.testing.kafka import KafkaTestClient, unique_topic

from .conftest import wait_until
from .topologies import word_count


def test_internal_topics_are_recognised_by_prefix_and_suffix() -> None:
    topics = ["app-a-changelog", "app-x-repartition", "app-input", "other-a-changelog", "app"]
    assert internal_topics_of("app", topics) == ["app-a-changelog", "app-x-repartition"]


def test_cli_registration() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["reset", "--application-id", "a", "--bootstrap", "b:1"])
    assert (args.application_id, args.bootstrap, args.keep_state) == ("a", "b:1", False)
    assert callable(args.func)


@pytest.mark.kafka
@pytest.mark.timeout(90)
def test_reset_application(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    bootstrap = kafka_client.bootstrap
    source, sink = unique_topic("reset-in"), unique_topic("reset-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink)
    kafka_client.produce(source, [(None, "a b c"), (None, "a b"), (None, "a")])
    app_id = unique_topic("reset-app")
    config = {
        "application.id": app_id,
        "bootstrap.servers": bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 100,
    }

    def run_until_counted() -> KafkaStreams:
        app = KafkaStreams(word_count(source, sink), config)
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        store = app.store("counts")
        wait_until(lambda: dict(store.all()) == {"a": 3, "b": 2, "c": 1}, 30, "counts")
        return app

    app = run_until_counted()
    try:
        with pytest.raises(ActiveMembersError, match="active member"):
            reset_application(app_id, bootstrap, str(tmp_path))
    finally:
        assert app.close(timeout=30)

    result = reset_application(app_id, bootstrap, str(tmp_path), input_topics=[source])
    assert result.deleted_topics == [f"{app_id}-counts-changelog", f"{app_id}-words-repartition"]
    assert result.input_offsets == {(source, 0): 0, (source, 1): 0}
    assert not (tmp_path / app_id).exists()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(app_id)])[app_id]
    offsets = {(tp.topic, tp.partition): tp.offset for tp in fut.result().topic_partitions}
    assert offsets[(source, 0)] == 0 and offsets[(source, 1)] == 0

    # a fresh start re-processes the input from the beginning: the same counts again
    assert run_until_counted().close(timeout=30)
