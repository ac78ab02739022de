"""Standby replicas and incremental restoration on the real broker.

- two instances with `num.standby.replicas=1`: each task is active on one and standby on the
  other (and `query_metadata_for_key` names the other instance as the standby host); when one
  stops, the other promotes its standbys and replays only the tail;
- a task with a large changelog restores in chunks while another task of the same worker keeps
  processing, and its store is not served to queries until it runs;
- a task revoked in the middle of its restoration checkpoints what it restored (the listener
  hears `on_restore_suspended` with that count, never `on_restore_end`), and a later restore
  from that checkpoint gives exact counts.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kstreamy.processor import Processor, Record
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.runtime.queries import HostInfo
from kstreamy.serdes import Long, String
from kstreamy.state.stores import Stores
from kstreamy.testing.kafka import KafkaTestClient, unique_topic
from kstreamy.topology import Topology

from .conftest import wait_until


class _Count(Processor[Any, Any, Any, Any]):
    """Counts records per key in store "counts"; appends each key to `seen` (test probe)."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def init(self, context: Any) -> None:
        super().init(context)
        self.store = context.get_state_store("counts")

    def process(self, record: Record[Any, Any]) -> None:
        self.seen.append(record.key)
        count = (self.store.get(record.key) or 0) + 1
        self.store.put(record.key, count)
        self.context.forward(record.with_value(count))


def _counting(source: str, sink: str, seen: list[str], persistent: bool = True) -> Topology:
    t = Topology()
    t.add_source("in", source, key_serde=String(), value_serde=String())
    t.add_processor("count", lambda: _Count(seen), "in")
    t.add_state_store(
        Stores.key_value("counts", String(), Long(), persistent=persistent, caching=False),
        "count",
    )
    t.add_sink("out", sink, "count", key_serde=String(), value_serde=Long())
    return t


class _Listener:
    """Restore listener: starts (tp -> (start, end)), batches (and the last restored count) and
    ends, per changelog partition; an optional hook runs on every batch (in the worker thread).
    It has no `on_restore_suspended` (an optional method): such listeners must keep working."""

    def __init__(self, on_batch: Any = None) -> None:
        self.started: dict[int, tuple[int, int]] = {}
        self.batches: dict[int, int] = Counter()
        self.last_restored: dict[int, int] = {}
        self.ended: dict[int, int] = {}
        self.on_batch = on_batch

    def on_restore_start(
        self, topic: str, partition: int, store: str, start: int, end: int
    ) -> None:
        self.started[partition] = (start, end)

    def on_batch_restored(
        self, topic: str, partition: int, store: str, restored: int, total: int
    ) -> None:
        self.batches[partition] += 1
        self.last_restored[partition] = restored
        if self.on_batch is not None:
            self.on_batch(partition, restored)

    def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None:
        self.ended[partition] = restored


class _SuspendListener(_Listener):
    """Also records `on_restore_suspended` (KIP-869): partition -> records restored so far."""

    def __init__(self, on_batch: Any = None) -> None:
        super().__init__(on_batch)
        self.suspended: dict[int, int] = {}
        self.suspended_after_end: list[int] = []

    def on_restore_suspended(
        self, topic: str, partition: int, store: str, total_restored: int
    ) -> None:
        if partition in self.ended:
            self.suspended_after_end.append(partition)
        self.suspended[partition] = total_restored


def _config(app_id: str, bootstrap: str, state_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "application.id": app_id,
        "bootstrap.servers": bootstrap,
        "state.dir": str(state_dir),
        "commit.interval.ms": 200,
        **extra,
    }


def _counts(*apps: KafkaStreams) -> dict[str, int]:
    merged: dict[str, int] = {}
    for app in apps:
        merged.update(dict(app.store("counts").all()))
    return merged


def _restored(app: KafkaStreams) -> int:
    return sum(int(m["records_restored"]) for m in app.metrics().values())


def _produce_per_partition(
    client: KafkaTestClient, topic: str, per_partition: dict[int, int], prefix: str
) -> Counter[str]:
    """Keys `<prefix><partition>-<i>`, each once, produced to their partition explicitly."""
    expected: Counter[str] = Counter()
    for partition, n in per_partition.items():
        records = [(f"{prefix}{partition}-{i}", "x") for i in range(n)]
        client.produce(topic, records, partition=partition)
        expected.update(k for k, _ in records)
    return expected


def _fill(client: KafkaTestClient, app_id: str, source: str, sink: str, tmp: Path,
          per_partition: dict[int, int]) -> Counter[str]:  # fmt: skip
    """Run the app once so the changelog holds one record per input record; returns counts."""
    expected = _produce_per_partition(client, source, per_partition, "k")
    app = KafkaStreams(_counting(source, sink, []), _config(app_id, client.bootstrap, tmp))
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 30, "filling app RUNNING")
        store = app.store("counts")
        wait_until(lambda: store.approximate_num_entries() == sum(per_partition.values()), 40,
                   "every input record counted")  # fmt: skip
    finally:
        assert app.close(timeout=30)
    return expected


