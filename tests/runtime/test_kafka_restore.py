"""Restart behaviour: checkpoints make a restart replay only the changelog tail; a deleted state
directory restores everything from the changelog, with the same final counts."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import Long, String
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from .conftest import wait_until
from .topologies import word_count

BATCHES = [
    ["alpha beta gamma", "beta gamma", "gamma"],
    ["alpha delta", "delta delta beta"],
    ["epsilon alpha", "gamma gamma"],
]


def _restored(app: KafkaStreams) -> int:
    return sum(int(m["records_restored"]) for m in app.metrics().values())


def _run_batch(
    client: KafkaTestClient, config: dict[str, Any], source: str, sink: str, upto: int
) -> tuple[int, dict[str, int]]:
    """Start the app, wait until every word so far is counted, close; (restored, counts)."""
    expected = Counter(w for batch in BATCHES[: upto + 1] for line in batch for w in line.split())
    app = KafkaStreams(word_count(source, sink), config)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        restored = _restored(app)
        store = app.store("counts")
        wait_until(lambda: dict(store.all()) == dict(expected), 30, f"counts of batch {upto}")
    finally:
        assert app.close(timeout=30)
    out = consume(client.bootstrap, sink, sum(expected.values()), timeout=30,
                  key_serde=String(), value_serde=Long())  # fmt: skip
    return restored, {r.key: r.value for r in out}


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_restart_uses_checkpoint_and_wiped_state_restores(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    source, sink = unique_topic("rs-in"), unique_topic("rs-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("rs-app")
    config = {
        "application.id": app_id,
        "bootstrap.servers": kafka_client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }
    words = [sum(len(line.split()) for line in batch) for batch in BATCHES]

    kafka_client.produce(source, [(None, line) for line in BATCHES[0]])
    restored, counts = _run_batch(kafka_client, config, source, sink, 0)
    assert restored == 0
    assert counts == {"alpha": 1, "beta": 2, "gamma": 3}
    snapshot = tmp_path / "snapshot"
    shutil.copytree(tmp_path / app_id, snapshot)

    # restart with the checkpoint: nothing to replay, processing continues from the offsets
    kafka_client.produce(source, [(None, line) for line in BATCHES[1]])
    restored, counts = _run_batch(kafka_client, config, source, sink, 1)
    assert restored == 0
    assert counts == {"alpha": 2, "beta": 3, "gamma": 3, "delta": 3}

    # an older state directory (checkpoint after batch 0): only the changelog tail is replayed
    shutil.rmtree(tmp_path / app_id)
    shutil.copytree(snapshot, tmp_path / app_id)
    kafka_client.produce(source, [(None, line) for line in BATCHES[2]])
    restored, counts = _run_batch(kafka_client, config, source, sink, 2)
    assert restored == words[1]
    final = {"alpha": 3, "beta": 3, "gamma": 5, "delta": 3, "epsilon": 1}
    assert counts == final

    # state directory deleted: every changelog record is restored, counts stay the same
    shutil.rmtree(tmp_path / app_id)
    restored, counts = _run_batch(kafka_client, config, source, sink, 2)
    assert restored == sum(words)
    assert counts == final


def _wait_for_counts(app: KafkaStreams, expected: dict[str, int]) -> None:
    wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
    store = app.store("counts")
    wait_until(lambda: dict(store.all()) == expected, 30, f"counts {expected}")


class _Listener:
    """Records restore callbacks: (store, start, end) at start, restored at the end."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int, int]] = []
        self.batches: list[tuple[str, int, int]] = []
        self.ended: dict[tuple[str, int], int] = {}

    def on_restore_start(
        self, topic: str, partition: int, store: str, start: int, end: int
    ) -> None:
        self.started.append((store, start, end))

    def on_batch_restored(
        self, topic: str, partition: int, store: str, restored: int, total: int
    ) -> None:
        self.batches.append((store, restored, total))

    def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None:
        self.ended[(topic, partition)] = restored


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_checkpoint_past_changelog_end_wipes_and_restores(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    """A checkpoint pointing past the changelog's end (state of an older incarnation of the
    topic) is not trusted: the task's state is wiped and restored from the beginning."""
    source, sink = unique_topic("rp-in"), unique_topic("rp-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("rp-app")
    config = {
        "application.id": app_id,
        "bootstrap.servers": kafka_client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }
    kafka_client.produce(source, [(None, line) for line in BATCHES[0]])
    _run_batch(kafka_client, config, source, sink, 0)

    checkpoints = list((tmp_path / app_id).glob("*/.checkpoint"))
    assert checkpoints, "a clean close writes the tasks' checkpoints"
    edited = 0
    for path in checkpoints:
        lines = path.read_text().split("\n")
        for i, line in enumerate(lines[2:], start=2):
            if line.strip():
                topic, part, offset = line.split()
                lines[i] = f"{topic} {part} {int(offset) + 1000}"
                edited += 1
        path.write_text("\n".join(lines))
    assert edited > 0

    kafka_client.produce(source, [(None, line) for line in BATCHES[1]])
    expected = Counter(w for batch in BATCHES[:2] for line in batch for w in line.split())
    listener = _Listener()
    app = KafkaStreams(word_count(source, sink), config)
    app.set_global_state_restore_listener(listener)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "RUNNING")
        # every changelog record of batch 0 was replayed, from offset 0
        assert _restored(app) == sum(len(line.split()) for line in BATCHES[0])
        restoration = [r for m in app.metrics().values() for r in m["restoration"].values()]
        assert restoration and all(r["done"] and r["store"] == "counts" for r in restoration)
        assert all(r["start"] == 0 and r["restored"] == r["end"] for r in restoration)
        assert sum(r["restored"] for r in restoration) == _restored(app)
        assert sum(listener.ended.values()) == _restored(app)
        assert {s for s, _, _ in listener.started} == {"counts"}
        store = app.store("counts")
        wait_until(lambda: dict(store.all()) == dict(expected), 30, "counts after the wipe")
    finally:
        assert app.close(timeout=30)
    out = consume(kafka_client.bootstrap, sink, sum(expected.values()), timeout=30,
                  key_serde=String(), value_serde=Long())  # fmt: skip
    assert {r.key: r.value for r in out} == dict(expected)


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_processors_are_initialised_after_their_stores_are_restored(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    """As in Kafka Streams, a processor's `init` sees its store already restored from the
    changelog (here an in-memory store, which always restores everything on start)."""
    source, sink = unique_topic("ri-in"), unique_topic("ri-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    config = {
        "application.id": unique_topic("ri-app"),
        "bootstrap.servers": kafka_client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }
    kafka_client.produce(source, [(None, line) for line in BATCHES[0]])
    expected = Counter(w for line in BATCHES[0] for w in line.split())
    for run in range(2):
        sizes: list[int] = []
        app = KafkaStreams(word_count(source, sink, persistent=False, init_sizes=sizes), config)
        try:
            app.start()
            _wait_for_counts(app, dict(expected))
        finally:
            assert app.close(timeout=30)
        # first run: empty stores; second run: every distinct word was restored before init
        assert sum(sizes) == (0 if run == 0 else len(expected)), sizes
