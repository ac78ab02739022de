"""The transactional producer lifecycle, against a fake confluent-kafka Producer."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from kstreamy.runtime.eos import (
    ProducerFencedError,
    StreamsProducer,
    TransactionAbortedError,
    transactional_id,
)
from kstreamy.runtime.kafka_collector import KafkaRecordCollector, ProductionError

from .fake_producer import FakeMessage, FakeProducer, eos_producer


def test_transactional_id_is_stable_per_process_and_worker() -> None:
    assert transactional_id("app", "1234", 2) == "app-1234-2"


def test_eos_lifecycle_begins_once_and_commits_offsets_in_the_transaction() -> None:
    producer, made = eos_producer()
    fake = made[0]
    assert fake.config["transactional.id"] == "app-pid-0"
    assert fake.config["enable.idempotence"] is True
    producer.maybe_begin()
    producer.maybe_begin()
    assert producer.in_transaction
    producer.commit_transaction(["tp"], "meta")
    assert fake.calls == [
        "init_transactions",
        "begin_transaction",
        "send_offsets_to_transaction",
        "commit_transaction",
    ]
    assert not producer.in_transaction


def test_abortable_error_raises_transaction_aborted() -> None:
    producer, made = eos_producer()
    producer.maybe_begin()
    err = KafkaError(KafkaError._STATE, "abortable", txn_requires_abort=True)
    made[0].fail["commit_transaction"] = err
    with pytest.raises(TransactionAbortedError):
        producer.commit_transaction([], None)
    producer.abort()
    assert made[0].calls[-1] == "abort_transaction"


def test_fenced_producer_is_reported_and_reinitialised() -> None:
    producer, made = eos_producer()
    producer.maybe_begin()
    made[0].fail["commit_transaction"] = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    with pytest.raises(ProducerFencedError):
        producer.commit_transaction([], None)
    producer.reinitialize()
    assert len(made) == 2 and made[1].calls == ["init_transactions"]


def test_plain_producer_has_no_transactions() -> None:
    made: list[FakeProducer] = []
    producer = StreamsProducer({}, None, lambda c: made.append(FakeProducer(c)) or made[-1])
    producer.start()
    producer.maybe_begin()
    assert not producer.in_transaction and made[0].calls == []
    assert "transactional.id" not in made[0].config


def test_collector_tracks_acknowledged_offsets_and_begins_transactions() -> None:
    producer, made = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector.send("app-s-changelog", b"k", b"v", 10, (), 1)
    collector.send("out", b"k", None, 11)
    assert producer.in_transaction
    collector.flush()
    assert collector.offsets == {("app-s-changelog", 1): 1, ("out", 0): 1}
    assert made[0].produced[0] == ("app-s-changelog", b"k", b"v", 1)


def test_collector_failure_fails_the_flush_unless_the_handler_continues() -> None:
    producer, _ = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), FakeMessage("out", 0, 1))
    with pytest.raises(ProductionError, match="topic out partition 0"):
        collector.flush()
    lenient = KafkaRecordCollector(producer, "log_and_continue")
    lenient._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), FakeMessage("out", 0, 1))
    lenient.flush()
    assert lenient.records_skipped == 1


def test_collector_accepts_a_missing_timestamp() -> None:
    producer, made = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector.send("dlq", b"k", b"v", None, (("h", b"1"),))  # type: ignore[arg-type]
    collector.flush()
    assert made[0].produced == [("dlq", b"k", b"v", None)]


def test_collector_tracks_only_the_tracked_topics_but_reports_every_failure() -> None:
    producer, _ = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector.tracked_topics = frozenset({"app-s-changelog"})
    collector.send("app-s-changelog", b"k", b"v", 10, (), 1)
    collector.send("out", b"k", b"v", 11, (("h", b"1"),), 0)
    collector.flush()
    assert collector.offsets == {("app-s-changelog", 1): 1}  # the fake acks all at offset 1
    assert collector.records_sent == 2
    collector._on_failure_only(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), FakeMessage("out", 0, 1))
    with pytest.raises(ProductionError, match="topic out partition 0"):
        collector.flush()
