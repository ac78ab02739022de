"""KTable processors: values travel between them as `Change(new, old)`.

`old` is only filled when a downstream operator asked for old values (Kafka's
`enableSendingOldValues`): table group_by/aggregations, left/outer table joins.
Materialized tables write `ValueAndTimestamp` to a timestamped store; when the store caches, the
cache forwards on flush/evict through `TupleForwarder` instead of on every write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from kstreamy.processor import Processor, ProcessorContext, Record
from kstreamy.state.api import RecordContext, ValueAndTimestamp

log = logging.getLogger(__name__)

AnyProcessor = Processor[Any, Any, Any, Any]
# A table's current (value, timestamp) for a key: a ValueAndTimestamp or a plain pair (the
# typed store's `get_pair`: nothing built for a memoized read), read by index; None if absent.
ValueGetter = Callable[[Any], "tuple[Any, int] | None"]
_new_tuple = tuple.__new__  # builds a NamedTuple without its Python-level __new__ (hot paths)


class Change(NamedTuple):
    """A table update: the new value and (when requested) the old one; None is absent/deleted."""

    new: Any
    old: Any


class TableSupplierFlags:
    """Per-node settings decided while the DSL graph is built, read when processors are made."""

    def __init__(self, store: str | None = None) -> None:
        self.store = store
        self.send_old_values = False


class TupleForwarder:
    """Kafka's TimestampedTupleForwarder: forward on write unless the store's cache forwards."""

    def __init__(self, context: ProcessorContext, store: Any, send_old_values: bool) -> None:
        self.context = context
        self.forward = context.forward
        self.task: Any = getattr(context, "task", None)
        self.send_old_values = send_old_values
        self.cached = False
        setter = getattr(store, "set_flush_listener", None)
        if setter is not None:
            from kstreamy.processors.table_sink import table_to_sink_listener

            direct = table_to_sink_listener(context, store)
            if direct is not None:  # only `to_stream().to(topic)` downstream: skip the chain
                self.cached = bool(store.set_bytes_flush_listener(direct, send_old_values))
            else:
                self.cached = bool(setter(self._on_flush, send_old_values))

    def _on_flush(self, key: Any, new: Any, old: Any, rc: RecordContext) -> None:
        """Forward one entry flushed or evicted by the cache, under its own record context."""
        if new is not None:
            new_v, ts = new.value, new.timestamp
        else:
            new_v, ts = None, rc.timestamp
        old_v = old.value if old is not None and self.send_old_values else None
        record = Record(key, _new_tuple(Change, (new_v, old_v)), ts, rc.headers)
        task = self.task
        if task is None:
            self.forward(record)
        elif task.current_topic is None:  # flushed on commit: nothing to restore afterwards
            task.current_topic, task.current_partition, task.current_offset = rc[2:5]
            self.forward(record)
            task.current_topic = None
        else:  # evicted while processing another record
            saved = task.current_topic, task.current_partition, task.current_offset
            task.current_topic, task.current_partition, task.current_offset = rc[2:5]
            try:
                self.forward(record)
            finally:
                task.current_topic, task.current_partition, task.current_offset = saved

    def maybe_forward(self, record: Record[Any, Any], new: Any, old: Any, timestamp: int) -> None:
        if not self.cached:
            old = old if self.send_old_values else None
            self.context.forward(Record(record.key, Change(new, old), timestamp, record.headers))


def store_getter(context: ProcessorContext, store_name: str) -> ValueGetter:
    store = context.get_state_store(store_name)
    get: ValueGetter = getattr(store, "get_pair", store.get)
    return get


class _TableProcessor(AnyProcessor):
    """A table operator, materialized into `flags.store` when set: then its updates are stored
    and forwarded through a TupleForwarder (on cache flush when caching is on)."""

    flags: TableSupplierFlags

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.store: Any = None
        if self.flags.store is not None:
            self.store = context.get_state_store(self.flags.store)
            self.forwarder = TupleForwarder(context, self.store, self.flags.send_old_values)


class _TableValueTransform(_TableProcessor):
    """filter/map_values on a table: `_apply` maps a value (None: delete); the value getter
    applies the same function to its parent's values."""

    def _apply(self, key: Any, value: Any) -> Any:
        raise NotImplementedError

    def getter(self, parent: ValueGetter) -> ValueGetter:
        def get(key: Any) -> ValueAndTimestamp[Any] | None:
            vt = parent(key)
            if vt is None:
                return None
            value = self._apply(key, vt[0])
            return None if value is None else ValueAndTimestamp(value, vt[1])

        return get


