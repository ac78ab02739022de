"""Recovering a worker's corrupted tasks (Kafka Streams' TaskCorrupted/TaskMigrated handling).

A mixin of `Worker` (kept apart so each module stays small), beside `worker_tasks.py`'s task
lifecycle. A failed transaction, a fenced producer or a retriable client error (a send timed
out while the broker was away; see `client_errors.py`) corrupts the worker's tasks: `_recover`
aborts the open transaction (or re-creates the producer), closes the tasks dirty (under
exactly_once_v2 their state is wiped), reopens them and rewinds the consumer to the committed
offsets — the ones this worker committed last, or the broker's when unknown or in doubt. Every
step that needs the broker is retried until `task.timeout.ms` passes without a successful
commit; then the worker fails with an error naming the last failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kstreamy.errors import StreamsError
from kstreamy.runtime.eos import ProducerFencedError
from kstreamy.runtime.worker_tasks import TaskManagement

if TYPE_CHECKING:
    from kstreamy.runtime.eos import StreamsProducer
    from kstreamy.runtime.worker import WorkerState

log = logging.getLogger(__name__)

TP = tuple[str, int]


class Recovery(TaskManagement):
    """Recovery methods of `Worker`; see the module docstring."""

    producer: StreamsProducer | None
    state: WorkerState
    _stop: threading.Event
    _task_timeout: float
    _corrupted_since: float | None
    _committed: dict[TP, int]

    def _admin(self) -> Any:
        raise NotImplementedError

    def _rebuild_route(self) -> None:
        raise NotImplementedError

    def _set_state(self, new: WorkerState) -> None:
        raise NotImplementedError

    def _recover(self, exc: BaseException, reopen: bool = True) -> None:
        """Corrupted tasks (a failed transaction, a fenced producer, a retriable client error such
        as a send timeout while the broker is away): abort (or re-create the producer), close the
        tasks dirty (under EOS their state is wiped), rewind to the committed offsets and
        re-restore — Kafka Streams' TaskCorrupted/TaskMigrated handling. Retried until
        `task.timeout.ms` passes without a successful commit; then the worker fails."""
        from confluent_kafka import OFFSET_BEGINNING

        from kstreamy.runtime.worker import WorkerState  # (a cycle at import time)

        assert self.producer is not None and self.collector is not None
        now = time.monotonic()
        if self._corrupted_since is None:
            self._corrupted_since = now
        elif now - self._corrupted_since > self._task_timeout:
            raise StreamsError(
                f"{self.name}: no successful commit for {now - self._corrupted_since:.0f}s "
                f"(task.timeout.ms={self._task_timeout * 1000:.0f}); last error: {exc}. Check "
                "that the brokers are reachable, or raise task.timeout.ms"
            ) from exc
        log.warning("%s: tasks corrupted (%s); aborting and rewinding", self.name, exc)
        partitions = {tid: e.partitions for tid, e in self.tasks.items()}
        self._close_all_dirty()
        self._rebuild_route()
        self._reset_producer(reinitialize=isinstance(exc, ProducerFencedError))
        self.collector.clear_error()
        if not reopen or not partitions:
            return
        committed = self._rewind_targets([tp for ps in partitions.values() for tp in ps])
        for tid, ps in sorted(partitions.items()):
            self.tasks[tid] = self._open_task(tid, ps)
        self._pause_restoring()
        self._rebuild_route()
        for tp in committed:
            if tp.offset < 0:
                tp.offset = OFFSET_BEGINNING
            self.consumer.seek(tp)
        if self._restoring and self.state is WorkerState.RUNNING:
            self._set_state(WorkerState.PARTITIONS_ASSIGNED)

    def _rewind_targets(self, partitions: list[tuple[str, int]]) -> list[Any]:
        """The committed offset of each partition: the one this worker committed last, unless
        unknown (none since the assignment) or in doubt (a transaction commit failed midway,
        it may have gone through) — then the broker's, retried until `task.timeout.ms`."""
        from confluent_kafka import TopicPartition

        assert self.producer is not None
        known = self._committed
        unknown = [tp for tp in partitions if tp not in known]
        if self.producer.commit_in_doubt or unknown:
            log.info(
                "%s: asking the broker for the committed offsets (%s)", self.name,
                "a commit is in doubt" if self.producer.commit_in_doubt else f"unknown: {unknown}",
            )  # fmt: skip
            fetched: list[Any] = self._retry(
                "fetching committed offsets", self._fetch_committed, partitions
            )
            self.producer.commit_in_doubt = False
            return fetched
        return [TopicPartition(t, p, known[(t, p)]) for t, p in partitions]

    def _fetch_committed(self, partitions: list[tuple[str, int]]) -> list[Any]:
        """The group's committed offsets: from the consumer, else (it blocks while the group
        is rejoining after a broker outage) with an admin request to the group coordinator."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        try:
            return list(self.consumer.committed([TopicPartition(t, p) for t, p in partitions], 5))
        except Exception as exc:
            log.info("%s: consumer.committed failed (%s); asking the coordinator", self.name, exc)
        group = self.setup.application_id
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in partitions])
        futures = self._admin().list_consumer_group_offsets(
            [request], require_stable=True, request_timeout=10
        )
        result = futures[group].result(timeout=15)
        for tp in result.topic_partitions:
            if tp.error is not None:
                raise StreamsError(f"committed offset of {tp.topic}-{tp.partition}: {tp.error}")
        return list(result.topic_partitions)

    def _reset_producer(self, reinitialize: bool) -> None:
        """Abort the open transaction, or re-create the producer (fenced, or the abort failed);
        retried while the broker is away (bounded by `task.timeout.ms`)."""
        assert self.producer is not None and self.collector is not None
        producer = self.producer
        if reinitialize:
            self._retry("re-creating the producer", producer.reinitialize)
        else:
            try:
                producer.abort()  # re-creates the producer itself if the abort fails
            except Exception as exc:  # re-creating failed too (broker away): keep trying
                log.warning("%s: resetting the producer failed (%s); retrying", self.name, exc)
                self._retry("re-creating the producer", producer.reinitialize)
        if producer.producer is not None:  # serve the aborted records' reports (purges) now
            producer.producer.poll(0)
        self.collector.clear_error()

    def _retry(self, what: str, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)` until it succeeds or `task.timeout.ms` (from the first failure since
        the last commit) has passed; used while recovering from a broker outage."""
        start = self._corrupted_since if self._corrupted_since is not None else time.monotonic()
        deadline = start + self._task_timeout
        while True:
            try:
                return call(*args)
            except Exception as exc:
                detail = str(exc) or repr(exc)  # (a future's TimeoutError has no message)
                if time.monotonic() >= deadline or self._stop.is_set():
                    raise StreamsError(
                        f"{self.name}: {what} failed for {time.monotonic() - start:.0f}s "
                        f"(task.timeout.ms={self._task_timeout * 1000:.0f}): {detail}. Check that "
                        "the brokers are reachable, or raise task.timeout.ms"
                    ) from exc
                log.warning("%s: %s failed (%s); retrying", self.name, what, detail)
                time.sleep(1.0)
