"""Issue acceptance at scale: an application counts 100k records, is stopped, restarts and continues
from its checkpoint without replaying the changelog; with its state directory deleted it restores
everything from the changelog and its final counts are equal."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from kstreamy import KafkaStreams, State, StreamsBuilder, String, Topology
from kstreamy.testing.kafka import KafkaTestClient, unique_topic

from .conftest import wait_until

KEYS = 5_000
HALF = 50_000


def _count_topology(source: str) -> Topology:
    b = StreamsBuilder()
    b.stream(source, key_serde=String(), value_serde=String()).group_by_key(name="by-key").count(
        store="counts", name="count"
    )
    return b.build()


def _records(start: int, n: int) -> list[tuple[str, str]]:
    return [(f"k{i % KEYS}", "x") for i in range(start, start + n)]


def _run(config: dict[str, Any], source: str, expected_total: int) -> tuple[int, dict[str, int]]:
    """Start, wait until the store holds `expected_total` counts, close; (restored, counts)."""
    app = KafkaStreams(_count_topology(source), config)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 60, "RUNNING")
        restored = sum(int(m["records_restored"]) for m in app.metrics().values())
        store = app.store("counts")
        wait_until(
            lambda: sum(v for _, v in store.all()) == expected_total,
            90,
            f"{expected_total} counted",
        )
        counts = dict(store.all())
    finally:
        assert app.close(timeout=30)
    return restored, counts


@pytest.mark.kafka
@pytest.mark.timeout(280)
def test_100k_restart_continues_from_checkpoint_and_rebuilds_from_changelog(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    source = unique_topic("r100k-in")
    kafka_client.create_topic(source, partitions=2)
    app_id = unique_topic("r100k-app")
    config = {
        "application.id": app_id,
        "bootstrap.servers": kafka_client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 500,
    }
    kafka_client.produce(source, _records(0, HALF))
    restored, counts = _run(config, source, HALF)
    assert restored == 0  # nothing local, nothing in the changelog yet
    assert len(counts) == KEYS

    kafka_client.produce(source, _records(HALF, HALF))
    restored, counts = _run(config, source, 2 * HALF)
    assert restored == 0  # the checkpoint covers the whole changelog: nothing replayed
    expected = {f"k{i}": 2 * HALF // KEYS for i in range(KEYS)}
    assert counts == expected

    shutil.rmtree(tmp_path / app_id)
    restored, counts = _run(config, source, 2 * HALF)
    assert restored >= KEYS  # every key's latest count came back from the changelog
    assert counts == expected