class KTableSource(_TableProcessor):
    """Turns a changelog stream into table updates; materializes into `flags.store` if set."""

    def __init__(self, flags: TableSupplierFlags, topic: str = "") -> None:
        self.flags = flags
        self.topic = topic

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:
            log.warning("Skipping table record with null key (topic %s)", self.topic)
            return
        if self.store is None:
            self.context.forward(record.with_value(Change(record.value, None)))
            return
        old = self.store.get(record.key)
        old_v = old.value if old is not None else None
        new = None if record.value is None else ValueAndTimestamp(record.value, record.timestamp)
        self.store.put(record.key, new)
        self.forwarder.maybe_forward(record, record.value, old_v, record.timestamp)


def _old_value(proc: Any, key: Any, change: Change) -> Any:
    """Kafka's computeOldValue: from the node's own store when materialized, else recomputed."""
    if not proc.flags.send_old_values:
        return None
    if proc.store is not None:
        vt = proc.store.get(key)
        return vt.value if vt is not None else None
    return proc._apply(key, change.old)


def _store_and_forward(proc: Any, record: Record[Any, Any], new: Any, old: Any) -> None:
    if proc.store is not None:
        proc.store.put(
            record.key, None if new is None else ValueAndTimestamp(new, record.timestamp)
        )
        proc.forwarder.maybe_forward(record, new, old, record.timestamp)
    else:
        proc.context.forward(record.with_value(Change(new, old)))


class KTableFilter(_TableValueTransform):
    """filter/filter_not on a table: a filtered-out update becomes a delete (tombstone)."""

    def __init__(
        self, flags: TableSupplierFlags, predicate: Callable[[Any, Any], bool], negate: bool
    ):
        self.flags = flags
        self.predicate = predicate
        self.negate = negate

    def _apply(self, key: Any, value: Any) -> Any:
        if value is None:
            return None
        return value if bool(self.predicate(key, value)) is not self.negate else None

    def process(self, record: Record[Any, Any]) -> None:
        change: Change = record.value
        new = self._apply(record.key, change.new)
        old = _old_value(self, record.key, change)
        if self.flags.send_old_values and old is None and new is None:
            return  # Kafka: nothing changed for downstream
        _store_and_forward(self, record, new, old)


class KTableMapValues(_TableValueTransform):
    def __init__(self, flags: TableSupplierFlags, mapper: Callable[[Any, Any], Any]) -> None:
        self.flags = flags
        self.mapper = mapper

    def _apply(self, key: Any, value: Any) -> Any:
        return None if value is None else self.mapper(key, value)

    def process(self, record: Record[Any, Any]) -> None:
        change: Change = record.value
        new = self._apply(record.key, change.new)
        _store_and_forward(self, record, new, _old_value(self, record.key, change))


class KTableToStream(AnyProcessor):
    """to_stream(): emits the new value of every update (None for a delete)."""

    def process(self, record: Record[Any, Any]) -> None:
        self.context.forward(Record(record.key, record.value.new, record.timestamp, record.headers))


class KTableMaterialize(_TableProcessor):
    """Materializes an upstream table into a store (used for joined tables given `store=`)."""

    def __init__(self, flags: TableSupplierFlags) -> None:
        self.flags = flags

    def process(self, record: Record[Any, Any]) -> None:
        change: Change = record.value
        if self.store is None:
            self.context.forward(record)
            return
        self.store.put(
            record.key,
            None if change.new is None else ValueAndTimestamp(change.new, record.timestamp),
        )
        self.forwarder.maybe_forward(record, change.new, change.old, record.timestamp)