@pytest.mark.kafka
@pytest.mark.timeout(120)
@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once_v2"])
def test_standby_replicas_take_over_with_only_the_tail_restored(
    kafka_client: KafkaTestClient, tmp_path: Path, guarantee: str
) -> None:
    source, sink = unique_topic("sb-in"), unique_topic("sb-out")
    kafka_client.create_topic(source, partitions=4)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("sb-app")
    listener = _Listener()

    servers = {"a": HostInfo("127.0.0.1", 7101), "b": HostInfo("127.0.0.1", 7102)}

    def instance(name: str) -> KafkaStreams:
        extra = {
            "num.standby.replicas": 1,
            "processing.guarantee": guarantee,
            "application.server": f"{servers[name].host}:{servers[name].port}",
        }
        config = _config(app_id, kafka_client.bootstrap, tmp_path / name, **extra)
        return KafkaStreams(_counting(source, sink, []), config)

    first, second = instance("a"), instance("b")
    first.set_global_state_restore_listener(listener)
    all_tasks = [f"0_{p}" for p in range(4)]
    try:
        first.start()
        second.start()

        def placed() -> bool:
            mine, theirs = first.local_tasks(), second.local_tasks()
            return (
                first.state is State.RUNNING
                and second.state is State.RUNNING
                and bool(mine)
                and bool(theirs)
                and sorted(mine + theirs) == all_tasks
                and first.standby_tasks() == theirs
                and second.standby_tasks() == mine
            )

        wait_until(placed, 45, "tasks split, each with its standby on the other instance")
        per_partition = {0: 300, 1: 200, 2: 250, 3: 150}
        expected = _produce_per_partition(kafka_client, source, per_partition, "a")
        wait_until(lambda: _counts(first, second) == dict(expected), 30, "batch 1 counted")
        # the standbys applied every changelog record of the other instance's tasks (no lag)
        theirs = [int(t.split("_")[1]) for t in second.local_tasks()]

        def caught_up() -> bool:
            metrics = list(first.metrics().values())
            lag = {t: v for m in metrics for t, v in m["standby_lag"].items()}
            applied = {t: v for m in metrics for t, v in m["standby_applied"].items()}
            return (
                sorted(lag) == sorted(second.local_tasks())
                and not any(lag.values())
                and all(applied[f"0_{p}"] == per_partition[p] for p in theirs)
            )

        wait_until(caught_up, 30, "the first instance's standbys caught up")
        # interactive-query metadata names the other instance as the key's standby host
        named = {"a": first, "b": second}
        for key in ("a0-1", "a1-7", "a2-3", "a3-9", "k-x", "k-y"):
            for app in (first, second):
                metadata = app.query_metadata_for_key("counts", key)
                task = f"0_{metadata.partition}"
                active = next(n for n, a in named.items() if task in a.local_tasks())
                standby = next(n for n, a in named.items() if task in a.standby_tasks())
                assert active != standby
                assert metadata.active_host == servers[active], key
                assert metadata.standby_hosts == {servers[standby]}, key
        restored_before = _restored(first)
        assert second.close(timeout=30)
        wait_until(
            lambda: first.state is State.RUNNING and first.local_tasks() == all_tasks,
            45,
            "the first instance owning every task",
        )
        # promoted standbys replayed only the tail: nothing (they were caught up)
        changelog_records = sum(per_partition[p] for p in theirs)
        tail = _restored(first) - restored_before
        assert tail <= changelog_records // 20, (tail, changelog_records)
        for p in theirs:
            start, end = listener.started[p]
            assert end - start <= changelog_records // 20, (p, start, end)
            assert end >= per_partition[p]
        assert first.standby_tasks() == []
        metadata = first.query_metadata_for_key("counts", "a0-1")
        assert metadata.active_host == servers["a"]
        assert metadata.standby_hosts == frozenset(), "one member left: no standby anywhere"
        expected.update(_produce_per_partition(kafka_client, source, {0: 50, 3: 40}, "b"))
        wait_until(lambda: _counts(first) == dict(expected), 30, "batch 2 counted after failover")
    finally:
        second.close(timeout=30)
        assert first.close(timeout=30)


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_large_restore_does_not_block_other_tasks(
    kafka_client: KafkaTestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, sink = unique_topic("lr-in"), unique_topic("lr-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("lr-app")
    big = 12_000
    expected = _fill(kafka_client, app_id, source, sink, tmp_path / "fill", {0: big, 1: 10})
    expected.update(_produce_per_partition(kafka_client, source, {1: 30}, "new"))

    monkeypatch.setattr("kstreamy.runtime.worker_tasks.RESTORE_CHUNK_RECORDS", 400)
    seen: list[str] = []
    # task 0_1 restarts from its checkpoint; task 0_0 lost its state and restores everything
    shutil.rmtree(tmp_path / "fill" / app_id / "0_0")
    app = KafkaStreams(
        _counting(source, sink, seen), _config(app_id, kafka_client.bootstrap, tmp_path / "fill")
    )
    observed: list[tuple[int, int, Any]] = []

    def on_batch(partition: int, restored: int) -> None:
        if partition == 0:
            new = sum(1 for k in seen if k.startswith("new"))
            observed.append((restored, new, app.store("counts").get("k0-1")))
            time.sleep(0.03)  # a slow store: the other task must not wait for it

    listener = _Listener(on_batch)
    app.set_global_state_restore_listener(listener)
    try:
        app.start()
        wait_until(lambda: app.state is State.RUNNING, 60, "RUNNING after the restore")
        assert listener.ended[0] == big
        assert listener.batches[0] >= big // 400 // 2, "restored in many bounded chunks"
        # the other task processed its new records while partition 0 was still restoring
        during = [new for restored, new, _ in observed if restored < big]
        assert during and max(during) == 30, observed[-3:]
        # a restoring task's store is not served as if it were current
        assert all(value is None for restored, _, value in observed if restored < big)
        wait_until(lambda: _counts(app) == dict(expected), 30, "exact counts after the restore")
        assert app.store("counts").get("k0-1") == 1
    finally:
        assert app.close(timeout=30)


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_revocation_during_restore_keeps_state_consistent(
    kafka_client: KafkaTestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, sink = unique_topic("rv-in"), unique_topic("rv-out")
    kafka_client.create_topic(source, partitions=2)
    kafka_client.create_topic(sink, partitions=1)
    app_id = unique_topic("rv-app")
    per_partition = {0: 6_000, 1: 6_000}
    expected = _fill(kafka_client, app_id, source, sink, tmp_path / "fill", per_partition)

    monkeypatch.setattr("kstreamy.runtime.worker_tasks.RESTORE_CHUNK_RECORDS", 200)
    slow = threading.Event()
    slow.set()
    restoring = threading.Event()

    def on_batch(partition: int, restored: int) -> None:
        restoring.set()
        if slow.is_set():
            time.sleep(0.1)

    listener = _SuspendListener(on_batch)
    # small fetches, so that both changelog partitions restore interleaved (a real changelog
    # is larger than a fetch; this one fits into one, which would restore partitions in turn)
    small = {"restore.consumer.max.partition.fetch.bytes": 8192}
    config_a = _config(app_id, kafka_client.bootstrap, tmp_path / "a", **small)
    first = KafkaStreams(_counting(source, sink, []), config_a)
    first.set_global_state_restore_listener(listener)
    second = KafkaStreams(_counting(source, sink, []),
                          _config(app_id, kafka_client.bootstrap, tmp_path / "b"))  # fmt: skip
    try:
        first.start()
        assert restoring.wait(30), "the first instance started restoring"
        second.start()  # joins while the first restores both tasks: one is revoked mid-restore
        wait_until(
            lambda: second.state is State.RUNNING and len(second.local_tasks()) == 1,
            45,
            "the second instance running one task",
        )
        slow.clear()
        wait_until(
            lambda: first.state is State.RUNNING and len(first.local_tasks()) == 1, 45,
            "the first instance running the other task",
        )  # fmt: skip
        revoked = int(second.local_tasks()[0].split("_")[1])
        kept = 1 - revoked
        assert revoked not in listener.ended, "revoked before its restoration ended"
        assert listener.batches[revoked] > 0
        # the revoked store's restoration was suspended with the records restored so far
        partial = listener.suspended[revoked]
        assert partial == listener.last_restored[revoked]
        assert 0 < partial < per_partition[revoked]
        assert kept not in listener.suspended and listener.ended[kept] == per_partition[kept]
        assert listener.suspended_after_end == []
        expected.update(_produce_per_partition(kafka_client, source, {0: 20, 1: 20}, "n"))
        wait_until(lambda: _counts(first, second) == dict(expected), 30, "counts on both")
        # the first instance takes the revoked task back from its mid-restore checkpoint
        listener.started.clear()
        listener.ended.clear()
        assert second.close(timeout=30)
        wait_until(lambda: first.state is State.RUNNING and len(first.local_tasks()) == 2, 45,
                   "the first instance running both tasks")  # fmt: skip
        start, end = listener.started[revoked]
        assert start == partial, "restoring again from the suspended restoration's checkpoint"
        assert 0 < start < per_partition[revoked] < end
        assert listener.ended[revoked] == end - start
        expected.update(_produce_per_partition(kafka_client, source, {0: 5, 1: 5}, "m"))
        wait_until(lambda: _counts(first) == dict(expected), 30, "exact counts after takeover")
    finally:
        second.close(timeout=30)
        assert first.close(timeout=30)
