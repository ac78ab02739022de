"""The record collector of the Kafka runtime: tasks' output goes through one producer per worker.

`send` is on the per-record path: one `produce` call (positional arguments), an occasional
`poll(0)` to serve delivery reports, nothing else. Delivery reports record the last acknowledged
offset per changelog partition (what checkpoints store) and the first failure (raised at the
next send or flush, i.e. at the latest in commit step 2, so a failed record is never committed
over). As in Kafka Streams, a failure is classified first (`client_errors.py`): a retriable one
(timeout, broker away) corrupts the tasks (`RetriableClientError`: the worker aborts, rewinds
and retries), a fenced/fatal one migrates them (`ProducerFencedError`), a purge (records of an
aborted transaction) is ignored; only the others go to the production exception handler, which
answers "skip" or "fail".
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kstreamy.errors import (
    ErrorHandlerContext,
    StreamsError,
    invoke_handler,
    resolve_handler,
)
from kstreamy.processor import Headers
from kstreamy.runtime.client_errors import ErrorKind, RetriableClientError, classify
from kstreamy.runtime.eos import ProducerFencedError, StreamsProducer
from kstreamy.runtime.record_collector import RecordCollector

log = logging.getLogger(__name__)

_POLL_EVERY = 1000  # serve delivery callbacks every N sends


class ProductionError(StreamsError):
    """A record could not be sent and the production exception handler said to fail."""


class KafkaRecordCollector(RecordCollector):
    """Sends serialized records with the worker's producer (transactional under EOS)."""

    def __init__(
        self,
        producer: StreamsProducer,
        production_exception_handler: Any = None,
        metadata_timeout: float = 10.0,
        flush_timeout: float = 330.0,
    ) -> None:
        self._producer = producer
        self._handler = resolve_handler(production_exception_handler, "production")
        self._metadata_timeout = metadata_timeout
        self._flush_timeout = flush_timeout
        self._sends = 0
        self._error: BaseException | None = None
        self._partition_counts: dict[str, int] = {}
        self._eos = producer.eos
        self.offsets: dict[tuple[str, int], int] = {}
        """(topic, partition) -> offset of the last acknowledged record of a tracked topic."""
        self.tracked_topics: frozenset[str] | None = None
        """Topics whose acknowledged offsets go into `offsets` (the changelogs, for the
        checkpoints); None tracks every topic. Others get a failure-only delivery callback."""
        self.records_sent = 0
        """Records handed to the producer (updated every `_POLL_EVERY` sends and on flush)."""
        self.records_skipped = 0

    # -- per-record path ---------------------------------------------------------------------------
    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        if self._error is not None:
            self._raise_error()
        streams_producer = self._producer
        if self._eos and not streams_producer.in_transaction:
            streams_producer.maybe_begin()
        tracked = self.tracked_topics
        callback = (
            self._on_delivery if tracked is None or topic in tracked else self._on_failure_only
        )
        # positional arguments, in confluent-kafka's order (topic, value, key, partition,
        # callback, on_delivery, timestamp, headers): no per-record kwargs dict. -1 = let the
        # partitioner choose; timestamp 0 = now; on_delivery is callback's alias, so None;
        # headers only when there are some (None is rejected)
        ts = timestamp if timestamp is not None and timestamp > 0 else 0
        part = -1 if partition is None else partition
        if headers:
            args: tuple[Any, ...] = (topic, value, key, part, callback, None, ts, list(headers))
        else:
            args = (topic, value, key, part, callback, None, ts)
        producer = streams_producer.producer
        try:
            producer.produce(*args)
        except BufferError:  # local queue full: let deliveries drain, then retry
            self._wait_for_queue_space(producer, args)
        except Exception as exc:  # a KafkaException: the producer failed or must abort first
            streams_producer.raise_client_error("produce", exc, topic)
        self._sends += 1
        if self._sends >= _POLL_EVERY:
            self.records_sent += self._sends
            self._sends = 0
            producer.poll(0)

    def _wait_for_queue_space(self, producer: Any, args: tuple[Any, ...]) -> None:
        """The producer's local queue is full: serve deliveries until the record fits, within
        the same bound as `flush` (records that are never acknowledged must not hang us)."""
        limit = self._flush_limit()
        deadline = time.monotonic() + limit
        while True:
            producer.poll(0.05)
            if self._error is not None:
                self._raise_error()
            try:
                producer.produce(*args)
                return
            except BufferError:
                if time.monotonic() < deadline:
                    continue
            cls = RetriableClientError if self._eos else ProductionError
            raise cls(
                f"the producer's queue stayed full for {limit:.0f}s sending to topic {args[0]} "
                "(records are not acknowledged: is the broker reachable?)"
            )

    def _flush_limit(self) -> float:
        """How long to wait for acknowledgements: under EOS no longer than the transaction
        timeout (plus a margin): the coordinator aborts an older transaction anyway."""
        if self._eos:
            return min(self._flush_timeout, self._producer.transaction_timeout_s + 5.0)
        return self._flush_timeout

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is None:
            self.offsets[(msg.topic(), msg.partition())] = msg.offset()
            return
        self._handle_failure(err, msg)

    def _on_failure_only(self, err: Any, msg: Any) -> None:
        """The delivery report of a record whose offset nobody needs (not a changelog)."""
        if err is not None:
            self._handle_failure(err, msg)

    def _handle_failure(self, err: Any, msg: Any) -> None:
        if self._error is not None:
            return
        topic = msg.topic()
        where = f"topic {topic} partition {msg.partition()}"
        kind = classify(err)
        if kind is ErrorKind.PURGED:
            return
        if kind is ErrorKind.RETRIABLE:
            self._error = RetriableClientError(
                f"Error sending record to {where}: {err.str()} (retriable: the task is treated "
                "as corrupted, rewound to its committed offsets and retried)"
            )
            return
        if kind is ErrorKind.FATAL:
            self._error = ProducerFencedError(
                f"Error sending record to {where}: {err.str()} (the producer is fenced or "
                "failed fatally; its tasks are closed dirty and the producer re-created)"
            )
            return
        exc = ProductionError(f"Error sending record to {where}: {err.str()}")
        context = ErrorHandlerContext(topic=None, timestamp=msg.timestamp()[1])
        try:
            response = invoke_handler(self._handler, context, topic, msg.key(), msg.value(), exc)
        except StreamsError as handler_exc:
            self._error = handler_exc
            return
        for dead in response.dead_letter_records:
            self._producer.producer.produce(
                dead.topic,
                dead.value,
                dead.key,
                headers=list(dead.headers),
                **({"timestamp": dead.timestamp} if dead.timestamp is not None else {}),
            )
        if response.should_continue:
            self.records_skipped += 1
            log.warning("skipped a record the producer could not send: %s", exc)
        else:
            self._error = exc

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        assert error is not None
        raise error

    # -- commit path ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Commit step 2: every queued record acknowledged (or the failure raised).

        While the broker is unreachable this waits: librdkafka retries each record until its
        `message.timeout.ms` and then reports it failed through the delivery callback.
        """
        self.records_sent += self._sends
        self._sends = 0
        limit = self._flush_limit()
        deadline = time.monotonic() + limit
        remaining = self._producer.flush(1.0)
        while remaining and self._error is None and time.monotonic() < deadline:
            log.warning("%d record(s) not yet acknowledged; waiting for the broker", remaining)
            remaining = self._producer.flush(min(5.0, max(0.1, deadline - time.monotonic())))
        if self._error is not None:
            self._raise_error()
        if remaining and self._eos:
            # librdkafka holds the records of a transaction that needs an epoch bump (e.g. after
            # a broker restart) until it is aborted: abort, rewind and retry (Kafka's
            # TaskCorrupted), rather than wait for acknowledgements that will never come
            raise RetriableClientError(
                f"{remaining} record(s) of transaction {self._producer.transactional_id} still "
                f"unacknowledged after {limit:.0f}s (transaction.timeout.ms); aborting it and "
                "retrying from the committed offsets"
            )
        if remaining:
            raise ProductionError(
                f"{remaining} record(s) still unacknowledged after {self._flush_timeout:.0f}s; "
                "the broker is unreachable or slow — the commit is not made"
            )

    def poll(self) -> None:
        if self._producer.producer is not None:
            self._producer.producer.poll(0)

    def partitions_for(self, topic: str) -> int | None:
        count = self._partition_counts.get(topic)
        if count is None:
            md = self._producer.producer.list_topics(topic, timeout=self._metadata_timeout)
            tmeta = md.topics.get(topic)
            if tmeta is None or tmeta.error is not None or not tmeta.partitions:
                return None
            count = self._partition_counts[topic] = len(tmeta.partitions)
        return count

    def clear_error(self) -> None:
        """Forget a pending failure (after the transaction it belonged to was aborted)."""
        self._error = None
