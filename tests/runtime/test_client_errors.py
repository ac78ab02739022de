"""The classification of librdkafka errors (Kafka Streams' rules) and where each kind goes:
retriable ones corrupt the task (never the production handler), fenced/fatal ones migrate it,
purges of aborted records are ignored, the others go to the production exception handler."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from kstreamy.errors import TaskCorruptedError
from kstreamy.runtime.client_errors import ErrorKind, RetriableClientError, classify
from kstreamy.runtime.eos import ProducerFencedError, StreamsProducer, TransactionAbortedError
from kstreamy.runtime.kafka_collector import KafkaRecordCollector, ProductionError

from .fake_producer import FakeMessage, FakeProducer, eos_producer


@pytest.mark.parametrize(
    "code",
    [
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    ],
)
def test_transient_errors_are_retriable(code: int) -> None:
    assert classify(KafkaError(code)) is ErrorKind.RETRIABLE


@pytest.mark.parametrize(
    "code",
    [
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    ],
)
def test_fencing_errors_are_fatal(code: int) -> None:
    assert classify(KafkaError(code)) is ErrorKind.FATAL


def test_flags_decide_for_unlisted_codes_and_fatal_wins() -> None:
    assert classify(KafkaError(KafkaError._STATE, "x", retriable=True)) is ErrorKind.RETRIABLE
    assert classify(KafkaError(KafkaError._STATE, "x", txn_requires_abort=True)) is (
        ErrorKind.RETRIABLE
    )
    fatal_timeout = KafkaError(KafkaError._TIMED_OUT, "x", fatal=True, retriable=True)
    assert classify(fatal_timeout) is ErrorKind.FATAL


def test_purges_and_record_problems() -> None:
    assert classify(KafkaError(KafkaError._PURGE_QUEUE)) is ErrorKind.PURGED
    assert classify(KafkaError(KafkaError._PURGE_INFLIGHT)) is ErrorKind.PURGED
    assert classify(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)) is ErrorKind.OTHER
    assert classify(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)) is ErrorKind.OTHER


def test_retriable_error_is_a_task_corrupted_error() -> None:
    assert issubclass(RetriableClientError, TaskCorruptedError)


def test_a_timed_out_record_corrupts_the_task_and_skips_the_production_handler() -> None:
    producer, _ = eos_producer()
    # a handler that would skip: it must not be asked (a skip would lose the record)
    collector = KafkaRecordCollector(producer, "log_and_continue")
    collector._on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), FakeMessage("out", 2, 7))
    with pytest.raises(RetriableClientError, match=r"topic out partition 2.*Message timed out"):
        collector.flush()
    assert collector.records_skipped == 0
    collector.flush()  # the failure is raised once


def test_a_fenced_delivery_migrates_the_tasks() -> None:
    producer, _ = eos_producer()
    collector = KafkaRecordCollector(producer, "log_and_continue")
    collector._on_failure_only(KafkaError(KafkaError.PRODUCER_FENCED), FakeMessage("out", 0, 1))
    with pytest.raises(ProducerFencedError, match="topic out partition 0"):
        collector.flush()


def test_purged_records_of_an_aborted_transaction_are_ignored() -> None:
    producer, _ = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector._on_delivery(KafkaError(KafkaError._PURGE_INFLIGHT), FakeMessage("out", 0, 1))
    collector._on_failure_only(KafkaError(KafkaError._PURGE_QUEUE), FakeMessage("out", 1, 1))
    collector.flush()
    assert collector.records_skipped == 0


def test_a_record_problem_still_goes_to_the_production_handler() -> None:
    producer, _ = eos_producer()
    collector = KafkaRecordCollector(producer)
    collector._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), FakeMessage("out", 0, 1))
    with pytest.raises(ProductionError, match="topic out partition 0"):
        collector.flush()


class _StuckProducer(FakeProducer):
    """Holds its records forever (librdkafka waiting for an abort after a broker restart)."""

    def flush(self, timeout: float) -> int:
        return len(self.pending)


def _stuck(eos: bool) -> StreamsProducer:
    producer = StreamsProducer({}, "app-pid-0" if eos else None, _StuckProducer)
    producer.start()
    return producer


def test_unacknowledged_records_corrupt_an_eos_task_instead_of_stalling() -> None:
    producer = _stuck(eos=True)
    collector = KafkaRecordCollector(producer, flush_timeout=0.2)
    collector.send("out", b"k", b"v", 1)
    with pytest.raises(RetriableClientError, match=r"1 record.*app-pid-0"):
        collector.flush()


def test_unacknowledged_records_fail_an_at_least_once_flush() -> None:
    producer = _stuck(eos=False)
    collector = KafkaRecordCollector(producer, flush_timeout=0.2)
    collector.send("out", b"k", b"v", 1)
    with pytest.raises(ProductionError, match="1 record"):
        collector.flush()


def _in_doubt(producer: StreamsProducer) -> bool:
    return producer.commit_in_doubt


def test_transactional_calls_raise_by_kind() -> None:
    producer, made = eos_producer()
    producer.maybe_begin()
    made[0].fail["commit_transaction"] = KafkaError(KafkaError._TIMED_OUT)
    with pytest.raises(RetriableClientError, match="commit_transaction"):
        producer.commit_transaction([], None)
    assert _in_doubt(producer), "a timed-out commit may or may not have gone through"
    made[0].fail["commit_transaction"] = KafkaError(KafkaError.INVALID_PRODUCER_EPOCH)
    with pytest.raises(ProducerFencedError):
        producer.commit_transaction([], None)
    assert not _in_doubt(producer), "a fenced producer's transaction was aborted"
    abortable = KafkaError(KafkaError._STATE, "abortable", txn_requires_abort=True)
    made[0].fail["commit_transaction"] = abortable
    with pytest.raises(TransactionAbortedError):
        producer.commit_transaction([], None)


class _FailingProduce(FakeProducer):
    error: Any = None

    def produce(self, *args: Any, **kwargs: Any) -> None:
        raise KafkaException(self.error)


def test_a_produce_call_failing_fatally_migrates_the_tasks() -> None:
    _FailingProduce.error = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    producer = StreamsProducer({}, "app-pid-0", _FailingProduce)
    producer.start()
    collector = KafkaRecordCollector(producer)
    with pytest.raises(ProducerFencedError, match="topic out"):
        collector.send("out", b"k", b"v", 1)


def test_a_produce_call_in_a_transaction_that_must_abort_corrupts_the_tasks() -> None:
    # librdkafka refuses to produce in a transaction awaiting an abort (epoch bump): _STATE
    _FailingProduce.error = KafkaError(KafkaError._STATE, "Erroneous state")
    producer = StreamsProducer({}, "app-pid-0", _FailingProduce)
    producer.start()
    with pytest.raises(RetriableClientError, match="topic out"):
        KafkaRecordCollector(producer).send("out", b"k", b"v", 1)


def test_a_produce_call_failing_otherwise_is_not_swallowed() -> None:
    class _Broken(FakeProducer):
        def produce(self, *args: Any, **kwargs: Any) -> None:
            raise TypeError("bad argument")

    producer = StreamsProducer({}, None, _Broken)
    producer.start()
    with pytest.raises(TypeError, match="bad argument"):
        KafkaRecordCollector(producer).send("out", b"k", b"v", 1)


class _FullQueue(FakeProducer):
    """The local queue never drains (records never acknowledged)."""

    def produce(self, *args: Any, **kwargs: Any) -> None:
        raise BufferError("Local: Queue full")


def test_a_queue_that_never_drains_corrupts_an_eos_task_instead_of_hanging() -> None:
    producer = StreamsProducer({}, "app-pid-0", _FullQueue)
    producer.start()
    collector = KafkaRecordCollector(producer, flush_timeout=0.2)
    with pytest.raises(RetriableClientError, match=r"queue stayed full.*topic out"):
        collector.send("out", b"k", b"v", 1)
