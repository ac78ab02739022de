"""Stream-stream joins (Kafka >= 3.1 KStreamKStreamJoin, KStreamJoinWindow).

Topology per join: each side goes through a "windowed" node that forwards the record and then
stores it in its side's window store (retaining duplicates, retention before + after + grace);
each side's join node looks up the *other* side's store; a merge node unites both outputs.

Rules:
- a record at `t` on the left joins right records in `[t - before, t + after]`; on the right,
  left records in `[t - after, t + before]`; the result's timestamp is `max(left, right)`;
- records with a null value are dropped (and counted); a record with a null key is dropped on
  an inner side, and on an outer side (the left of a left join, both of an outer join) emitted
  at once joined with None (KIP-962);
- an outer-side record that found no partner is held in the shared outer store and emitted
  joined with None only once its window closed: `t + lookback + grace < stream time` (lookback:
  `after` for left records, `before` for right ones), where stream time is shared by both sides
  of the join in a task; a later match removes it from the store. A record already too late to
  be held (`t + after_this_side < stream time`) is emitted at once;
- emission of held records is throttled to once per `__emit.interval.ms.kstreams.outer.join.
  spurious.results.fix__` ms of wall-clock time (default 1000, Kafka's internal config; Kafka's
  TopologyTestDriver sets it to 0 unless configured);
- a record with a null value still advances its side's window store time (Kafka's
  KStreamJoinWindow puts it; the duplicate-retaining store drops the value), which can expire
  stored records before the other side looks them up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from kstreamy.processor import ProcessorContext, Record
from kstreamy.processors.windowed._common import WindowedProcessor
from kstreamy.windows import JoinWindows

EMIT_INTERVAL_CONFIG = "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__"
NO_TIMESTAMP = -1
MAX_TIME = sys.maxsize


class TimeTracker:
    """Stream time and the oldest held record, shared by the two sides of a join in one task."""

    __slots__ = ("emit_interval_ms", "min_time", "next_time_to_emit", "stream_time")

    def __init__(self) -> None:
        self.emit_interval_ms = 1000
        self.stream_time = NO_TIMESTAMP
        self.min_time = MAX_TIME
        self.next_time_to_emit = 0


class TimeTrackers:
    """One TimeTracker per task (processors are created per task; both sides share one)."""

    def __init__(self) -> None:
        self.by_task: dict[Any, TimeTracker] = {}

    def get(self, task_id: Any) -> TimeTracker:
        tracker = self.by_task.get(task_id)
        if tracker is None:
            tracker = self.by_task[task_id] = TimeTracker()
        return tracker

    def remove(self, task_id: Any) -> None:
        self.by_task.pop(task_id, None)


class JoinWindowStore(WindowedProcessor):
    """Kafka's KStreamJoinWindow: forward the record, then remember it in this side's store."""

    def __init__(self, store_name: str) -> None:
        self.store_name = store_name

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        self.store: Any = context.get_state_store(self.store_name)

    def process(self, record: Record[Any, Any]) -> None:
        self.forward(record)
        if record.key is not None:
            # like Kafka, also with a null value: nothing is stored (a duplicate-retaining store
            # ignores deletes) but the store's time advances, expiring old records
            self.store.put(record.key, record.value, record.timestamp)


class StreamStreamJoin(WindowedProcessor):
    """One side of a stream-stream join; `joiner(left_value, right_value)`."""

    def __init__(
        self,
        is_left: bool,
        other_store: str,
        windows: JoinWindows,
        joiner: Callable[[Any, Any], Any],
        outer: bool,
        outer_store: str | None,
        trackers: TimeTrackers,
    ) -> None:
        self.is_left = is_left
        self.other_store_name = other_store
        self.before = windows.before_ms if is_left else windows.after_ms
        self.after = windows.after_ms if is_left else windows.before_ms
        self.windows_before = windows.before_ms
        self.windows_after = windows.after_ms
        self.grace = windows.grace_ms
        self.joiner = joiner
        self.outer = outer
        self.outer_store_name = outer_store
        self.trackers = trackers

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        self.other: Any = context.get_state_store(self.other_store_name)
        self.outer_store: Any = None
        # one tracker per running task (the task object itself where there is one, so two
        # drivers running the same Topology object do not share stream time)
        self.task_key: Any = getattr(context, "task", None) or context.task_id
        self.tracker = self.trackers.get(self.task_key)
        if self.outer_store_name is not None:
            self.outer_store = context.get_state_store(self.outer_store_name)
            self.tracker.emit_interval_ms = int(
                context.app_config.get(EMIT_INTERVAL_CONFIG) or 0
                if EMIT_INTERVAL_CONFIG in context.app_config
                else 1000
            )

    def close(self) -> None:
        self.trackers.remove(getattr(self, "task_key", None))

    def _join(self, this: Any, other: Any) -> Any:
        return self.joiner(this, other) if self.is_left else self.joiner(other, this)

    def process(self, record: Record[Any, Any]) -> None:
        ts = record.timestamp
        tracker = self.tracker
        if ts > tracker.stream_time:
            tracker.stream_time = ts
        key, value = record.key, record.value
        if self.outer and key is None and value is not None:
            self.forward(record.with_value(self._join(value, None)))  # KIP-962
            return
        if key is None or value is None:
            self.drop("null key or value", record)
            return
        outer_store = self.outer_store
        if outer_store is not None and ts == tracker.stream_time:
            self._emit_non_joined(record)
        time_from = max(0, ts - self.before)
        time_to = max(0, ts + self.after)
        matches = list(self.other.fetch(key, time_from, time_to))
        for other_ts, other_value in matches:
            if outer_store is not None:
                outer_store.delete(other_ts, not self.is_left, key)
            self.forward(
                Record(key, self._join(value, other_value), max(ts, other_ts), record.headers)
            )
        if self.outer and not matches:
            if outer_store is None or time_to < tracker.stream_time:
                self.forward(record.with_value(self._join(value, None)))
            else:
                if ts < tracker.min_time:
                    tracker.min_time = ts
                outer_store.append(ts, self.is_left, key, value)

    def _emit_non_joined(self, record: Record[Any, Any]) -> None:
        tracker = self.tracker
        if tracker.min_time + self.after + self.grace >= tracker.stream_time:
            return  # nothing held can have closed yet
        now = self.context.current_system_time_ms()
        if now < tracker.next_time_to_emit:
            return  # throttled (a performance knob, in wall-clock time)
        tracker.next_time_to_emit = now + tracker.emit_interval_ms
        tracker.min_time = MAX_TIME
        left_open = right_open = False
        emitted: list[bytes] = []
        for stored, ts, is_left, key, values in self.outer_store.entries():
            tracker.min_time = ts
            if left_open and right_open:
                break
            lookback = self.windows_after if is_left else self.windows_before
            if ts + lookback + self.grace >= tracker.stream_time:
                if is_left:
                    left_open = True
                else:
                    right_open = True
                continue
            for held in values:
                joined = self.joiner(held, None) if is_left else self.joiner(None, held)
                self.forward(Record(key, joined, ts, record.headers))
            emitted.append(stored)
        for stored in emitted:
            self.outer_store.remove_stored(stored)
