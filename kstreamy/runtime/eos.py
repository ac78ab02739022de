"""The worker's producer, plain (at-least-once) or transactional (exactly-once v2).

Under exactly_once_v2 each worker owns one transactional producer whose `transactional.id` is
`<application.id>-<process uuid>-<worker index>`: the process uuid lives in the state directory,
so a restarted instance reuses the id and `init_transactions` fences its killed predecessor and
aborts whatever transaction it left open. Input offsets travel inside the transaction
(`send_offsets_to_transaction` with the consumer's group metadata), so output, changelog writes
and the consumed position commit atomically.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from kstreamy.errors import StreamsError
from kstreamy.runtime.client_errors import ErrorKind, RetriableClientError, classify

log = logging.getLogger(__name__)

ProducerFactory = Callable[[dict[str, Any]], Any]


class ProducerFencedError(StreamsError):
    """Another producer with our transactional.id took over (a zombie instance); tasks migrate."""


class TransactionAbortedError(StreamsError):
    """The open transaction was aborted; the caller rewinds to the committed offsets."""


def transactional_id(application_id: str, process_id: str, worker_index: int) -> str:
    return f"{application_id}-{process_id}-{worker_index}"


def _default_factory(config: dict[str, Any]) -> Any:
    from confluent_kafka import Producer

    return Producer(config)


class StreamsProducer:
    """Wraps one confluent-kafka Producer and, under EOS, its transaction lifecycle."""

    def __init__(
        self,
        config: dict[str, Any],
        transactional_id: str | None = None,
        factory: ProducerFactory = _default_factory,
        timeout: float = 30.0,
    ) -> None:
        self._config = dict(config)
        if transactional_id is not None:
            self._config["transactional.id"] = transactional_id
            self._config["enable.idempotence"] = True
        self.transactional_id = transactional_id
        self._factory = factory
        self._timeout = timeout
        self.eos = transactional_id is not None
        """Transactional (exactly_once_v2)? A plain attribute: read on the per-record path."""
        self.in_transaction = False
        """A transaction is open (EOS only); a plain attribute, read on the per-record path."""
        self.producer: Any = None
        self.commit_in_doubt = False
        """A `commit_transaction` call failed ambiguously (e.g. timed out): the transaction may
        have committed or not, so the rewind must ask the broker for the committed offsets."""

    @property
    def transaction_timeout_s(self) -> float:
        """The transaction timeout (the broker aborts an older open transaction), in seconds."""
        return float(self._config.get("transaction.timeout.ms", 60_000)) / 1000.0

    def start(self) -> None:
        """Create the client; under EOS, fence older incarnations with `init_transactions`."""
        self.producer = self._factory(self._config)
        if self.eos:
            self._call("init_transactions", self._timeout)

    def maybe_begin(self) -> None:
        """Open a transaction before the first record of a commit interval (EOS only)."""
        if self.eos and not self.in_transaction:
            self._call("begin_transaction")
            self.in_transaction = True

    def commit_transaction(self, offsets: list[Any], group_metadata: Any) -> None:
        """Commit step 3 under EOS: offsets into the transaction, then commit it."""
        if not self.in_transaction:
            self.maybe_begin()
        if offsets:
            self._call("send_offsets_to_transaction", offsets, group_metadata, self._timeout)
        self.commit_in_doubt = True
        try:
            self._call("commit_transaction", self._timeout)
        except (ProducerFencedError, TransactionAbortedError):
            # fenced (the coordinator bumped the epoch, aborting the transaction) or abortable:
            # the transaction did not commit; only a timeout leaves the outcome unknown
            self.commit_in_doubt = False
            raise
        self.commit_in_doubt = False
        self.in_transaction = False

    def abort(self) -> None:
        """Abort the open transaction; on a fatal error recreate the producer instead."""
        if not self.eos or not self.in_transaction:
            return
        self.in_transaction = False
        try:
            self.producer.abort_transaction(self._timeout)
        except Exception as exc:  # the producer is unusable: start a fresh incarnation
            log.warning("abort_transaction failed (%s); reinitialising the producer", exc)
            self.reinitialize()

    def reinitialize(self) -> None:
        """Throw the producer away and start a new one (after fencing or an ambiguous error)."""
        old = self.producer
        self.producer = None
        self.in_transaction = False
        if old is not None:
            with contextlib.suppress(Exception):  # best effort on a client being discarded
                old.flush(0)
        self.start()

    def flush(self, timeout: float | None = None) -> int:
        """Commit step 2: wait for every queued record; returns how many are still queued."""
        if self.producer is None:
            return 0
        remaining: int = self.producer.flush(self._timeout if timeout is None else timeout)
        return remaining

    def close(self, timeout: float = 5.0) -> None:
        if self.producer is None:
            return
        if self.in_transaction:
            self.abort()
        try:
            self.producer.flush(timeout)
        finally:
            self.producer = None

    def _call(self, method: str, *args: Any) -> Any:
        """Call a transactional method, turning librdkafka errors into what the worker handles."""
        from confluent_kafka import KafkaError, KafkaException

        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return getattr(self.producer, method)(*args)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if (
                    isinstance(err, KafkaError)
                    and err.retriable()
                    and not err.fatal()
                    and time.monotonic() < deadline
                ):
                    log.info(
                        "%s %s: retriable error %s, retrying", self.transactional_id, method, err
                    )
                    time.sleep(0.1)
                    continue
                self._raise(method, exc, err)

    def raise_client_error(self, method: str, exc: BaseException, topic: str) -> None:
        """Re-raise an exception of `producer.<method>` for `topic` as what the worker handles
        (see `_raise`); anything but a KafkaException is re-raised unchanged."""
        from confluent_kafka import KafkaException

        if not isinstance(exc, KafkaException):
            raise exc
        err = exc.args[0] if exc.args else None
        self._raise(f"{method} (topic {topic})", exc, err)

    def _raise(self, method: str, exc: BaseException, err: Any) -> None:
        from confluent_kafka import KafkaError

        if isinstance(err, KafkaError):
            kind = classify(err)
            if kind is ErrorKind.FATAL and method != "init_transactions":
                raise ProducerFencedError(
                    f"Producer {self.transactional_id} was fenced or failed fatally during "
                    f"{method}: {err.str()}; its tasks are closed dirty and re-initialised"
                ) from exc
            if err.txn_requires_abort():
                raise TransactionAbortedError(
                    f"Transaction of {self.transactional_id} must abort after {method}: {err.str()}"
                ) from exc
            if kind is ErrorKind.RETRIABLE:
                raise RetriableClientError(
                    f"Producer {self.transactional_id or ''} {method} failed: {err.str()} "
                    "(retriable: the tasks rewind to their committed offsets and retry)"
                ) from exc
        raise StreamsError(
            f"Producer {self.transactional_id or ''} {method} failed: {exc}"
        ) from exc
