"""`KafkaStreams`: runs a topology on Kafka (Kafka Streams' `KafkaStreams` client).

`start()` checks the config, derives and creates the internal topics (failing with a clear error
when a source topic is missing or an internal topic has the wrong shape), then starts the
workers and returns. With `num.stream.threads` = 1 the worker is a thread of this process, and
`store(name)` queries its stores; with N > 1 the workers are N child processes (see
`processes.py`), each an independent group member, and the topology must be given as a factory
importable by name (`"module:function"` or a module-level function) so children can rebuild it.

States and transitions are Kafka's: CREATED -> REBALANCING <-> RUNNING -> PENDING_SHUTDOWN ->
NOT_RUNNING, and -> PENDING_ERROR -> ERROR when a worker dies and the uncaught exception handler
says to shut down. Every transition is logged once.

Standby replicas (`num.standby.replicas` = N): each stateful task keeps warm copies on N other
group members, placed by a rule every member derives from the group's description (see
`standby.py`); a standby only applies its changelog, and when its task moves to that member only
the tail since its last read is restored. `metrics()` lists each worker's `tasks`,
`restoring_tasks`, `standby_tasks` and `standby_lag` (per task).

Failover timing: the runtime sets `session.timeout.ms=10000` and `heartbeat.interval.ms=2500`
on the group consumer unless configured, and exactly_once_v2 producers use
`transaction.timeout.ms=10000`, so after a SIGKILL the group reassigns the dead member's tasks
(and a restarted member fences its predecessor's transaction at once) within about 10-15 s.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from kstreamy.config import StreamsConfig
from kstreamy.errors import ConfigError, InvalidStateStoreError, StreamsError
from kstreamy.processor import TaskId
from kstreamy.runtime.internal_topics import (
    TopicPlan,
    ensure_internal_topics,
    fetch_partition_counts,
    plan_internal_topics,
)
from kstreamy.runtime.queries import KeyQueryMetadata
from kstreamy.runtime.restoration import StateRestoreListener
from kstreamy.runtime.standby import TaskRules
from kstreamy.runtime.worker import Worker, WorkerSetup, WorkerState
from kstreamy.runtime.worker_tasks import RESTORING, RUNNING
from kstreamy.state.directory import StateDirectory, TaskLock
from kstreamy.topology import Topology

log = logging.getLogger(__name__)

TopologySource = Topology | Callable[[], Topology] | str

CONSUMER_OVERRIDES: dict[str, Any] = {"session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_500}


class State(Enum):
    """The client's lifecycle state (Kafka's `KafkaStreams.State`)."""

    CREATED = "CREATED"
    REBALANCING = "REBALANCING"
    RUNNING = "RUNNING"
    PENDING_SHUTDOWN = "PENDING_SHUTDOWN"
    NOT_RUNNING = "NOT_RUNNING"
    PENDING_ERROR = "PENDING_ERROR"
    ERROR = "ERROR"

    def is_running_or_rebalancing(self) -> bool:
        return self in (State.RUNNING, State.REBALANCING)


_TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.REBALANCING, State.PENDING_SHUTDOWN, State.PENDING_ERROR}),
    State.REBALANCING: frozenset(
        {State.RUNNING, State.REBALANCING, State.PENDING_SHUTDOWN, State.PENDING_ERROR}
    ),
    State.RUNNING: frozenset(
        {State.REBALANCING, State.RUNNING, State.PENDING_SHUTDOWN, State.PENDING_ERROR}
    ),
    State.PENDING_SHUTDOWN: frozenset({State.NOT_RUNNING}),
    State.NOT_RUNNING: frozenset(),
    State.PENDING_ERROR: frozenset({State.ERROR}),
    State.ERROR: frozenset(),
}


class StreamThreadExceptionResponse(Enum):
    """What the uncaught exception handler asks for (Kafka's enum of the same name)."""

    REPLACE_THREAD = "REPLACE_THREAD"
    SHUTDOWN_CLIENT = "SHUTDOWN_CLIENT"
    SHUTDOWN_APPLICATION = "SHUTDOWN_APPLICATION"


def resolve_topology(source: TopologySource) -> Topology:
    """A Topology from itself, a zero-argument factory, or a `"module:function"` name."""
    if isinstance(source, Topology):
        return source
    if isinstance(source, str):
        module_name, _, attr = source.partition(":")
        if not attr:
            raise ConfigError(f"topology factory {source!r} must look like 'package.module:func'")
        source = getattr(importlib.import_module(module_name), attr)
    if not callable(source):
        raise ConfigError(f"expected a Topology or a topology factory, got {source!r}")
    result: Any = source()
    if not isinstance(result, Topology):
        built = getattr(result, "build", None)  # a StreamsBuilder is accepted too
        result = built() if callable(built) else result
    if not isinstance(result, Topology):
        raise ConfigError(f"topology factory {source!r} returned {type(result).__name__}")
    return result


class KafkaStreams:
    """Runs `topology` with `config`; see the module docstring."""

    def __init__(
        self,
        topology: TopologySource,
        config: Mapping[str, Any] | StreamsConfig,
        *,
        consumer_factory: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.config = config if isinstance(config, StreamsConfig) else StreamsConfig(config)
        self._topology_source = topology
        self.topology = resolve_topology(topology)
        self._consumer_factory = consumer_factory
        self._state = State.CREATED
        self._lock = threading.RLock()
        self._state_listener: Callable[[State, State], None] | None = None
        self._exception_handler: Callable[[BaseException], Any] | None = None
        self._restore_listener: StateRestoreListener | None = None
        self._workers: list[Worker] = []
        self._threads: list[threading.Thread] = []
        self._processes: Any = None
        self.plan: TopicPlan | None = None
        self.process_id: str | None = None
        self._closed = threading.Event()
        self._state_directory: StateDirectory | None = None
        self._instance_lock: TaskLock | None = None

    # -- state -------------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    def set_state_listener(self, listener: Callable[[State, State], None]) -> None:
        """`listener(new_state, old_state)` after every transition (from a worker thread)."""
        if self._state is not State.CREATED:
            raise StreamsError("set_state_listener must be called before start()")
        self._state_listener = listener

    def set_global_state_restore_listener(self, listener: StateRestoreListener) -> None:
        """Kafka's `setGlobalStateRestoreListener`: `listener.on_restore_start/on_batch_restored/
        on_restore_end` for every store a worker thread restores (not with worker processes),
        and `on_restore_suspended` if the listener defines it (a task revoked or closed while
        restoring; then no `on_restore_end`). Progress is also in
        `metrics()[worker]["restoration"]`."""
        if self._state is not State.CREATED:
            raise StreamsError("set_global_state_restore_listener must be called before start()")
        self._restore_listener = listener

    def set_uncaught_exception_handler(self, handler: Callable[[BaseException], Any]) -> None:
        """`handler(exc)` when a worker dies; may return a `StreamThreadExceptionResponse`
        (default SHUTDOWN_CLIENT: the client goes to ERROR)."""
        if self._state is not State.CREATED:
            raise StreamsError("set_uncaught_exception_handler must be called before start()")
        self._exception_handler = handler

    def _set_state(self, new: State) -> bool:
        with self._lock:
            old = self._state
            if new is old and new not in (State.REBALANCING, State.RUNNING):
                return False
            if new not in _TRANSITIONS[old]:
                return False
            self._state = new
        if new is not old:
            log.info(
                "stream-client [%s] state transition from %s to %s",
                self._app_id,
                old.value,
                new.value,
            )
            if self._state_listener is not None:
                try:
                    self._state_listener(new, old)
                except Exception as exc:  # a listener must not break the client
                    log.warning("state listener raised %s", exc)
        return True

    @property
    def _app_id(self) -> str:
        return str(self.config.application_id)

    # -- start -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Create internal topics and start the workers; returns once they are started."""
        with self._lock:
            if self._state is not State.CREATED:
                raise StreamsError(f"start() in state {self._state.value}: a client starts once")
            self.config.require_kafka_settings()
            self._set_state(State.REBALANCING)
        try:
            self.plan = self._prepare_topics()
            threads = self.config.num_stream_threads
            if threads > 1:
                self._start_processes(threads)
            else:
                self._state_directory = StateDirectory(self.config.state_dir, self._app_id)
                self._instance_lock = self._state_directory.lock_instance()
                self.process_id = str(self._state_directory.process_id())
                self._start_worker(0)
        except BaseException:
            self._set_state(State.PENDING_ERROR)
            self._set_state(State.ERROR)
            raise

    def _admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.config.client_config("admin"))

    def _prepare_topics(self) -> TopicPlan:
        admin = self._admin()
        topo = self.topology
        external = {t for s in topo.task_subtopologies() for t in s.source_topics}
        external -= topo.internal_topics
        external |= {g.topic for g in topo.global_stores.values()}
        counts = fetch_partition_counts(admin, external)
        plan = plan_internal_topics(topo, self._app_id, counts)
        ensure_internal_topics(admin, plan.internal, self.config.replication_factor)
        return plan

    def _setup(self, index: int, global_dir: str = "global") -> WorkerSetup:
        assert self.plan is not None and self.process_id is not None
        return WorkerSetup(
            application_id=self._app_id,
            topology=self.topology,
            plan=self.plan,
            config=self.config,
            index=index,
            process_id=self.process_id,
            state_directory=self._state_directory,
            global_dir_name=global_dir,
            client_overrides={"consumer": dict(CONSUMER_OVERRIDES)},
        )

    def _start_worker(self, index: int) -> None:
        kwargs = (
            {} if self._consumer_factory is None else {"consumer_factory": self._consumer_factory}
        )
        worker = Worker(self._setup(index), self._on_worker_state, **kwargs)
        worker.restore_listener = self._restore_listener
        thread = threading.Thread(
            target=self._run_worker, args=(worker,), name=worker.name, daemon=True
        )
        self._workers.append(worker)
        self._threads.append(thread)
        thread.start()

    def _start_processes(self, count: int) -> None:
        from kstreamy.runtime.processes import WorkerProcesses

        if isinstance(self._topology_source, Topology):
            raise ConfigError(
                "num.stream.threads > 1 runs worker processes, which rebuild the topology: pass "
                "KafkaStreams a topology factory ('package.module:function' or a module-level "
                "function) instead of a Topology"
            )
        self._processes = WorkerProcesses(
            self._topology_source, self.config.originals, count, self._on_processes_state
        )
        self._processes.start()

    def _run_worker(self, worker: Worker) -> None:
        worker.run()
        if worker.error is not None and not self._closed.is_set():
            self._handle_worker_error(worker, worker.error)

    def _handle_worker_error(self, worker: Worker, exc: BaseException) -> None:
        response: Any = StreamThreadExceptionResponse.SHUTDOWN_CLIENT
        if self._exception_handler is not None:
            try:
                response = self._exception_handler(exc) or response
            except Exception as handler_exc:
                log.error("uncaught exception handler raised %s", handler_exc)
        if response is StreamThreadExceptionResponse.REPLACE_THREAD:
            log.warning("replacing %s after: %s", worker.name, exc)
            self._workers.remove(worker)
            self._start_worker(worker.setup.index)
            return
        self._set_state(State.PENDING_ERROR)
        for other in self._workers:
            other.request_stop()
        self._set_state(State.ERROR)

    def _on_worker_state(self, worker: Worker, new: WorkerState, old: WorkerState) -> None:
        if self._state not in (State.REBALANCING, State.RUNNING):
            return
        states = [w.state for w in self._workers] or [new]
        if all(s is WorkerState.RUNNING for s in states):
            self._set_state(State.RUNNING)
        elif any(s in (WorkerState.STARTING, WorkerState.PARTITIONS_ASSIGNED) for s in states):
            self._set_state(State.REBALANCING)

    def _on_processes_state(self, running: bool, error: BaseException | None) -> None:
        if error is not None:
            self._set_state(State.PENDING_ERROR)
            self._set_state(State.ERROR)
        elif self._state.is_running_or_rebalancing():
            self._set_state(State.RUNNING if running else State.REBALANCING)

    # -- stop --------------------------------------------------------------------------------------
    def close(self, timeout: float | None = None) -> bool:
        """Stop the workers (committing, writing checkpoints); True if all stopped in time."""
        self._closed.set()
        with self._lock:
            if self._state in (State.NOT_RUNNING, State.ERROR) and not self._threads:
                return self._state is State.NOT_RUNNING
            erroring = self._state in (State.PENDING_ERROR, State.ERROR)
            if not erroring:
                self._set_state(State.PENDING_SHUTDOWN)
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            worker.request_stop()
        clean = True
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            clean = clean and not thread.is_alive()
        if self._processes is not None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            clean = self._processes.stop(remaining) and clean
        self._threads = [t for t in self._threads if t.is_alive()]
        if not self._threads:
            self._release_state_directory()
        if not erroring:
            self._set_state(State.NOT_RUNNING)
        return clean and not erroring

    def _release_state_directory(self) -> None:
        if self._state_directory is not None:
            self._state_directory.close()
        if self._instance_lock is not None:
            self._instance_lock.release()
            self._instance_lock = None

    def __enter__(self) -> KafkaStreams:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT close the client cleanly; call from the main thread."""
        import signal

        def _handler(signum: int, frame: Any) -> None:
            log.info("signal %d received: closing", signum)
            threading.Thread(target=self.close, name="kstreamy-close", daemon=True).start()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    def run_forever(self) -> None:
        """start(), install signal handlers, block until the client stops (main thread only)."""
        self.install_signal_handlers()
        if self._state is State.CREATED:
            self.start()
        while self._state not in (State.NOT_RUNNING, State.ERROR):
            time.sleep(0.2)
        self.close()

    def cleanup(self) -> None:
        """Delete this application's local state directory (Kafka's `cleanUp()`); not running."""
        import shutil

        if self._state.is_running_or_rebalancing() or self._state is State.PENDING_SHUTDOWN:
            raise StreamsError("cleanup() only while the client is not running")
        shutil.rmtree(Path(self.config.state_dir) / self._app_id, ignore_errors=True)

    # -- queries and metrics -----------------------------------------------------------------------
    def store(self, name: str) -> ReadOnlyStoreFacade:
        """A read-only view over every local instance of store `name` (all local tasks)."""
        known = set(self.topology.store_builders)
        if name not in known:
            raise InvalidStateStoreError(
                f"Store {name} is not part of the topology (stores: {', '.join(sorted(known))})"
            )
        if not self._state.is_running_or_rebalancing():
            raise InvalidStateStoreError(
                f"Store {name} can only be queried while the client is RUNNING or REBALANCING "
                f"(state: {self._state.value})"
            )
        if self._processes is not None:
            raise InvalidStateStoreError(
                "interactive queries are not available with num.stream.threads > 1 (the stores "
                "live in worker processes)"
            )
        return ReadOnlyStoreFacade(name, self._workers)

    def query_metadata_for_key(
        self, store: str, key: Any, key_serde: Any = None, timeout: float = 10.0
    ) -> KeyQueryMetadata:
        """Which instance (its `application.server`) hosts `key` of `store`, the partition, and
        the instances keeping a standby copy of it (`standby_hosts`).

        The key is serialized with `key_serde` (default: the store's key serde, else
        `default.key.serde`). The host is `UNAVAILABLE` while the group rebalances, and
        `standby_hosts` is empty then, or with `num.standby.replicas` = 0.
        """
        from kstreamy.runtime.queries import (
            default_partition,
            describe_group,
            owner_in,
            standby_hosts_in,
        )

        if self.plan is None:
            raise InvalidStateStoreError("query_metadata_for_key needs a started client")
        sub = next((s for s in self.topology.task_subtopologies() if store in s.stores), None)
        if sub is None:
            raise InvalidStateStoreError(f"Store {store} is not a store of a task sub-topology")
        builder = self.topology.store_builders[store]
        serde = key_serde or getattr(builder, "key_serde", None) or self.config.default_key_serde
        topic = self.plan.source_topics[sub.id][0]
        key_bytes = serde.serialize(topic, key)
        if not isinstance(key_bytes, bytes):
            raise InvalidStateStoreError(f"key {key!r} of store {store} serializes to no bytes")
        partition = default_partition(key_bytes, self.plan.task_partitions[sub.id])
        description = describe_group(self._admin(), self._app_id, timeout)
        host = owner_in(description, topic, partition)
        rules = TaskRules.of(self.plan, self.topology.task_subtopologies())
        replicas = self.config.num_standby_replicas
        task = TaskId(sub.id, partition)
        standbys = standby_hosts_in(description, task, rules.task_of, rules.stateful, replicas)
        return KeyQueryMetadata(host, partition, standbys)

    def metrics(self) -> dict[str, Any]:
        """Per worker: records processed and per second, commit latency, lag, restoration,
        tasks. With worker processes: per process, the latest snapshot it sent (every ~2 s)."""
        if self._processes is not None:
            result: dict[str, Any] = {}
            for index, per_worker in sorted(self._processes.metrics.items()):
                for name, snapshot in per_worker.items():
                    result[f"process-{index}/{name}"] = snapshot
            return result
        return {w.name: {**w.metrics.snapshot(), **_task_metrics(w)} for w in self._workers}

    def local_tasks(self) -> list[str]:
        """Ids of the active tasks this instance runs (all worker threads or processes)."""
        return sorted(t for m in self.metrics().values() for t in m.get("tasks", []))

    def standby_tasks(self) -> list[str]:
        """Ids of the standby tasks this instance keeps warm (`num.standby.replicas`)."""
        return sorted(t for m in self.metrics().values() for t in m.get("standby_tasks", []))


def _task_metrics(worker: Worker) -> dict[str, Any]:
    """Active, restoring and standby task ids of a worker; per standby task its lag (records of
    its changelogs not applied yet, from the last fetch's high watermark) and the records it
    applied since it was opened."""
    tasks = list(worker.tasks.items())
    standbys = list(worker.standbys)
    lag: dict[str, int] = {}
    applied: dict[str, int] = {}
    reader = worker.reader
    if reader is not None:
        for cp in list(reader.partitions.values()):
            if cp.standby:
                key = str(cp.task_id)
                lag[key] = lag.get(key, 0) + cp.lag
                applied[key] = applied.get(key, 0) + cp.restored
    return {
        "tasks": sorted(str(t) for t, _ in tasks),
        "restoring_tasks": sorted(str(t) for t, e in tasks if e.state == RESTORING),
        "standby_tasks": sorted(str(t) for t in standbys),
        "standby_lag": lag,
        "standby_applied": applied,
    }


class ReadOnlyStoreFacade:
    """Reads a store across every local running task that has it (and the global store). A
    timestamped (DSL) store shows plain values, as Kafka's `QueryableStoreTypes.keyValueStore()`
    does. Tasks still restoring and standby tasks are not served (Kafka's default, without
    stale stores enabled): their keys read as absent until the task runs."""

    def __init__(self, name: str, workers: list[Worker]) -> None:
        self.name = name
        self._workers = workers

    def _views(self) -> list[tuple[Any, bool]]:
        """(read-only view, whether the store is timestamped) per local copy of the store."""
        from kstreamy.state.query import ReadOnlyKeyValueStoreView

        stores: list[Any] = []
        for worker in self._workers:
            if worker.global_updater is not None and self.name in worker.global_updater.stores:
                stores.append(worker.global_updater.stores[self.name])
            for entry in list(worker.tasks.values()):
                if entry.state != RUNNING:  # restoring: not current yet (Kafka does not serve
                    continue  # it either); standbys are never in `tasks`
                store = entry.task.stores.get(self.name)
                if store is not None:
                    stores.append(store)
        return [
            (ReadOnlyKeyValueStoreView(s), bool(getattr(s, "timestamped", False))) for s in stores
        ]

    def get(self, key: Any) -> Any:
        for view, timestamped in self._views():
            value = view.get(key)
            if value is not None:
                return value.value if timestamped else value
        return None

    def all(self) -> Iterator[tuple[Any, Any]]:
        for view, timestamped in self._views():
            yield from _plain(view.all(), timestamped)

    def range(self, from_key: Any, to_key: Any) -> Iterator[tuple[Any, Any]]:
        for view, timestamped in self._views():
            yield from _plain(view.range(from_key, to_key), timestamped)

    def approximate_num_entries(self) -> int:
        return sum(view.approximate_num_entries() for view, _ in self._views())


def _plain(entries: Iterator[tuple[Any, Any]], timestamped: bool) -> Iterator[tuple[Any, Any]]:
    if not timestamped:
        return entries
    return ((k, vt.value) for k, vt in entries)
