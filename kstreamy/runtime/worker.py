"""A worker: one group consumer, one producer and the tasks assigned to it (Kafka's StreamThread).

The loop: consume a batch, route each record to its task (tasks with several input partitions
take their records in timestamp order), punctuate, and every `commit.interval.ms` run the commit
protocol of `commit.py`. Rebalances (eager, range assignor) commit in `on_revoke`, keep the
tasks open until `on_assign` says which stay, close the others cleanly (keeping their state
directory) and open the new ones: open the stores and register their changelogs with the
worker's `ChangelogReader` (a checkpoint outside a changelog's offsets wipes the task's state
first). A task with records to restore is RESTORING: its input partitions are paused, and each
loop iteration applies one bounded chunk of changelog records while the running tasks keep
processing; once caught up its processors are initialised and its partitions resumed (Kafka
Streams' state updater). The worker is RUNNING once no task restores. Standby tasks (see
`standby.py`) are fed by the same reader. A failed transaction, a fenced producer or a
retriable client error (a send timed out while the broker was away; see `client_errors.py`)
corrupts the tasks: `_recover` (`recovery.py`) aborts the transaction (or re-creates the
producer), closes them dirty (under exactly_once_v2 their state is wiped) and rewinds to the
committed offsets, retried until `task.timeout.ms` passes without a successful commit.
"""

from __future__ import annotations

import heapq
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kstreamy._internal.gc_tuning import GC_TUNING_CONFIG, processing_gc
from kstreamy.config import StreamsConfig
from kstreamy.errors import StreamsError
from kstreamy.processor import TaskId
from kstreamy.runtime.changelog_reader import ChangelogReader
from kstreamy.runtime.client_errors import RetriableClientError
from kstreamy.runtime.commit import commit_tasks
from kstreamy.runtime.eos import (
    ProducerFencedError,
    StreamsProducer,
    TransactionAbortedError,
    transactional_id,
)
from kstreamy.runtime.global_tables import GlobalStateUpdater
from kstreamy.runtime.housekeeping import RepartitionPurger, update_lag
from kstreamy.runtime.internal_topics import TopicPlan
from kstreamy.runtime.kafka_collector import KafkaRecordCollector
from kstreamy.runtime.metrics import WorkerMetrics
from kstreamy.runtime.queries import SERVER_SEPARATOR
from kstreamy.runtime.recovery import Recovery
from kstreamy.runtime.restoration import StateRestoreListener
from kstreamy.runtime.standby import MembershipWatcher
from kstreamy.runtime.task import Task
from kstreamy.runtime.worker_tasks import (
    CHECKPOINT_DELTA,
    RESTORING,
    RUNNING,
    STANDBY,
    _TaskEntry,
)
from kstreamy.state.directory import StateDirectory
from kstreamy.topology import SubTopology, Topology

log = logging.getLogger(__name__)

ConsumerFactory = Callable[[dict[str, Any]], Any]


class WorkerState(Enum):
    CREATED = "CREATED"
    STARTING = "STARTING"
    PARTITIONS_ASSIGNED = "PARTITIONS_ASSIGNED"
    RUNNING = "RUNNING"
    PENDING_SHUTDOWN = "PENDING_SHUTDOWN"
    DEAD = "DEAD"


def _consumer_factory(config: dict[str, Any]) -> Any:
    from confluent_kafka import Consumer

    return Consumer(config)


@dataclass
class WorkerSetup:
    """Everything a worker needs, built once by the app (picklable parts only for processes)."""

    application_id: str
    topology: Topology
    plan: TopicPlan
    config: StreamsConfig
    index: int = 0
    process_id: str = "0"
    state_directory: StateDirectory | None = None
    """The application's state directory; None keeps every store in memory."""
    global_dir_name: str = "global"
    client_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per client kind: settings the runtime adds unless the user set them (timeouts)."""


def _as_exception(exc: Any) -> BaseException:
    """confluent-kafka sometimes raises a bare `KafkaError`, which the traceback machinery can't
    format; wrap it in a StreamsError naming it."""
    if isinstance(exc, BaseException) and hasattr(exc, "__suppress_context__"):
        try:
            exc.__suppress_context__  # noqa: B018 — C types may lack the slot
            return exc
        except AttributeError:
            pass
    return StreamsError(f"Kafka client error: {exc}")


_CORRUPTING = (TransactionAbortedError, ProducerFencedError, RetriableClientError)
"""Failures after which the worker's tasks are corrupted: `_recover` aborts and rewinds them."""

