"""Aggregations: KGroupedStream count/reduce/aggregate, and KTable group_by + aggregation.

Rules (Kafka Streams): stream aggregations skip records with a null key or value; the result
timestamp is the max of the input's and the previous aggregate's. Table aggregations apply the
subtractor (old value) before the adder (new value); a group_by whose key did not change sends one
combined `Change(new, old)` (KIP-904), otherwise a retraction to the old key and an addition to the
new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kstreamy.processor import Processor, ProcessorContext, Record
from kstreamy.processors.table import Change, TableSupplierFlags, TupleForwarder
from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.typed import MeteredKeyValueStore

log = logging.getLogger(__name__)

AnyProcessor = Processor[Any, Any, Any, Any]
_new_tuple = tuple.__new__


class _StoreProcessor(AnyProcessor):
    def __init__(self, flags: TableSupplierFlags) -> None:
        self.flags = flags

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        assert self.flags.store is not None
        self.store: Any = context.get_state_store(self.flags.store)
        self.forwarder = TupleForwarder(context, self.store, self.flags.send_old_values)
        # the DSL's timestamped stores read and take (value, timestamp) as plain pairs: no
        # ValueAndTimestamp built and freed per record
        pairs = isinstance(self.store, MeteredKeyValueStore) and self.store.timestamped
        self.get_vt: Callable[[Any], Any] = self.store.get_pair if pairs else self.store.get
        self.pairs = pairs


class KStreamAggregate(_StoreProcessor):
    """aggregate (and count): `initializer()` then `aggregator(key, value, agg)`."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
    ) -> None:
        super().__init__(flags)
        self.initializer = initializer
        self.aggregator = aggregator

    def process(self, record: Record[Any, Any]) -> None:
        key = record.key
        if key is None or record.value is None:
            return  # Kafka: aggregations skip null keys and null values
        old = self.get_vt(key)
        if old is None:
            old_agg = self.initializer()
            ts = record.timestamp
        else:
            old_agg = old[0]
            ts = record.timestamp if record.timestamp > old[1] else old[1]
        new_agg = self.aggregator(key, record.value, old_agg)
        self.store.put(
            key, (new_agg, ts) if self.pairs else _new_tuple(ValueAndTimestamp, (new_agg, ts))
        )
        if not self.forwarder.cached:
            self.forwarder.maybe_forward(record, new_agg, old_agg, ts)


class KStreamCount(_StoreProcessor):
    """count: KStreamAggregate with 0 and +1, without the two function calls per record."""

    def process(self, record: Record[Any, Any]) -> None:
        key = record.key
        if key is None or record.value is None:
            return
        old = self.get_vt(key)
        if old is None:
            old_count, ts = 0, record.timestamp
        else:
            old_count = old[0]
            ts = record.timestamp if record.timestamp > old[1] else old[1]
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (hot path)
        self.store.put(
            key,
            (old_count + 1, ts)
            if self.pairs
            else _new_tuple(ValueAndTimestamp, (old_count + 1, ts)),
        )
        if not self.forwarder.cached:
            self.forwarder.maybe_forward(record, old_count + 1, old_count, ts)


class KStreamReduce(_StoreProcessor):
    """reduce: the first value is the aggregate; then `reducer(agg, value)`."""

    def __init__(self, flags: TableSupplierFlags, reducer: Callable[[Any, Any], Any]) -> None:
        super().__init__(flags)
        self.reducer = reducer

    def process(self, record: Record[Any, Any]) -> None:
        key = record.key
        if key is None or record.value is None:
            return
        old = self.get_vt(key)
        if old is None:
            old_agg, new_agg, ts = None, record.value, record.timestamp
        else:
            old_agg = old[0]
            new_agg = self.reducer(old_agg, record.value)
            ts = max(record.timestamp, old[1])
        self.store.put(
            key, (new_agg, ts) if self.pairs else _new_tuple(ValueAndTimestamp, (new_agg, ts))
        )
        self.forwarder.maybe_forward(record, new_agg, old_agg, ts)


class KTableRepartitionMap(AnyProcessor):
    """KTable.group_by: maps old and new values to (key, value) pairs of the grouped table."""

    def __init__(self, selector: Callable[[Any, Any], tuple[Any, Any] | None]) -> None:
        self.selector = selector

    def _pair(self, key: Any, value: Any) -> tuple[Any, Any] | None:
        if value is None:
            return None
        pair = self.selector(key, value)
        if pair is None or pair[0] is None:
            return None  # a None selection skips the record
        return pair

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:
            return
        change: Change = record.value
        new = self._pair(record.key, change.new)
        old = self._pair(record.key, change.old)
        fwd = self.context.forward
        if new is not None and old is not None and new[0] == old[0]:
            fwd(Record(new[0], Change(new[1], old[1]), record.timestamp, record.headers))
            return
        if old is not None:
            fwd(Record(old[0], Change(None, old[1]), record.timestamp, record.headers))
        if new is not None:
            fwd(Record(new[0], Change(new[1], None), record.timestamp, record.headers))


class KTableAggregate(_StoreProcessor):
    """KGroupedTable.aggregate/count: subtractor on the old value first, then adder on the new."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        initializer: Callable[[], Any],
        adder: Callable[[Any, Any, Any], Any],
        subtractor: Callable[[Any, Any, Any], Any],
    ) -> None:
        super().__init__(flags)
        self.initializer = initializer
        self.adder = adder
        self.subtractor = subtractor

    def process(self, record: Record[Any, Any]) -> None:
        key = record.key
        if key is None:
            return
        change: Change = record.value
        old = self.store.get(key)
        old_agg = old.value if old is not None else None
        ts = record.timestamp
        if change.old is not None and old_agg is not None:
            agg = self.subtractor(key, change.old, old_agg)
            ts = max(ts, old.timestamp) if old is not None else ts
        else:
            agg = old_agg
        if change.new is not None:
            agg = self.adder(key, change.new, self.initializer() if agg is None else agg)
            if old is not None:
                ts = max(record.timestamp, old.timestamp)
        self.store.put(key, None if agg is None else ValueAndTimestamp(agg, ts))
        self.forwarder.maybe_forward(record, agg, old_agg, ts)


class KTableReduce(_StoreProcessor):
    """KGroupedTable.reduce: `subtractor(agg, old)` first, then `adder(agg, new)`."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        adder: Callable[[Any, Any], Any],
        subtractor: Callable[[Any, Any], Any],
    ) -> None:
        super().__init__(flags)
        self.adder = adder
        self.subtractor = subtractor

    def process(self, record: Record[Any, Any]) -> None:
        key = record.key
        if key is None:
            return
        change: Change = record.value
        old = self.store.get(key)
        old_agg = old.value if old is not None else None
        ts = record.timestamp
        if change.old is not None and old is not None:
            agg = self.subtractor(old_agg, change.old)
            ts = max(ts, old.timestamp)
        else:
            agg = old_agg
        if change.new is not None:
            if agg is None:
                agg = change.new
            else:
                agg = self.adder(agg, change.new)
                if old is not None:
                    ts = max(record.timestamp, old.timestamp)
        self.store.put(key, None if agg is None else ValueAndTimestamp(agg, ts))
        self.forwarder.maybe_forward(record, agg, old_agg, ts)
