"""Two instances of one application split the tasks of a 4-partition input; when one stops, the
other takes its tasks over, restores them from the changelog and continues with exact counts."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import pytest

from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.runtime.queries import HostInfo
from kstreamy.serdes import Long, String
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

from .conftest import wait_until
from .topologies import word_count

ALL_TASKS = sorted(f"{s}_{p}" for s in (0, 1) for p in range(4))


def _lines(prefix: str, n: int) -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", f"w{i % 13} w{i % 7} common") for i in range(n)]


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_two_instances_split_tasks_and_fail_over(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    source, sink = unique_topic("two-in"), unique_topic("two-out")
    kafka_client.create_topic(source, partitions=4)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("two-app")

    def instance(name: str) -> KafkaStreams:
        return KafkaStreams(
            word_count(source, sink),
            {
                "application.id": app_id,
                "bootstrap.servers": kafka_client.bootstrap,
                "state.dir": str(tmp_path / name),
                "commit.interval.ms": 200,
                "application.server": f"127.0.0.1:{7000 + ord(name)}",
            },
        )

    first, second = instance("a"), instance("b")
    batch1, batch2 = _lines("a", 200), _lines("b", 150)
    try:
        first.start()
        second.start()

        def split() -> bool:
            mine, theirs = first.local_tasks(), second.local_tasks()
            return (
                first.state is State.RUNNING
                and second.state is State.RUNNING
                and bool(mine)
                and bool(theirs)
                and sorted(mine + theirs) == ALL_TASKS
            )

        wait_until(split, 45, "both instances RUNNING with the tasks split between them")
        kafka_client.produce(source, batch1)
        expected = Counter(w for _, line in batch1 for w in line.split())

        def counts(*apps: KafkaStreams) -> dict[str, int]:
            merged: dict[str, int] = {}
            for app in apps:
                merged.update(dict(app.store("counts").all()))
            return merged

        wait_until(lambda: counts(first, second) == dict(expected), 30, "batch 1 counted")
        hosts = {first: HostInfo("127.0.0.1", 7000 + ord("a")),
                 second: HostInfo("127.0.0.1", 7000 + ord("b"))}  # fmt: skip
        for word in ("w1", "w5", "w11", "common"):
            owner = next(app for app in hosts if app.store("counts").get(word) is not None)
            metadata = first.query_metadata_for_key("counts", word)
            assert metadata.active_host == hosts[owner], word
            assert metadata.standby_hosts == frozenset(), "num.standby.replicas is 0"
        assert second.close(timeout=30)
        wait_until(
            lambda: first.state is State.RUNNING and first.local_tasks() == ALL_TASKS,
            45,
            "the first instance owning every task",
        )
        restored = sum(int(m["records_restored"]) for m in first.metrics().values())
        assert restored > 0
        kafka_client.produce(source, batch2)
        expected.update(w for _, line in batch2 for w in line.split())
        wait_until(lambda: counts(first) == dict(expected), 30, "batch 2 counted after failover")
    finally:
        second.close(timeout=30)
        assert first.close(timeout=30)


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_stream_threads_run_as_worker_processes(
    kafka_client: KafkaTestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2]))  # children import the factory
    source, sink = unique_topic("proc-in"), unique_topic("proc-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    lines = _lines("p", 100)
    kafka_client.produce(source, lines)
    app = KafkaStreams(
        functools.partial(word_count, source, sink),
        {
            "application.id": unique_topic("proc-app"),
            "bootstrap.servers": kafka_client.bootstrap,
            "state.dir": str(tmp_path),
            "commit.interval.ms": 200,
            "num.stream.threads": 2,
        },
    )
    expected = Counter(w for _, line in lines for w in line.split())
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 60, "both worker processes RUNNING")
        out = consume(kafka_client.bootstrap, sink, sum(expected.values()), timeout=40,
                      key_serde=String(), value_serde=Long())  # fmt: skip
        assert {r.key: r.value for r in out} == dict(expected)
        wait_until(lambda: sorted(app.local_tasks()) == ALL_TASKS[:2] + ALL_TASKS[4:6], 10,
                   "tasks reported by both processes")  # fmt: skip
        assert len({name.split("/")[0] for name in app.metrics()}) == 2
    finally:
        assert app.close(timeout=40)
    assert app.state is State.NOT_RUNNING
