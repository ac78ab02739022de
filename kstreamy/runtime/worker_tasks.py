"""The task side of a worker: opening, restoring, promoting, closing active and standby tasks.

A mixin of `Worker` (kept apart so each module stays small). Active tasks live in
`worker.tasks` in state RESTORING or RUNNING; standby tasks in `worker.standbys` (state
STANDBY: stores open, processors never initialised). Every changelog partition being restored
or kept warm is fed by the worker's single `ChangelogReader`:

- `_open_task` registers the task's changelogs from its checkpoint; with nothing to replay the
  task runs at once, else it is RESTORING with its input partitions paused, and
  `_restore_step` (one bounded chunk per loop iteration) finishes it: checkpoint, processors
  initialised, partitions resumed, records fetched before the pause processed.
- a standby that becomes active is promoted in place (its stores stay open, only the tail since
  its last read is restored);
- closing a RESTORING task (revoked mid-restore) checkpoints what was restored so far.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kstreamy.processor import TaskId
from kstreamy.runtime.changelog_reader import RESTORE_CHUNK_RECORDS
from kstreamy.runtime.standby import TaskRules, standby_placement
from kstreamy.runtime.task import Task
from kstreamy.state.checkpoint import OffsetCheckpoint
from kstreamy.state.errors import CheckpointError, CheckpointOutOfRangeError, LockTimeoutError

if TYPE_CHECKING:
    from kstreamy.runtime.changelog_reader import ChangelogReader
    from kstreamy.runtime.global_tables import GlobalStateUpdater
    from kstreamy.runtime.kafka_collector import KafkaRecordCollector
    from kstreamy.runtime.metrics import WorkerMetrics
    from kstreamy.runtime.standby import MembershipWatcher
    from kstreamy.runtime.worker import WorkerSetup
    from kstreamy.topology import SubTopology

log = logging.getLogger(__name__)

RESTORING = "RESTORING"
RUNNING = "RUNNING"
STANDBY = "STANDBY"

CHECKPOINT_DELTA = 10_000
"""At-least-once commits rewrite a task's checkpoint only once its changelog offsets moved by
this many records (Kafka's OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT): a checkpoint is an fsync'd
file, and an older one only means a longer restore. Closing a task always writes it."""

TP = tuple[str, int]


@dataclass
class _TaskEntry:
    task: Task
    task_dir: Path | None
    persistent: bool
    changelog_next: dict[TP, int]
    partitions: list[TP]
    checkpointed: dict[TP, int] = field(default_factory=dict)
    """The offsets the checkpoint file holds (written when they moved far enough, see
    `CHECKPOINT_DELTA`)."""
    state: str = RUNNING
    """RESTORING (active, input paused, processors not initialised yet), RUNNING or STANDBY."""
    buffered: list[Any] = field(default_factory=list)
    """Input records fetched for a RESTORING task before its partitions were paused."""


class TaskManagement:
    """Task lifecycle methods of `Worker`; see the module docstring."""

    setup: WorkerSetup
    name: str
    eos: bool
    tasks: dict[TaskId, _TaskEntry]
    standbys: dict[TaskId, _TaskEntry]
    _restoring: dict[TP, _TaskEntry]
    reader: ChangelogReader | None
    _watcher: MembershipWatcher | None
    consumer: Any
    collector: KafkaRecordCollector | None
    metrics: WorkerMetrics
    global_updater: GlobalStateUpdater | None
    _thread_cache: Any
    _subs: dict[int, SubTopology]
    _app_config: dict[str, Any]

    def _process(self, msgs: list[Any]) -> None:
        raise NotImplementedError

    def _set_running_if_restored(self) -> None:
        raise NotImplementedError

    # -- checkpoints --------------------------------------------------------------------------
    def write_checkpoint(self, entry: _TaskEntry, force: bool = True) -> None:
        """Checkpoint the acknowledged changelog offsets of a persistent task; unless `force`,
        only once they moved by `CHECKPOINT_DELTA` records since the last checkpoint."""
        if entry.task_dir is None or not entry.persistent:
            return
        assert self.collector is not None
        offsets = self.collector.offsets
        moved = 0
        for tp, current in entry.changelog_next.items():
            acked = offsets.get(tp)
            if acked is not None and acked + 1 > current:
                entry.changelog_next[tp] = current = acked + 1
            moved += current - entry.checkpointed.get(tp, 0)
        if not force and moved < CHECKPOINT_DELTA:
            return
        entry.task.sync_stores()
        OffsetCheckpoint.for_task_dir(entry.task_dir).write(entry.changelog_next)
        entry.checkpointed = dict(entry.changelog_next)

    def _checkpoint_standbys(self, force: bool) -> None:
        """Standbys checkpoint what they applied (also under exactly-once: they only ever hold
        committed changelog data), every CHECKPOINT_DELTA records and on close."""
        if self.reader is None:
            return
        self.reader.refresh_standby_lag()
        for tid, entry in self.standbys.items():
            entry.changelog_next.update(self.reader.positions(tid))
            if entry.task_dir is None or not entry.persistent:
                continue
            moved = sum(v - entry.checkpointed.get(tp, 0) for tp, v in entry.changelog_next.items())
            if force or moved >= CHECKPOINT_DELTA:
                entry.task.sync_stores()
                OffsetCheckpoint.for_task_dir(entry.task_dir).write(entry.changelog_next)
                entry.checkpointed = dict(entry.changelog_next)

    # -- opening ------------------------------------------------------------------------------
    def _read_checkpoint(self, tid: TaskId, lock_timeout_s: float = 30.0) -> dict[TP, int]:
        """Lock the task directory and read its checkpoint (wiping a corrupt one, and under
        exactly-once a task directory without one: it may hold aborted data)."""
        sd = self.setup.state_directory
        if sd is None:
            return {}
        sd.lock(tid, timeout_s=lock_timeout_s)
        checkpoint: dict[TP, int] = {}
        try:
            checkpoint = sd.checkpoint(tid).read()
        except CheckpointError as exc:
            log.warning("%s: %s", self.name, exc)
            sd.wipe(tid)
        if self.eos and not checkpoint:
            sd.wipe(tid)  # no clean close last time: local state may hold aborted data
        return checkpoint

    def _open_task(self, tid: TaskId, partitions: list[TP], standby: bool = False) -> _TaskEntry:
        """Open an active (RESTORING, or RUNNING when nothing is to be restored) or a standby
        task: lock its directory, open its stores, register their changelogs."""
        sd = self.setup.state_directory
        checkpoint = self._read_checkpoint(tid, 1.0 if standby else 30.0)
        entry = self._create_task(tid, partitions, standby)
        try:
            try:
                self._register_changelogs(entry, checkpoint)
            except CheckpointOutOfRangeError as exc:
                # the local state is not from this changelog (topic recreated, another cluster,
                # a checkpoint past the end): wipe it and restore everything, as Kafka does
                log.warning("%s: task %s: %s Wiping its state.", self.name, tid, exc)
                assert self.reader is not None
                self.reader.remove(tid)
                entry.task.close()
                if sd is not None:
                    sd.wipe(tid)
                entry = self._create_task(tid, partitions, standby)
                self._register_changelogs(entry, {})
            if not standby and entry.state != RESTORING:
                self._start_processing(entry)
        except BaseException:
            # not registered in self.tasks yet: close its stores and release its directory here
            if self.reader is not None:
                self.reader.remove(tid)
            try:
                entry.task.close()
            except Exception as close_exc:  # the original error is what matters
                log.warning("%s: error closing task %s: %s", self.name, tid, close_exc)
            if sd is not None:
                sd.unlock(tid)
            raise
        return entry

    def _create_task(self, tid: TaskId, partitions: list[TP], standby: bool = False) -> _TaskEntry:
        setup = self.setup
        assert self.collector is not None
        sd = setup.state_directory
        task_dir = sd.task_dir(tid) if sd is not None else None
        global_stores = self.global_updater.stores if self.global_updater is not None else {}
        task = Task(
            tid,
            setup.topology,
            self._subs[tid.subtopology],
            self.collector,
            self._app_config,
            application_id=setup.application_id,
            global_stores=global_stores,
            thread_cache=self._thread_cache,
            state_dir=task_dir,
        )
        task.initialize_stores()  # processors: once restored, see `_start_processing`
        persistent = any(s.persistent for s in task.stores.values())
        if self.eos and sd is not None and not standby:
            sd.checkpoint(tid).delete()  # a crash from now on must restore from scratch
        state = STANDBY if standby else RUNNING
        return _TaskEntry(task, task_dir, persistent, {}, partitions, state=state)

    def _register_changelogs(self, entry: _TaskEntry, checkpoint: dict[TP, int]) -> None:
        """Hand the task's changelog partitions to the reader, from the checkpoint (persistent
        stores) or the beginning; the entry is RESTORING if any has records to replay."""
        assert self.reader is not None
        task = entry.task
        standby = entry.state == STANDBY
        changelogs = self.setup.plan.store_changelogs
        for store_name, apply in task.restore_callbacks.items():
            changelog = changelogs.get(store_name)
            if changelog is None:
                continue
            tp = (changelog, task.task_id.partition)
            start = checkpoint.get(tp) if task.stores[store_name].persistent else None
            cp = self.reader.register(
                task.task_id, store_name, changelog, tp[1], start, apply, standby
            )
            entry.changelog_next[tp] = cp.position
        if not standby and self.reader.restoring(task.task_id):
            entry.state = RESTORING

    def _start_processing(self, entry: _TaskEntry) -> None:
        """Restoration done: checkpoint, init processors (they may read the restored state),
        resume the input partitions and process what was fetched before they were paused."""
        assert self.reader is not None
        tid = entry.task.task_id
        entry.changelog_next.update(self.reader.positions(tid))
        if entry.persistent and entry.task_dir is not None and not self.eos:
            entry.task.sync_stores()
            OffsetCheckpoint.for_task_dir(entry.task_dir).write(entry.changelog_next)
            entry.checkpointed = dict(entry.changelog_next)
        entry.task.initialize_processors()
        entry.state = RUNNING
        for tp in entry.partitions:
            self._restoring.pop(tp, None)
        if tid in self.tasks and self.consumer is not None:
            from confluent_kafka import TopicPartition

            self.consumer.resume([TopicPartition(t, p) for t, p in entry.partitions])
        buffered, entry.buffered = entry.buffered, []
        if buffered:  # (already counted in records_processed when they were consumed)
            self._process(buffered)

    def _pause_restoring(self) -> None:
        """Pause the input partitions of every RESTORING task and resume the others (after an
        assign or a rewind: a pause may outlive the task that asked for it)."""
        from confluent_kafka import TopicPartition

        self._restoring = {
            tp: e for e in self.tasks.values() if e.state == RESTORING for tp in e.partitions
        }
        running = [
            TopicPartition(t, p)
            for e in self.tasks.values()
            if e.state == RUNNING
            for t, p in e.partitions
        ]
        if running:
            self.consumer.resume(running)
        if self._restoring:
            self.consumer.pause([TopicPartition(t, p) for t, p in self._restoring])

    def _restore_step(self, timeout: float) -> None:
        """Apply one bounded chunk of changelog records; start the tasks that caught up."""
        reader = self.reader
        assert reader is not None
        reader.poll(RESTORE_CHUNK_RECORDS, timeout)
        self.metrics.records_restored = reader.restored_records
        done = [
            e
            for e in self.tasks.values()
            if e.state == RESTORING and not reader.restoring(e.task.task_id)
        ]
        for entry in done:
            self._start_processing(entry)
        if done:
            self._set_running_if_restored()

    # -- closing ------------------------------------------------------------------------------
    def _close_task(self, tid: TaskId, clean: bool) -> None:
        entry = self.tasks.pop(tid)
        for tp in entry.partitions:
            self._restoring.pop(tp, None)
        self._close_entry(entry, clean)

    def _close_entry(self, entry: _TaskEntry, clean: bool) -> None:
        tid = entry.task.task_id
        try:
            if self.reader is not None:
                positions = self.reader.remove(tid)
                if entry.state != RUNNING:  # what was restored / kept warm so far
                    entry.changelog_next.update(positions)
            if clean or entry.state == STANDBY:
                self.write_checkpoint(entry)
            entry.task.close()
        except Exception as exc:
            log.warning("%s: error closing task %s: %s", self.name, tid, exc)
        sd = self.setup.state_directory
        if sd is not None:
            if not clean and self.eos and entry.state != STANDBY:
                sd.wipe(tid)
            sd.unlock(tid)

    def _close_all_dirty(self) -> None:
        for tid in list(self.tasks):
            self._close_task(tid, clean=False)
        self._restoring = {}

    def _close_standbys(self) -> None:
        for tid in list(self.standbys):
            self._close_entry(self.standbys.pop(tid), clean=True)

    # -- standbys -----------------------------------------------------------------------------
    def _promote(self, tid: TaskId, partitions: list[TP]) -> _TaskEntry:
        """A standby becomes active: keep its open stores, restore only the tail."""
        assert self.reader is not None
        entry = self.standbys.pop(tid)
        entry.partitions = partitions
        entry.state = RUNNING
        sd = self.setup.state_directory
        if self.eos and sd is not None:
            sd.checkpoint(tid).delete()  # a crash from now on must restore from scratch
        self.reader.promote(tid)
        if self.reader.restoring(tid):
            entry.state = RESTORING
        else:
            self._start_processing(entry)
        log.info("%s: standby task %s becomes active", self.name, tid)
        return entry

    def _maybe_update_standbys(self) -> None:
        """Apply a new standby placement once the group's description arrived (non-blocking)."""
        assert self._watcher is not None
        members = self._watcher.poll()
        if members is None or self.consumer is None:
            return
        me = self.consumer.memberid()
        if not me or all(m.member_id != me for m in members):
            self._watcher.request_soon(0.5)  # our join is not visible yet
            return
        rules = TaskRules.of(self.setup.plan, self._subs.values())
        replicas = self.setup.config.num_standby_replicas
        placement = standby_placement(members, rules.task_of, rules.stateful, replicas)
        self._set_standbys(placement.get(me, set()) - set(self.tasks))

    def _set_standbys(self, wanted: set[TaskId]) -> None:
        for tid in [t for t in self.standbys if t not in wanted]:
            log.info("%s: closing standby task %s", self.name, tid)
            self._close_entry(self.standbys.pop(tid), clean=True)
        for tid in sorted(wanted - set(self.standbys)):
            try:
                self.standbys[tid] = self._open_task(tid, [], standby=True)
            except LockTimeoutError as exc:  # another worker of this instance still has it
                log.info("%s: standby task %s not opened yet: %s", self.name, tid, exc)
                assert self._watcher is not None
                self._watcher.request_soon(1.0)
                continue
            log.info("%s: opened standby task %s", self.name, tid)
