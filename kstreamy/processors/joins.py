"""Stream-table, stream-GlobalKTable and table-table joins.

Rules (Kafka Streams):
- stream-table / stream-GlobalKTable: only the stream side triggers; the result keeps the stream
  record's timestamp; a null stream value is dropped; a null stream key (or a key_mapper result
  of None) drops the record in the inner join and joins with None in the left join (KIP-962;
  KStreamGlobalKTableLeftJoinTest.shouldJoinOnNullKeyMapperValues).
- table-table: both sides trigger; the result timestamp is the max of both sides'; inner joins
  emit only when both sides exist (a delete becomes a tombstone), left/outer joins emit with None
  for the missing side; old values are joined too when downstream needs them (retractions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kstreamy.processor import Processor, ProcessorContext, Record
from kstreamy.processors.table import Change, TableSupplierFlags, ValueGetter

AnyProcessor = Processor[Any, Any, Any, Any]
GetterFactory = Callable[[ProcessorContext], ValueGetter]


class KStreamTableJoin(AnyProcessor):
    def __init__(
        self,
        getter_factory: GetterFactory,
        joiner: Callable[[Any, Any], Any],
        left: bool,
        key_mapper: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.getter_factory = getter_factory
        self.joiner = joiner
        self.left = left
        self.key_mapper = key_mapper

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.get = self.getter_factory(context)
        self.forward = context.forward

    def process(self, record: Record[Any, Any]) -> None:
        key, value = record.key, record.value
        if value is None:
            return
        mapper = self.key_mapper
        mapped = key if mapper is None else mapper(key, value)
        if mapped is None:
            if not self.left:
                return
            other = None
        else:
            vt = self.get(mapped)
            other = vt[0] if vt is not None else None
        if other is None and not self.left:
            return
        self.forward(Record(key, self.joiner(value, other), record.timestamp, record.headers))


class KTableKTableJoin(AnyProcessor):
    """One side of a table-table join; `kind` is inner, left (this side is the left table),
    right (the other side of a left join) or outer. The joiner is already oriented
    (this, other) -> result."""

    def __init__(
        self,
        flags: TableSupplierFlags,
        getter_factory: GetterFactory,
        joiner: Callable[[Any, Any], Any],
        kind: str,
    ) -> None:
        self.flags = flags
        self.getter_factory = getter_factory
        self.joiner = joiner
        self.kind = kind

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.get = self.getter_factory(context)

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:
            return
        change: Change = record.value
        vt = self.get(record.key)
        other = vt[0] if vt is not None else None
        ts = record.timestamp if vt is None else max(record.timestamp, vt[1])
        send_old = self.flags.send_old_values
        joiner = self.joiner
        new = old = None
        kind = self.kind
        if kind == "inner":
            if other is None:
                return
            if change.new is not None:
                new = joiner(change.new, other)
            if send_old and change.old is not None:
                old = joiner(change.old, other)
        elif kind == "left":
            if other is None and change.new is None and change.old is None:
                return  # a delete of a key this table never had (old values are on for left joins)
            if change.new is not None:
                new = joiner(change.new, other)
            if send_old and change.old is not None:
                old = joiner(change.old, other)
        elif kind == "right":
            if other is None:
                return
            new = joiner(change.new, other)
            if send_old:
                old = joiner(change.old, other)
        else:  # outer
            if other is None and change.new is None and change.old is None:
                return
            if other is not None or change.new is not None:
                new = joiner(change.new, other)
            if send_old and (other is not None or change.old is not None):
                old = joiner(change.old, other)
        self.context.forward(Record(record.key, Change(new, old), ts, record.headers))

    def getter(self, this_getter: ValueGetter, other_getter: ValueGetter) -> ValueGetter:
        """The joined table's value for a key (used when the join result is itself joined)."""

        def get(key: Any) -> Any:
            from kstreamy.state.api import ValueAndTimestamp

            a = this_getter(key)
            b = other_getter(key)
            av = a[0] if a is not None else None
            bv = b[0] if b is not None else None
            kind = self.kind
            if kind == "inner" and (av is None or bv is None):
                return None
            if kind == "left" and av is None:
                return None
            if kind == "right" and bv is None:
                return None
            if av is None and bv is None:
                return None
            ts = max(x[1] for x in (a, b) if x is not None)
            return ValueAndTimestamp(self.joiner(av, bv), ts)

        return get
