"""The transactional producer lifecycle, against a fake confluent-kafka Producer."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from kstreamy.runtime.eos import (
    ProducerFencedError,
    StreamsProducer,
    TransactionAbortedError,
    transactional_id,
)
from kstreamy.runtime.kafka_collector import KafkaRecordCollector, ProductionError


class FakeProducer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.calls: list[str] = []
        self.fail: dict[str, KafkaError] = {}
        self.produced: list[tuple[Any, ...]] = []
        self.pending: list[tuple[Any, Any]] = []

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise KafkaException(self.fail.pop(name))

    def init_transactions(self, timeout: float) -> None:
        self._maybe_fail("init_transactions")

    def begin_transaction(self) -> None:
        self._maybe_fail("begin_transaction")

    def send_offsets_to_transaction(self, offsets: Any, meta: Any, timeout: float) -> None:
        self._maybe_fail("send_offsets_to_transaction")

    def commit_transaction(self, timeout: float) -> None:
        self._maybe_fail("commit_transaction")

    def abort_transaction(self, timeout: float) -> None:
        self._maybe_fail("abort_transaction")

    def produce(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int = -1,
        callback: Any = None,
        on_delivery: Any = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        """confluent-kafka's positional order: on_delivery is an alias of callback."""
        part = None if partition == -1 else partition
        self.produced.append((topic, key, value, part))
        self.pending.append((callback or on_delivery, (topic, part)))

    def poll(self, timeout: float) -> int:
        return self.flush(timeout)

    def flush(self, timeout: float) -> int:
        pending, self.pending = self.pending, []
        for cb, (topic, part) in pending:
            cb(None, _Msg(topic, part or 0, len(self.produced) - 1))
        return 0


class _Msg:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._t, self._p, self._o = topic, partition, offset

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def timestamp(self) -> tuple[int, int]:
        return (1, 5)


def _eos() -> tuple[StreamsProducer, list[FakeProducer]]:
    made: list[FakeProducer] = []

    def factory(config: dict[str, Any]) -> FakeProducer:
        made.append(FakeProducer(config))
        return made[-1]

    producer = StreamsProducer({"bootstrap.servers": "x"}, "app-pid-0", factory)
    producer.start()
    return producer, made


def test_transactional_id_is_stable_per_process_and_worker() -> None:
    assert transactional_id("app", "1234", 2) == "app-1234-2"


def test_eos_lifecycle_begins_once_and_commits_offsets_in_the_transaction() -> None:
    producer, made = _eos()
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
    producer, made = _eos()
    producer.maybe_begin()
    err = KafkaError(KafkaError._STATE, "abortable", txn_requires_abort=True)
    made[0].fail["commit_transaction"] = err
    with pytest.raises(TransactionAbortedError):
        producer.commit_transaction([], None)
    producer.abort()
    assert made[0].calls[-1] == "abort_transaction"


def test_fenced_producer_is_reported_and_reinitialised() -> None:
    producer, made = _eos()
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
    producer, made = _eos()
    collector = KafkaRecordCollector(producer)
    collector.send("app-s-changelog", b"k", b"v", 10, (), 1)
    collector.send("out", b"k", None, 11)
    assert producer.in_transaction
    collector.flush()
    assert collector.offsets == {("app-s-changelog", 1): 1, ("out", 0): 1}
    assert made[0].produced[0] == ("app-s-changelog", b"k", b"v", 1)


def test_collector_failure_fails_the_flush_unless_the_handler_continues() -> None:
    producer, _ = _eos()
    collector = KafkaRecordCollector(producer)
    collector._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), _Msg("out", 0, 1))
    with pytest.raises(ProductionError, match="topic out partition 0"):
        collector.flush()
    lenient = KafkaRecordCollector(producer, "log_and_continue")
    lenient._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), _Msg("out", 0, 1))
    lenient.flush()
    assert lenient.records_skipped == 1


def test_collector_accepts_a_missing_timestamp() -> None:
    producer, made = _eos()
    collector = KafkaRecordCollector(producer)
    collector.send("dlq", b"k", b"v", None, (("h", b"1"),))  # type: ignore[arg-type]
    collector.flush()
    assert made[0].produced == [("dlq", b"k", b"v", None)]


def test_collector_tracks_only_the_tracked_topics_but_reports_every_failure() -> None:
    producer, _ = _eos()
    collector = KafkaRecordCollector(producer)
    collector.tracked_topics = frozenset({"app-s-changelog"})
    collector.send("app-s-changelog", b"k", b"v", 10, (), 1)
    collector.send("out", b"k", b"v", 11, (("h", b"1"),), 0)
    collector.flush()
    assert collector.offsets == {("app-s-changelog", 1): 1}  # the fake acks all at offset 1
    assert collector.records_sent == 2
    collector._on_failure_only(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), _Msg("out", 0, 1))
    with pytest.raises(ProductionError, match="topic out partition 0"):
        collector.flush()
