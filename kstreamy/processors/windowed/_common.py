"""Shared pieces of the windowed processors: the dropped-records metric and null-record checks.

Kafka counts records a windowed operator drops (late, or with a null key/value) in the task-level
`dropped-records` sensor. Here every processor keeps its own `dropped_records` counter and adds to
the task's `dropped_records` total (read through `dropped_records(task)`).
"""

from __future__ import annotations

import logging
from typing import Any

from kstreamy.processor import Processor, ProcessorContext, Record
from kstreamy.processors.table import Change

log = logging.getLogger("kstreamy.processors.windowed")

AnyProcessor = Processor[Any, Any, Any, Any]
TASK_METRIC = "dropped_records"


def dropped_records(task: Any) -> int:
    """The task's dropped-records total (late records, null keys/values of windowed operators)."""
    return int(getattr(task, TASK_METRIC, 0))


class WindowedProcessor(AnyProcessor):
    """Base: keeps the context, the node name and a dropped-records counter."""

    dropped_records = 0

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.forward = context.forward
        self.node = str(getattr(context, "name", type(self).__name__))
        self.task: Any = getattr(context, "task", None)

    def _where(self) -> str:
        meta = self.context.record_metadata()
        if meta is None:
            return f"node {self.node}"
        return (
            f"node {self.node}, topic {meta.topic} partition {meta.partition} offset {meta.offset}"
        )

    def drop(self, reason: str, record: Record[Any, Any]) -> None:
        """Count and log one dropped record (Kafka's droppedRecordsSensor + a warning)."""
        self.dropped_records += 1
        task = self.task
        if task is not None:
            try:
                setattr(task, TASK_METRIC, getattr(task, TASK_METRIC, 0) + 1)
            except AttributeError:  # a task without a place for it: the node counter remains
                self.task = None
        log.warning(
            "Skipping record (%s) at %s: timestamp %d", reason, self._where(), record.timestamp
        )

    def skip_null(self, record: Record[Any, Any]) -> bool:
        """Kafka: aggregations ignore records with a null key or a null value."""
        if record.key is None or record.value is None:
            self.drop("null key or value", record)
            return True
        return False


class WindowForwarder:
    """Forwards windowed aggregate updates like Kafka's window/session stores with or without
    caching. Caching off: every update goes downstream as it happens. Caching on: updates are
    held per windowed key until `flush()` (called at the end of each record) and then forwarded
    once each, in order of their last write, as `Change(new, old)` with `old` the value before
    the record; an update whose old and new are both None is dropped (Kafka's caching stores do
    the same on flush). The held set is emptied per record, a valid (more eager) flush point of
    Kafka's cache, so the output is one of the sequences Kafka can produce."""

    __slots__ = ("caching", "forward", "pending", "send_old")

    def __init__(self, forward: Any, store: Any, send_old: bool) -> None:
        self.forward = forward
        self.caching = bool(getattr(store, "caching", False))
        self.send_old = send_old
        self.pending: dict[Any, list[Any]] = {}

    def update(
        self, wkey: Any, new: Any, old: Any, timestamp: int, headers: Any, stored: Any = None
    ) -> None:
        """`wkey` changed from `old` to `new`; `stored` is the value the store held before this
        write (what the cache reports as old; `old` may be the initializer's value instead)."""
        if not self.caching:
            self.forward(Record(wkey, Change(new, old if self.send_old else None), timestamp,
                                headers))  # fmt: skip
            return
        held = self.pending.pop(wkey, None)
        first_old = stored if held is None else held[0]
        self.pending[wkey] = [first_old, new, timestamp, headers]

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        send_old, forward = self.send_old, self.forward
        for wkey, (old, new, timestamp, headers) in pending.items():
            if new is None and old is None:
                continue
            forward(Record(wkey, Change(new, old if send_old else None), timestamp, headers))
