"""Records keep their timestamps and headers through the Kafka runtime (Kafka Streams forwards the
input record's timestamp and headers to sinks), and dead-letter records with headers go out."""

from __future__ import annotations

from pathlib import Path

import pytest

from kstreamy import KafkaStreams, State, StreamsBuilder, String
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from .conftest import wait_until


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_output_keeps_record_timestamps_and_headers(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    source, sink = unique_topic("meta-in"), unique_topic("meta-out")
    kafka_client.create_topic(source, partitions=1)
    kafka_client.create_topic(sink, partitions=1)
    b = StreamsBuilder()
    b.stream(source, key_serde=String(), value_serde=String()).map_values(str.upper).to(
        sink, key_serde=String(), value_serde=String()
    )
    records = [("a", "x", 1_000), ("b", "y", 2_000), ("c", "z", 1_500)]
    kafka_client.produce(source, records, headers=[("trace", b"t-1")])
    app = KafkaStreams(
        b.build(),
        {
            "application.id": unique_topic("meta-app"),
            "bootstrap.servers": kafka_client.bootstrap,
            "state.dir": str(tmp_path),
        },
    )
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        out = consume(kafka_client.bootstrap, sink, 3, timeout=30, key_serde=String(),
                      value_serde=String())  # fmt: skip
    finally:
        assert app.close(timeout=30)
    assert [(r.key, r.value, r.timestamp) for r in out] == [
        ("a", "X", 1_000),
        ("b", "Y", 2_000),
        ("c", "Z", 1_500),
    ]
    assert all(("trace", b"t-1") in r.headers for r in out)
