"""Per-node runtime pieces of a Task: processor contexts, sinks, sources, punctuation schedules."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from kstreamy.errors import StreamsError
from kstreamy.processor import (
    Cancellable,
    Headers,
    Processor,
    ProcessorContext,
    PunctuationType,
    Punctuator,
    Record,
    RecordMetadata,
    TaskId,
)
from kstreamy.serdes import Serde, encodes_alike
from kstreamy.topology import SinkNode, SourceNode

if TYPE_CHECKING:
    from kstreamy.runtime.task import Task


class PunctuationSchedule:
    __slots__ = ("callback", "cancelled", "ctx", "interval", "next_time")

    def __init__(self, ctx: NodeContext, interval: int, next_time: int, callback: Punctuator):
        self.ctx = ctx
        self.interval = interval
        self.next_time = next_time
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class NodeContext(ProcessorContext):
    """The ProcessorContext of one node in one task; forwards to the node's children."""

    def __init__(self, task: Task, name: str, stores: list[str]) -> None:
        self.task = task
        self.name = name
        self._stores = stores
        self.children: list[tuple[str, Callable[[Record[Any, Any]], None]]] = []

    @property
    def application_id(self) -> str:
        return self.task.application_id

    @property
    def task_id(self) -> TaskId:
        return self.task.task_id

    @property
    def app_config(self) -> dict[str, Any]:
        return dict(self.task.config)

    def forward(self, record: Record[Any, Any], child_name: str | None = None) -> None:
        task = self.task
        previous = task.current_record
        task.current_record = record
        children = self.children
        if child_name is not None:
            children = [c for c in children if c[0] == child_name]
        for name, process in children:
            try:
                process(record)
            except StreamsError:
                task.current_record = previous
                raise
            except Exception as exc:
                task.current_record = record
                task.handle_processing_error(name, record, exc)
        task.current_record = previous

    def forward_untracked(self, record: Record[Any, Any], child_name: str | None = None) -> None:
        """`forward` for tasks without local stores: no store needs the record context, so
        the current record is not tracked (the hot path of stateless chains)."""
        task = self.task
        for name, process in self.children:
            if child_name is not None and name != child_name:
                continue
            try:
                process(record)
            except StreamsError:
                raise
            except Exception as exc:
                task.handle_processing_error(name, record, exc)

    def get_state_store(self, name: str) -> Any:
        if name in self._stores:
            return self.task.stores[name]
        store = self.task.global_stores.get(name)
        if store is not None:
            return store
        raise StreamsError(
            f"Processor {self.name} has no access to store {name}; connect it with "
            f"process(..., stores=[{name!r}]) or add_state_store(builder, {self.name!r})"
        )

    def schedule(
        self, interval_ms: int, punctuation_type: PunctuationType, callback: Punctuator
    ) -> Cancellable:
        if interval_ms < 1:
            raise ValueError(f"punctuation interval must be >= 1 ms (node {self.name})")
        if punctuation_type is PunctuationType.STREAM_TIME:
            sched = PunctuationSchedule(self, interval_ms, 0, callback)
            self.task.stream_schedules.append(sched)
        else:
            sched = PunctuationSchedule(
                self, interval_ms, self.task.clock() + interval_ms, callback
            )
            self.task.wall_schedules.append(sched)
        return sched

    def commit(self) -> None:
        self.task.commit_requested = True

    def record_metadata(self) -> RecordMetadata | None:
        task = self.task
        if task.current_topic is None:
            return None
        return RecordMetadata(task.current_topic, task.current_partition, task.current_offset)

    def current_stream_time_ms(self) -> int:
        return self.task.stream_time

    def current_system_time_ms(self) -> int:
        return self.task.clock()


class SinkProcessor(Processor[Any, Any, Any, Any]):
    def __init__(
        self,
        task: Task,
        node: SinkNode,
        key_serde: Serde,
        value_serde: Serde,
    ) -> None:
        self._task = task
        self._node = node
        self.key_serde = key_serde
        self.value_serde = value_serde
        self._static_topic = (
            topology_topic(task, node.topic) if isinstance(node.topic, str) else None
        )
        self._ks = key_serde.serialize
        self._vs = value_serde.serialize
        self._send = task.collector.send
        self._partitioner = node.partitioner

    def process(self, record: Record[Any, Any]) -> None:
        topic = self._static_topic
        if topic is None:
            extractor: Any = self._node.topic
            topic = topology_topic(self._task, extractor(record.key, record.value, record))
        try:
            key = self._ks(topic, record.key)
            value = self._vs(topic, record.value)
        except Exception as exc:
            self._task.handle_production_error(self._node.name, topic, record, exc)
            return
        partitioner = self._partitioner
        if partitioner is None:
            self._send(topic, key, value, record.timestamp, record.headers, None)
        else:
            count = self._task.collector.partitions_for(topic) or 1
            partition = partitioner(topic, key, value, count)
            self._send(topic, key, value, record.timestamp, record.headers, partition)

    def bytes_sender(
        self, key_serde: Serde, value_serde: Serde
    ) -> Callable[[bytes, bytes | None, int, Headers], None] | None:
        """A sender of records already encoded with `key_serde` and `value_serde`; None when
        this sink would encode them differently, picks its topic per record or partitions with
        its own partitioner (then records must go through `process`)."""
        topic = self._static_topic
        if topic is None or self._partitioner is not None:
            return None
        if not (encodes_alike(self.key_serde, key_serde)
                and encodes_alike(self.value_serde, value_serde)):  # fmt: skip
            return None
        return partial(self._send, topic)  # (key, value, timestamp, headers): no partition


def topology_topic(task: Task, topic: str) -> str:
    return task.topology.decorate(topic, task.application_id)


class SourceBinding:
    __slots__ = ("ctx", "extractor", "kd", "key_serde", "name", "value_serde", "vd")

    def __init__(self, ctx: NodeContext, node: SourceNode, ks: Serde, vs: Serde) -> None:
        self.ctx = ctx
        self.name = node.name
        self.key_serde = ks
        self.value_serde = vs
        self.kd = ks.deserialize
        self.vd = vs.deserialize
        self.extractor = node.timestamp_extractor
