"""Session window aggregations (Kafka's KStreamSessionWindowAggregate).

Rules:
- a record at `t` starts the session `[t, t]` and merges every session of its key that ends at or
  after `t - gap` and starts at or before `t + gap`; merged aggregates are combined with the
  session merger (starting from the initializer), then the record is added with the aggregator;
- each session merged away is removed from the store and retracted downstream as
  `Windowed(key, old session) -> Change(None, old)` at the old session's end; the merged session
  goes downstream as `Change(new, None)` with the session's end as its timestamp;
- stream time is the highest timestamp this processor has seen; a record whose (merged) session
  ends before `stream time - grace - gap` is dropped and counted (Kafka's `windowCloseTime`);
- records with a null key are dropped and counted; null values are aggregated (Kafka 4.4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kstreamy.processor import ProcessorContext, Record
from kstreamy.processors.table import TableSupplierFlags
from kstreamy.processors.windowed._common import WindowedProcessor, WindowForwarder
from kstreamy.windows import SessionWindow, SessionWindows, Windowed

NO_TIMESTAMP = -1


class SessionWindowAggregate(WindowedProcessor):
    def __init__(
        self,
        flags: TableSupplierFlags,
        windows: SessionWindows,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        merger: Callable[[Any, Any, Any], Any],
    ) -> None:
        self.flags = flags
        self.windows = windows
        self.initializer = initializer
        self.aggregator = aggregator
        self.merger = merger
        self.observed_stream_time = NO_TIMESTAMP

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        assert self.flags.store is not None
        self.store: Any = context.get_state_store(self.flags.store)
        self.forwarder = WindowForwarder(self.forward, self.store, self.flags.send_old_values)

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:  # Kafka 4.4 aggregates null values here
            self.drop("null key", record)
            return
        key, ts = record.key, record.timestamp
        if ts > self.observed_stream_time:
            self.observed_stream_time = ts
        gap = self.windows.inactivity_gap_ms
        close_time = self.observed_stream_time - self.windows.grace_ms - gap
        agg = self.initializer()
        start = end = ts
        merged = list(self.store.find_sessions(key, ts - gap, ts + gap))
        for session, value in merged:
            agg = self.merger(key, agg, value)
            start = min(start, session.window.start)
            end = max(end, session.window.end)
        if end < close_time:
            self.drop("expired window", record)
            return
        forwarder, headers = self.forwarder, record.headers
        new_key = Windowed(key, SessionWindow(start, end))
        # what the cache reports as old on flush: the store below (a cached session it already
        # expired reports nothing, so its removal is not forwarded)
        below = self.store.fetch_stored if forwarder.caching else None
        stored = None
        if start != ts or end != ts:
            for session, value in merged:
                old_below = value if below is None else below(session)
                if session == new_key:
                    stored = old_below
                self.store.remove(session)
                forwarder.update(session, None, value, session.window.end, headers, old_below)
        else:
            for session, value in merged:
                if session == new_key:
                    stored = value if below is None else below(session)
        agg = self.aggregator(key, record.value, agg)
        self.store.put(new_key, agg)
        # the uncached path reports no old value for the merged session (Kafka's processor)
        forwarder.update(new_key, agg, None, end, headers, stored)
        forwarder.flush()
