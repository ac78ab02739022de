"""Word count on a real broker: repartition + changelogged store, compared with expected counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Long, String
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from .conftest import wait_until
from .topologies import word_count

LINES = [
    "the quick brown fox",
    "jumps over the lazy dog",
    "the dog barks",
    "a quick fox and a lazy dog",
] * 5


def _final_counts(bootstrap: str, topic: str, expected_total: int) -> dict[str, int]:
    records = consume(bootstrap, topic, expected_total, timeout=40, key_serde=String(),
                      value_serde=Long())  # fmt: skip
    return {r.key: r.value for r in records}


def _purged(bootstrap: str, topic: str) -> bool:
    """True once the low watermark of every partition of `topic` moved past 0."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "purge-check"})
    try:
        return all(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] > 0
            for p in (0, 1)
        )
    finally:
        consumer.close()


def _expected() -> Counter[str]:
    return Counter(w for line in LINES for w in line.split())


@pytest.mark.kafka
@pytest.mark.timeout(90)
def test_word_count_on_kafka(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    bootstrap = kafka_client.bootstrap
    source, sink = unique_topic("wc-in"), unique_topic("wc-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    kafka_client.produce(source, [(str(i), line) for i, line in enumerate(LINES)])
    app_id = unique_topic("wc-app")
    config = {
        "application.id": app_id,
        "bootstrap.servers": bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
        "repartition.purge.interval.ms": 0,
    }
    expected = _expected()
    app = KafkaStreams(word_count(source, sink), config)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        counts = _final_counts(bootstrap, sink, sum(expected.values()))
        assert counts == dict(expected)
        store = app.store("counts")
        wait_until(lambda: store.get("the") == expected["the"], 10, "store caught up")
        assert dict(store.all()) == dict(expected)
        wait_until(lambda: next(iter(app.metrics().values()))["commits"] >= 1, 10, "a commit")
        metrics = next(iter(app.metrics().values()))
        assert metrics["records_processed"] == len(LINES) + sum(expected.values())
        assert sorted(metrics["tasks"]) == ["0_0", "0_1", "1_0", "1_1"]
        wait_until(lambda: next(iter(app.metrics().values()))["lag"].get(f"{source}-0") == 0,
                   10, "lag reported")  # fmt: skip
        wait_until(lambda: _purged(bootstrap, f"{app_id}-words-repartition"), 15,
                   "consumed repartition records purged")  # fmt: skip
    finally:
        assert app.close(timeout=30)
    assert app.state is State.NOT_RUNNING