__all__ = ["CHECKPOINT_DELTA", "STANDBY", "Worker", "WorkerSetup", "WorkerState", "_TaskEntry"]


class Worker(Recovery):
    """See the module docstring; `run()` is the thread (or process) body."""

    def __init__(
        self,
        setup: WorkerSetup,
        on_state_change: Callable[[Worker, WorkerState, WorkerState], None] | None = None,
        consumer_factory: ConsumerFactory = _consumer_factory,
    ) -> None:
        self.setup = setup
        self.config = setup.config
        self.eos = setup.config.exactly_once
        self.name = f"{setup.application_id}-worker-{setup.index}"
        self.state = WorkerState.CREATED
        self.metrics = WorkerMetrics()
        self.error: BaseException | None = None
        self.tasks: dict[TaskId, _TaskEntry] = {}
        """Active tasks, RESTORING or RUNNING."""
        self.standbys: dict[TaskId, _TaskEntry] = {}
        self._restoring: dict[tuple[str, int], _TaskEntry] = {}
        """Input partition -> its RESTORING task (records fetched for it are buffered)."""
        self.reader: ChangelogReader | None = None
        self._watcher: MembershipWatcher | None = None
        self._on_state_change = on_state_change
        self._consumer_factory = consumer_factory
        self._stop = threading.Event()
        self._subs: dict[int, SubTopology] = {s.id: s for s in setup.topology.task_subtopologies()}
        self._route: dict[str, dict[int, Task]] = {}
        self._multi: set[TaskId] = set()
        self._closing = False
        self.async_commits = 0  # at-least-once commits sent without waiting, not yet reported
        self._app_config = setup.config.as_dict()
        self.consumer: Any = None
        self.producer: StreamsProducer | None = None
        self.collector: KafkaRecordCollector | None = None
        self._restore_consumer: Any = None
        self.global_updater: GlobalStateUpdater | None = None
        self._thread_cache: Any = None
        self._purger = RepartitionPurger(setup.config.get_int("repartition.purge.interval.ms"))
        self.restore_listener: StateRestoreListener | None = None
        """Set by the app before `run()` (threads only: a listener is not sent to processes)."""
        self._task_timeout = setup.config.get_int("task.timeout.ms") / 1000.0
        self._corrupted_since: float | None = None
        """When the first recovery since the last successful commit happened (the
        `task.timeout.ms` bound on retrying transient client errors)."""
        self._committed: dict[tuple[str, int], int] = {}
        """Input partition -> the offset this worker last committed for it since it was
        assigned: the rewind target of `_recover`, known without asking the broker (which may
        be away, or the group rejoining)."""

    # -- lifecycle ---------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Run until `request_stop()`; a failure is kept in `self.error` and ends the worker."""
        try:
            self._set_state(WorkerState.STARTING)
            self._open_clients()
            if self.global_updater is not None:
                self.global_updater.bootstrap()
            self._subscribe()
            with processing_gc(bool(self.config.get(GC_TUNING_CONFIG))):
                self._loop()
            self._set_state(WorkerState.PENDING_SHUTDOWN)
            self._shutdown(clean=True)
        except:  # noqa: E722 — also a bare KafkaError, which is no BaseException subclass
            exc = _as_exception(sys.exc_info()[1])
            self.error = exc
            log.error("%s failed: %s", self.name, exc, exc_info=exc)
            try:
                self._shutdown(clean=False)
            except Exception as close_exc:  # the original error is what matters
                log.warning("%s: error while closing after a failure: %s", self.name, close_exc)
        finally:
            self._set_state(WorkerState.DEAD)

    def _set_state(self, new: WorkerState) -> None:
        old, self.state = self.state, new
        if old is not new:
            log.info("%s state transition from %s to %s", self.name, old.value, new.value)
            if self._on_state_change is not None:
                self._on_state_change(self, new, old)

    def client_config(self, kind: Any) -> dict[str, Any]:
        config = self.config.client_config(kind)
        for key, value in self.setup.client_overrides.get(kind, {}).items():
            config.setdefault(key, value)
        config.setdefault("client.id", f"{self.name}-{kind}")
        server = self.config.application_server
        if kind == "consumer" and server:  # interactive-query discovery, see queries.py
            config["client.id"] = f"{config['client.id']}{SERVER_SEPARATOR}{server}"
        if kind == "consumer":
            config.setdefault("on_commit", self._on_commit)
        return config

    def _on_commit(self, err: Any, partitions: list[Any]) -> None:
        """librdkafka's offset-commit callback (served by `consume`): reports the failure of an
        asynchronous at-least-once commit (a synchronous one raises in `commit_offsets`)."""
        if self.async_commits <= 0:
            return
        self.async_commits -= 1
        if err is not None:
            log.warning("%s: offset commit failed (%s); the next commit carries these offsets",
                        self.name, err.str())  # fmt: skip

    def _open_clients(self) -> None:
        from kstreamy.state.cache import ThreadCache

        setup = self.setup
        tid = transactional_id(setup.application_id, setup.process_id, setup.index)
        self.producer = StreamsProducer(self.client_config("producer"), tid if self.eos else None)
        self.producer.start()
        self.collector = KafkaRecordCollector(
            self.producer, self.config.get("production.exception.handler")
        )
        # only changelog offsets are needed (checkpoints): other topics get a cheaper callback
        self.collector.tracked_topics = frozenset(setup.plan.store_changelogs.values())
        self._restore_consumer = self._consumer_factory(self.client_config("restore_consumer"))
        self.reader = ChangelogReader(
            self._restore_consumer, self.metrics.restoration, self.restore_listener, self.name
        )
        if self.config.num_standby_replicas > 0 and setup.plan.store_changelogs:
            self._watcher = MembershipWatcher(self._admin, setup.application_id)
        cache_bytes = self.config.cache_max_bytes
        self._thread_cache = ThreadCache(cache_bytes) if cache_bytes > 0 else None
        if setup.topology.global_stores:
            sd = setup.state_directory
            gdir = sd.app_dir / setup.global_dir_name if sd is not None else None
            self.global_updater = GlobalStateUpdater(
                setup.topology,
                setup.config,
                setup.application_id,
                gdir,
                self._consumer_factory(self.client_config("global_consumer")),
            )
        self.consumer = self._consumer_factory(self.client_config("consumer"))

    def _admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.client_config("admin"))

    def _subscribe(self) -> None:
        topics = self.setup.plan.all_source_topics()
        if not topics:
            self._set_state(WorkerState.RUNNING)
            return
        self.consumer.subscribe(
            topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def _loop(self) -> None:
        interval = self.config.commit_interval_ms / 1000.0
        batch = max(100, min(10_000, self.config.buffered_records_per_partition * 2))
        poll_timeout = self.config.poll_ms / 1000.0
        last_commit = time.monotonic()
        metrics = self.metrics
        reader = self.reader
        assert reader is not None
        while not self._stop.is_set():
            restoring = bool(self._restoring)
            msgs = self._poll(batch, 0.0 if restoring else poll_timeout)
            try:
                if msgs:
                    self._process(msgs)
                    metrics.records_processed += len(msgs)
                if reader.busy:
                    self._restore_step(poll_timeout if restoring and not msgs else 0.0)
                if self._watcher is not None:
                    self._maybe_update_standbys()
                if self.global_updater is not None:
                    self.global_updater.poll()
                self._punctuate_wall_clock()
                now = time.monotonic()
                if now - last_commit >= interval or self._commit_requested():
                    self.commit()
                    self._checkpoint_standbys(force=False)
                    if self.global_updater is not None:
                        self.global_updater.maybe_checkpoint()
                    last_commit = time.monotonic()
            except _CORRUPTING as exc:
                self._recover(exc)
                last_commit = time.monotonic()

    def _poll(self, batch: int, timeout: float) -> list[Any]:
        """Up to `batch` records, waiting at most `timeout` for the first one (Kafka's `poll`).

        librdkafka's `consume(n, timeout)` waits until it has n records or the timeout passed,
        so with fewer records queued it would hold each one back for the whole `poll.ms`; so:
        take what is queued, and only when nothing is, wait for one record and then take what
        arrived with it.
        """
        consumer = self.consumer
        msgs: list[Any] = consumer.consume(num_messages=batch, timeout=0)
        if msgs or timeout <= 0:
            return msgs
        first = consumer.poll(timeout)
        if first is None:
            return []
        return [first, *consumer.consume(num_messages=batch - 1, timeout=0)]

    # -- processing --------------------------------------------------------------------------------
    def _process(self, msgs: list[Any]) -> None:
        route = self._route
        multi = self._multi
        pending: dict[TaskId, dict[tuple[str, int], list[Any]]] | None = None
        for msg in msgs:
            if msg.error() is not None:
                self._consumer_error(msg)
                continue
            topic = msg.topic()
            part = msg.partition()
            parts = route.get(topic)
            task = parts.get(part) if parts is not None else None
            if task is None:  # restoring (kept for later), or revoked while in flight
                restoring = self._restoring.get((topic, part))
                if restoring is not None:
                    restoring.buffered.append(msg)
                continue
            if multi and task.task_id in multi:
                if pending is None:
                    pending = {}
                pending.setdefault(task.task_id, {}).setdefault((topic, part), []).append(msg)
                continue
            task.process(
                topic, part, msg.offset(), msg.timestamp()[1], msg.key(), msg.value(),
                msg.headers() or (),
            )  # fmt: skip
            if task.stream_schedules:
                task.punctuate_stream_time()
        if pending:
            for tid, per_partition in pending.items():
                task = self.tasks[tid].task
                merged = heapq.merge(*per_partition.values(), key=lambda m: m.timestamp()[1])
                for msg in merged:
                    task.process(
                        msg.topic(), msg.partition(), msg.offset(), msg.timestamp()[1],
                        msg.key(), msg.value(), msg.headers() or (),
                    )  # fmt: skip
                    if task.stream_schedules:
                        task.punctuate_stream_time()

    def _consumer_error(self, msg: Any) -> None:
        from confluent_kafka import KafkaError

        err = msg.error()
        if err.code() == KafkaError._PARTITION_EOF:
            return
        if err.fatal():
            raise StreamsError(f"{self.name}: fatal consumer error: {err.str()}")
        log.warning("%s: consumer error (retrying): %s", self.name, err.str())

    def _punctuate_wall_clock(self) -> None:
        now = int(time.time() * 1000)
        for entry in self.tasks.values():
            if entry.state == RUNNING and entry.task.wall_schedules:
                entry.task.punctuate_wall_clock(now)

    def _commit_requested(self) -> bool:
        return any(e.task.commit_requested for e in self.tasks.values())

    def running_tasks(self) -> list[_TaskEntry]:
        """The active tasks that process (not RESTORING): the ones a commit covers."""
        return [e for e in self.tasks.values() if e.state == RUNNING]

    def commit(self, final: bool = False) -> None:
        """Run the numbered commit protocol over every running task (see `commit.py`); `final`
        before a revocation or shutdown."""
        assert self.producer is not None and self.collector is not None
        entries = self.running_tasks()
        if not entries:
            return
        if not any(e.task.commit_needed for e in entries) and not self.producer.in_transaction:
            return
        started = time.monotonic()
        positions = commit_tasks(self, entries, final)
        self._corrupted_since = None
        if self.eos:  # (at-least-once: a failed offset commit is only logged, see commit.py)
            for tp in positions:
                self._committed[(tp.topic, tp.partition)] = tp.offset
        self.metrics.record_commit(time.monotonic() - started)
        update_lag(self, positions)
        self._purger.maybe_purge(self, positions)

    def committable_offsets(self) -> list[Any]:
        """The consumer's position on every partition a running task owns (the next offset to
        read); a RESTORING task commits nothing (records buffered for it are not processed)."""
        from confluent_kafka import TopicPartition

        tps = [TopicPartition(t, p) for e in self.running_tasks() for t, p in e.partitions]
        if not tps:
            return []
        return [tp for tp in self.consumer.position(tps) if tp.offset >= 0]

    # -- rebalance ---------------------------------------------------------------------------------
    def _tasks_for(self, partitions: list[Any]) -> dict[TaskId, list[tuple[str, int]]]:
        plan = self.setup.plan
        result: dict[TaskId, list[tuple[str, int]]] = {}
        for tp in partitions:
            sub = plan.subtopology_of(tp.topic)
            result.setdefault(TaskId(sub, tp.partition), []).append((tp.topic, tp.partition))
        return result

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._set_state(WorkerState.PARTITIONS_ASSIGNED)
        wanted = self._tasks_for(partitions)
        for tid in [t for t in self.tasks if t not in wanted]:
            self._close_task(tid, clean=True)
        # assigned here (not after the callback) so that restoring tasks' partitions can be paused
        consumer.assign(partitions)
        self._committed = {}  # another member may have committed meanwhile: ask the broker
        for tid, tps in sorted(wanted.items()):
            if tid in self.tasks:
                entry = self.tasks[tid]
                entry.partitions = tps
                entry.buffered = []  # the consumer fetches again from the committed offsets
            elif tid in self.standbys:
                self.tasks[tid] = self._promote(tid, tps)
            else:
                self.tasks[tid] = self._open_task(tid, tps)
        self._pause_restoring()
        self._rebuild_route()
        if self._watcher is not None:
            self._watcher.request_soon(0.5)  # the group turns Stable once every member synced
        restoring = sorted(str(e.task.task_id) for e in self.tasks.values() if e.state == RESTORING)
        tasks = ",".join(str(t) for t in sorted(self.tasks))
        log.info(
            "%s assigned %d partition(s), %d task(s) %s%s",
            self.name, len(partitions), len(self.tasks), tasks,
            f" (restoring {','.join(restoring)})" if restoring else "",
        )  # fmt: skip
        self._set_running_if_restored()

    def _set_running_if_restored(self) -> None:
        if not self._restoring and self.state is WorkerState.PARTITIONS_ASSIGNED:
            self._set_state(WorkerState.RUNNING)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        if self._closing or not self.tasks:
            return
        self._set_state(WorkerState.PARTITIONS_ASSIGNED)
        try:
            self.commit(final=True)
        except _CORRUPTING as exc:
            self._recover(exc, reopen=False)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        log.warning("%s lost its partitions (session timed out); closing tasks dirty", self.name)
        self._close_all_dirty()
        if self.producer is not None and self.producer.in_transaction:
            self._reset_producer(reinitialize=False)

    def _rebuild_route(self) -> None:
        """Input partition -> task, for RUNNING tasks (a RESTORING task's records are buffered)."""
        route: dict[str, dict[int, Task]] = {}
        multi: set[TaskId] = set()
        for tid, entry in self.tasks.items():
            if entry.state != RUNNING:
                continue
            for topic, part in entry.partitions:
                route.setdefault(topic, {})[part] = entry.task
            if len(entry.partitions) > 1:
                multi.add(tid)
        self._route = route
        self._multi = multi

    def _start_processing(self, entry: _TaskEntry) -> None:
        super()._start_processing(entry)
        if entry.task.task_id in self.tasks:
            self._rebuild_route()

    # -- failures and shutdown ---------------------------------------------------------------------
    def _shutdown(self, clean: bool) -> None:
        self._closing = True
        if clean and self.tasks:
            self.commit(final=True)
            for tid in list(self.tasks):
                self._close_task(tid, clean=True)
        else:
            self._close_all_dirty()
        self._close_standbys()
        if self.reader is not None:
            self.reader.close()
        if self.global_updater is not None:
            if clean:
                self.global_updater.checkpoint()
            self.global_updater.close()
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
        if self._restore_consumer is not None:
            self._restore_consumer.close()
            self._restore_consumer = None
        if self.producer is not None:
            self.producer.close()
