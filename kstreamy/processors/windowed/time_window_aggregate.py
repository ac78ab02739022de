"""Tumbling and hopping window aggregations (Kafka's KStreamWindowAggregate).

Rules:
- a record at `t` updates every window `[start, start + size)` with `start <= t < start + size`,
  starts being epoch-aligned multiples of the advance (`TimeWindows.windows_for`);
- stream time here is the highest record timestamp this processor has seen; a window is closed
  once `window end + grace <= stream time` (Kafka: `windowEnd > closeTime` keeps it open, with
  `closeTime = streamTime - grace`), and a record for a closed window is dropped and counted;
- records with a null key are dropped (and counted); null values are aggregated (Kafka 4.4);
  a null aggregate (reduce of a null first value) deletes the window;
- the window's timestamp is the max of its records' timestamps; updates go downstream as
  `Windowed(key, window) -> Change(new, old)`, old only when requested (send_old_values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kstreamy.processor import ProcessorContext, Record
from kstreamy.processors.table import TableSupplierFlags
from kstreamy.processors.windowed._common import WindowedProcessor, WindowForwarder
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.windows import MAX_TIMESTAMP, TimeWindow, TimeWindows, Windowed

NO_TIMESTAMP = -1
_new_tuple = tuple.__new__  # NamedTuple's Python-level __new__ is slow on the per-record path


class TimeWindowAggregate(WindowedProcessor):
    """count/reduce/aggregate over TimeWindows; `reducer` set means reduce semantics (the first
    value is the aggregate, `reducer(agg, value)` afterwards)."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        windows: TimeWindows,
        initializer: Callable[[], Any] | None,
        aggregator: Callable[[Any, Any, Any], Any] | None,
        reducer: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.flags = flags
        self.windows = windows
        self.initializer = initializer
        self.aggregator = aggregator
        self.reducer = reducer
        self.observed_stream_time = NO_TIMESTAMP
        self._windows: dict[int, TimeWindow] = {}

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        assert self.flags.store is not None
        self.store: Any = context.get_state_store(self.flags.store)
        self.forwarder = WindowForwarder(self.forward, self.store, self.flags.send_old_values)

    def _window(self, start: int) -> TimeWindow:
        """Windows are immutable: reuse one object per start (the cache is bounded)."""
        window = self._windows.get(start)
        if window is None:
            if len(self._windows) > 1024:
                self._windows.clear()
            end = start + self.windows.size_ms
            window = TimeWindow(start, end if end <= MAX_TIMESTAMP else MAX_TIMESTAMP)
            self._windows[start] = window
        return window

    def process(self, record: Record[Any, Any]) -> None:
        key, value, ts = record.key, record.value, record.timestamp
        if key is None:  # Kafka 4.4 aggregates null values in windowed aggregations
            self.drop("null key", record)
            return
        if ts > self.observed_stream_time:
            self.observed_stream_time = ts
        windows = self.windows
        close_time = self.observed_stream_time - windows.grace_ms
        size, advance = windows.size_ms, windows.advance_ms
        start = (max(0, ts - size + advance) // advance) * advance
        store, headers = self.store, record.headers
        forwarder = self.forwarder
        update = forwarder.update
        reducer = self.reducer
        initializer: Any = self.initializer
        aggregator: Any = self.aggregator
        while start <= ts:
            window = self._window(start)
            if window.end <= close_time:
                self.drop("expired window", record)
                start += advance
                continue
            old_vt = store.get(key, start)
            stored = None
            if old_vt is None:
                new_ts = ts
                if reducer is not None:
                    old, new = None, value
                else:
                    old = initializer()
                    new = aggregator(key, value, old)
            else:
                old = stored = old_vt.value
                new = reducer(old, value) if reducer is not None else aggregator(key, value, old)
                new_ts = ts if ts > old_vt.timestamp else old_vt.timestamp
            # Kafka's ValueAndTimestamp.make(null, ts) is null: a null aggregate deletes the window
            store.put(
                key, None if new is None else _new_tuple(ValueAndTimestamp, (new, new_ts)), start
            )
            update(Windowed(key, window), new, old, new_ts, headers, stored)
            start += advance
        forwarder.flush()
