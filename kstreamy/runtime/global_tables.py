"""Global stores (GlobalKTable): every partition of their topics, read into every instance.

Outside the consumer group: a dedicated consumer is assigned every partition of every global
topic. `bootstrap()` reads each partition up to the end offset seen when it starts (from the
checkpoint when the store is persistent and checkpointed, else from the beginning) before the
worker subscribes, so a GlobalKTable join never sees a half-loaded table. `poll()` then applies
new records between batches of the worker's loop; `checkpoint()` flushes the stores and records
the next offset per partition in `<state.dir>/<application.id>/global/.checkpoint`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kstreamy.config import StreamsConfig
from kstreamy.errors import StreamsError
from kstreamy.processor import Headers, TaskId
from kstreamy.runtime.record_collector import RecordCollector
from kstreamy.runtime.restoration import watermarks
from kstreamy.runtime.task import Task
from kstreamy.state.api import StateStore
from kstreamy.state.checkpoint import OffsetCheckpoint
from kstreamy.state.errors import CheckpointError
from kstreamy.topology import Topology

log = logging.getLogger(__name__)

GLOBAL_TASK_ID = TaskId(-1, 0)


class _NoOutput(RecordCollector):
    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        raise StreamsError(
            f"A global store processor tried to write to topic {topic}; global stores are "
            "read-only copies of their topic and cannot produce records"
        )


class GlobalStateUpdater:
    """Owns the global task (all global stores) and the consumer that feeds it."""

    def __init__(
        self,
        topology: Topology,
        config: StreamsConfig,
        application_id: str,
        state_dir: Path | None,
        consumer: Any,
        bootstrap_timeout: float = 120.0,
    ) -> None:
        sub = topology.global_subtopology()
        if sub is None:
            raise StreamsError("GlobalStateUpdater needs a topology with global stores")
        self._consumer = consumer
        self._state_dir = state_dir
        self._timeout = bootstrap_timeout
        self._topics = sorted({g.topic for g in topology.global_stores.values()})
        self.positions: dict[tuple[str, int], int] = {}
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        self.task = Task(
            GLOBAL_TASK_ID,
            topology,
            sub,
            _NoOutput(),
            config.as_dict(),
            application_id=application_id,
            state_dir=state_dir,
            is_global=True,
        )
        self.records_applied = 0
        self._dirty = False

    @property
    def stores(self) -> Mapping[str, StateStore]:
        return self.task.stores

    def bootstrap(self) -> None:
        """Open the stores and read every global partition up to its current end offset."""
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        self.task.initialize()
        persistent = any(s.persistent for s in self.task.stores.values())
        checkpoint: dict[tuple[str, int], int] = {}
        if persistent and self._state_dir is not None:
            try:
                checkpoint = OffsetCheckpoint.for_task_dir(self._state_dir).read()
            except CheckpointError as exc:
                log.warning("global stores: %s; reloading from the beginning", exc)
        metadata = self._consumer.list_topics(timeout=self._timeout)
        assignment: list[Any] = []
        ends: dict[tuple[str, int], int] = {}
        for topic in self._topics:
            tmeta = metadata.topics.get(topic)
            if tmeta is None or tmeta.error is not None:
                raise StreamsError(
                    f"Global table topic {topic} does not exist; create it before starting"
                )
            for part in sorted(tmeta.partitions):
                tp = (topic, part)
                low, high = watermarks(self._consumer, topic, part, self._timeout)
                start = checkpoint.get(tp)
                if start is None or start < low or start > high:
                    start = low
                ends[tp] = high
                self.positions[tp] = start
                assignment.append(
                    TopicPartition(topic, part, start if start > low else OFFSET_BEGINNING)
                )
        self._consumer.assign(assignment)
        started = time.monotonic()
        deadline = started + self._timeout
        while any(self.positions[tp] < end for tp, end in ends.items()):
            n = self._poll_batch(0.2)
            if n:
                deadline = time.monotonic() + self._timeout
            else:
                self._refresh_positions(ends)
                if time.monotonic() > deadline:
                    behind = {f"{t}-{p}": (self.positions[(t, p)], e) for (t, p), e in ends.items()}
                    raise StreamsError(
                        f"Bootstrapping global stores stalled (position, end): {behind}; is the "
                        "broker reachable?"
                    )
        self.task.flush_stores()
        log.info(
            "global stores %s loaded: %d record(s) from %s in %.2fs",
            ",".join(sorted(self.task.stores)), self.records_applied,
            ",".join(self._topics), time.monotonic() - started,
        )  # fmt: skip
        self.checkpoint()

    def _refresh_positions(self, ends: Mapping[tuple[str, int], int]) -> None:
        """Transaction markers carry no message: take the consumer's own position too."""
        from confluent_kafka import TopicPartition

        tps = [TopicPartition(t, p) for (t, p) in ends]
        for tp in self._consumer.position(tps):
            if tp.offset >= 0 and tp.offset > self.positions[(tp.topic, tp.partition)]:
                self.positions[(tp.topic, tp.partition)] = tp.offset

    def _poll_batch(self, timeout: float) -> int:
        msgs = self._consumer.consume(num_messages=1000, timeout=timeout)
        task = self.task
        count = 0
        for msg in msgs:
            if msg.error() is not None:
                continue
            topic, part, offset = msg.topic(), msg.partition(), msg.offset()
            task.process(
                topic, part, offset, msg.timestamp()[1], msg.key(), msg.value(),
                msg.headers() or (),
            )  # fmt: skip
            self.positions[(topic, part)] = offset + 1
            count += 1
        self.records_applied += count
        if count:
            self._dirty = True
        return count

    def poll(self) -> int:
        """Apply whatever new global records arrived (non-blocking)."""
        return self._poll_batch(0)

    def maybe_checkpoint(self) -> None:
        """Flush and checkpoint if records were applied since the last time."""
        if self._dirty:
            self.checkpoint()

    def checkpoint(self) -> None:
        self._dirty = False
        self.task.flush_stores()
        if self._state_dir is not None and any(s.persistent for s in self.task.stores.values()):
            self.task.sync_stores()
            OffsetCheckpoint.for_task_dir(self._state_dir).write(self.positions)

    def close(self) -> None:
        try:
            self.task.close()
        finally:
            self._consumer.close()
