"""Sliding window aggregations (Kafka's KStreamSlidingWindowAggregate, reverse-iterator path:
the one Kafka takes with its built-in stores, so window updates go out latest window first).

Windows are `[start, start + d]`, both ends inclusive (d = time difference). Kafka's creation
rules, which this ports:
- a record at `t` gets its *left* window `[t - d, t]` (seeded from the aggregate of the previous
  record's window when that record falls inside it), and updates every existing window it falls in;
- it creates its *right* window `[t + 1, t + 1 + d]` only when a later record exists within d
  (the right window then holds those later records, never `t` itself);
- it creates the right window of the previous record (`[prev + 1, prev + 1 + d]`) when `t` falls
  in it and it does not exist yet;
- records before `d` (which would need negative starts) all go into the window `[0, d]`;
- a record is dropped (and counted) when `t + 1 + d <= stream time - grace`; a single window is
  only updated while `window end >= stream time - grace`; null keys/values are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kstreamy.processor import ProcessorContext, Record
from kstreamy.processors.table import TableSupplierFlags
from kstreamy.processors.windowed._common import WindowedProcessor, WindowForwarder
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.windows import SlidingWindows, TimeWindow, Windowed

NO_TIMESTAMP = -1
VT = ValueAndTimestamp


class SlidingWindowAggregate(WindowedProcessor):
    """The aggregator gets `None` as the aggregate when the initializer returns None (reduce)."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        windows: SlidingWindows,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
    ) -> None:
        self.flags = flags
        self.diff = windows.time_difference_ms
        self.grace = windows.grace_ms
        self.initializer = initializer
        self.aggregator = aggregator
        self.observed_stream_time = NO_TIMESTAMP

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        assert self.flags.store is not None
        self.store: Any = context.get_state_store(self.flags.store)
        self.forwarder = WindowForwarder(self.forward, self.store, self.flags.send_old_values)

    def process(self, record: Record[Any, Any]) -> None:
        if self.skip_null(record):
            return
        ts = record.timestamp
        if ts > self.observed_stream_time:
            self.observed_stream_time = ts
        close_time = self.observed_stream_time - self.grace
        if ts + 1 + self.diff <= close_time:
            self.drop("expired window", record)
            return
        self.record = record
        self.close_time = close_time
        if ts < self.diff:
            self._process_early(record.key, ts)
        else:
            self._process(record.key, ts)
        self.forwarder.flush()

    def _process(self, key: Any, ts: int) -> None:
        """Walk the key's windows latest first (Kafka's processReverse)."""
        diff = self.diff
        starts: set[int] = set()
        left_agg: ValueAndTimestamp[Any] | None = None
        right_agg: ValueAndTimestamp[Any] | None = None
        left_exists = right_exists = False
        previous: int | None = None
        windows = list(self.store.fetch(key, max(0, ts - 2 * diff), ts + 1))
        for start, vt in reversed(windows):
            starts.add(start)
            end = start + diff
            if start == ts + 1:
                right_exists = True
            elif end > ts:
                if right_agg is None:
                    right_agg = vt
                self._update(start, vt, ts, True)
            elif end == ts:
                left_exists = True
                self._update(start, vt, ts, True)
                if vt.timestamp < ts:
                    previous = vt.timestamp
                else:
                    return  # a record at this very time created every window already
            else:
                left_agg, previous = vt, vt.timestamp
                break
        if previous is not None:
            prev_right = previous + 1
            if prev_right not in starts and prev_right + diff >= ts:
                self._update(prev_right, VT(self.initializer(), ts), ts)
        if not left_exists:
            if previous is not None and ts - diff <= previous and left_agg is not None:
                seed = VT(left_agg.value, ts)
            else:
                seed = VT(self.initializer(), ts)
            self._update(ts - diff, seed, ts)
        if not right_exists and right_agg is not None and right_agg.timestamp > ts:
            self._create_right(ts, right_agg, key)

    def _process_early(self, key: Any, ts: int) -> None:
        """Records before `d` share the window `[0, d]` (no negative starts)."""
        combined: ValueAndTimestamp[Any] | None = None
        right_agg: ValueAndTimestamp[Any] | None = None
        right_exists = False
        starts: set[int] = set()
        previous: int | None = None
        for start, vt in list(self.store.fetch(key, 0, ts + 1)):
            starts.add(start)
            if start == 0:
                combined = vt
                if vt.timestamp < ts:
                    previous = vt.timestamp
            elif start <= ts:
                right_agg = vt
                self._update(start, vt, ts, True)
            elif start == ts + 1:
                right_exists = True
            else:
                raise AssertionError(f"unexpected sliding window start {start} for record at {ts}")
        if right_agg is None and combined is not None and combined.timestamp > ts:
            right_agg = combined
        if not right_exists and right_agg is not None and right_agg.timestamp > ts:
            self._create_right(ts, right_agg, key)
        if previous is not None and previous + 1 not in starts:
            self._update(previous + 1, VT(self.initializer(), ts), ts)
        if combined is None:
            self._update(0, VT(self.initializer(), ts), ts)
        else:
            self._update(0, combined, ts, True)

    def _create_right(self, ts: int, agg: ValueAndTimestamp[Any], key: Any) -> None:
        """The record's right window holds the later records' aggregate, not the record itself."""
        start = ts + 1
        self.store.put(key, agg, start)
        window = TimeWindow(start, start + self.diff)
        self.forwarder.update(
            Windowed(key, window), agg.value, None, agg.timestamp, self.record.headers
        )

    def _update(
        self, start: int, vt: ValueAndTimestamp[Any], ts: int, stored: bool = False
    ) -> None:
        """Add the record to the window at `start` (`stored`: `vt` came from the store)."""
        record = self.record
        end = start + self.diff
        if end < self.close_time:
            self.drop("expired window", record)
            return
        old = vt.value
        new = self.aggregator(record.key, record.value, old)
        new_ts = ts if old is None else max(ts, vt.timestamp)
        self.store.put(record.key, None if new is None else VT(new, new_ts), start)
        self.forwarder.update(
            Windowed(record.key, TimeWindow(start, end)), new, old, new_ts, record.headers,
            old if stored else None,
        )  # fmt: skip
