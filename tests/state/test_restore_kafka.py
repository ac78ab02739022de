"""Restoration from real changelog topics (plain, from a checkpoint, transactional)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from kstreamy.state.errors import CheckpointPastEndError
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.restore import restore_partition
from kstreamy.state.testing import FakeStoreContext
from kstreamy.testing.kafka import KafkaTestClient

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]

COMPACTED = {"cleanup.policy": "compact"}


def produce_plain(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(30) == 0


def open_store(tmp_path: Path) -> tuple[LmdbKeyValueStore, FakeStoreContext]:
    ctx = FakeStoreContext(state_dir=tmp_path)
    store = LmdbKeyValueStore("s")
    store.init(ctx, store)
    return store, ctx


def restore(bootstrap: str, topic: str, start: int | None, ctx: FakeStoreContext) -> Any:
    progress: list[tuple[int, int]] = []
    result = restore_partition(
        {"bootstrap.servers": bootstrap},
        topic,
        0,
        start,
        ctx.registered["s"][1],
        progress=lambda done, total: progress.append((done, total)),
        store_name="s",
    )
    if result.restored_records:
        assert progress[-1] == (result.restored_records, result.end_offset - result.start_offset)
    return result


def test_restore_from_beginning_then_only_the_tail_from_a_checkpoint(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    bootstrap = kafka_client.bootstrap
    topic = kafka_client.create_topic(config=COMPACTED)
    records: list[tuple[bytes, bytes | None]] = [
        (b"k%05d" % (i % 20_000), b"v%d" % i) for i in range(100_000)
    ]
    records += [(b"k%05d" % i, None) for i in range(1000)]  # tombstones
    produce_plain(bootstrap, topic, records)

    store, ctx = open_store(tmp_path)
    result = restore(bootstrap, topic, None, ctx)
    assert (result.restored_records, result.start_offset, result.end_offset) == (
        101_000,
        0,
        101_000,
    )
    assert store.approximate_num_entries() == 19_000
    assert store.get(b"k00000") is None
    assert store.get(b"k01000") == b"v81000"
    assert store.get(b"k19999") == b"v99999"

    produce_plain(bootstrap, topic, [(b"k00000", b"back"), (b"k01000", None), (b"new", b"1")])
    tail = restore(bootstrap, topic, result.end_offset, ctx)
    assert (tail.restored_records, tail.start_offset, tail.end_offset) == (3, 101_000, 101_003)
    assert store.get(b"k00000") == b"back"
    assert store.get(b"k01000") is None
    assert store.approximate_num_entries() == 19_001
    up_to_date = restore(bootstrap, topic, tail.end_offset, ctx)
    assert up_to_date.restored_records == 0
    store.close()


def test_transactional_changelog_restoration_terminates(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    bootstrap = kafka_client.bootstrap
    topic = kafka_client.create_topic(config=COMPACTED)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txn-{uuid.uuid4()}"})
    producer.init_transactions(30)
    for txn in range(3):
        producer.begin_transaction()
        for i in range(1000):
            producer.produce(topic, b"t%d-%d" % (txn, i), b"k%04d" % i)
        assert producer.flush(30) == 0  # the records reach the log, aborted or not
        if txn == 1:
            producer.abort_transaction(30)  # aborted records must never be restored
        else:
            producer.commit_transaction(30)
    store, ctx = open_store(tmp_path)
    result = restore(bootstrap, topic, None, ctx)
    # 3000 data records + 3 markers: the end offset lies past the last commit marker.
    assert result.end_offset == 3003
    assert result.restored_records == 2000
    assert store.get(b"k0000") == b"t2-0"
    assert all(v.startswith(b"t2-") for _, v in store.all())
    store.close()


def test_checkpoint_past_the_end_raises(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    topic = kafka_client.create_topic(config=COMPACTED)
    produce_plain(kafka_client.bootstrap, topic, [(b"a", b"1"), (b"b", b"2")])
    _, ctx = open_store(tmp_path)
    with pytest.raises(CheckpointPastEndError) as info:
        restore(kafka_client.bootstrap, topic, 50, ctx)
    assert info.value.end_offset == 2 and info.value.checkpoint == 50
    assert topic in str(info.value) and "restore it from the beginning" in str(info.value)


def test_restoration_ends_at_the_last_stable_offset_of_an_open_transaction(
    kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    bootstrap = kafka_client.bootstrap
    topic = kafka_client.create_topic(config=COMPACTED)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txn-{uuid.uuid4()}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"committed", b"a")
    producer.commit_transaction(30)
    producer.begin_transaction()
    for _ in range(5):
        producer.produce(topic, b"open", b"b")
    assert producer.flush(30) == 0
    try:
        store, ctx = open_store(tmp_path)
        result = restore(bootstrap, topic, None, ctx)
        assert (result.restored_records, result.end_offset) == (1, 2)
        assert store.get(b"a") == b"committed" and store.get(b"b") is None
        store.close()
    finally:
        producer.abort_transaction(30)
