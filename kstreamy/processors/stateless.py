"""Stateless KStream operators: each a tiny Processor that binds `context.forward` once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kstreamy.processor import Processor, ProcessorContext, Record

AnyProcessor = Processor[Any, Any, Any, Any]


class _Forwarding(AnyProcessor):
    """Keeps `context.forward` as `self.forward` so the per-record path does one attribute load."""

    forward: Callable[[Record[Any, Any]], None]

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.forward = context.forward


class Filter(_Forwarding):
    def __init__(self, predicate: Callable[[Any, Any], bool], negate: bool = False) -> None:
        self.predicate = predicate
        self.negate = negate

    def process(self, record: Record[Any, Any]) -> None:
        if bool(self.predicate(record.key, record.value)) is not self.negate:
            self.forward(record)


class MapValues(_Forwarding):
    def __init__(self, mapper: Callable[[Any], Any]) -> None:
        self.mapper = mapper

    def process(self, record: Record[Any, Any]) -> None:
        self.forward(
            Record(record.key, self.mapper(record.value), record.timestamp, record.headers)
        )


class MapValuesWithKey(_Forwarding):
    def __init__(self, mapper: Callable[[Any, Any], Any]) -> None:
        self.mapper = mapper

    def process(self, record: Record[Any, Any]) -> None:
        value = self.mapper(record.key, record.value)
        self.forward(Record(record.key, value, record.timestamp, record.headers))


class Map(_Forwarding):
    def __init__(self, mapper: Callable[[Any, Any], tuple[Any, Any]]) -> None:
        self.mapper = mapper

    def process(self, record: Record[Any, Any]) -> None:
        pair = self.mapper(record.key, record.value)
        if pair is None:
            raise ValueError("map() mapper returned None; it must return a (key, value) pair")
        key, value = pair
        self.forward(Record(key, value, record.timestamp, record.headers))


class SelectKey(_Forwarding):
    def __init__(self, selector: Callable[[Any, Any], Any]) -> None:
        self.selector = selector

    def process(self, record: Record[Any, Any]) -> None:
        key = self.selector(record.key, record.value)
        self.forward(Record(key, record.value, record.timestamp, record.headers))


class FlatMap(_Forwarding):
    def __init__(self, mapper: Callable[[Any, Any], Iterable[tuple[Any, Any]]]) -> None:
        self.mapper = mapper

    def process(self, record: Record[Any, Any]) -> None:
        ts, headers = record.timestamp, record.headers
        for key, value in self.mapper(record.key, record.value) or ():
            self.forward(Record(key, value, ts, headers))


class FlatMapValues(_Forwarding):
    def __init__(self, mapper: Callable[[Any], Iterable[Any]]) -> None:
        self.mapper = mapper

    def process(self, record: Record[Any, Any]) -> None:
        key, ts, headers = record.key, record.timestamp, record.headers
        for value in self.mapper(record.value) or ():
            self.forward(Record(key, value, ts, headers))


class Peek(_Forwarding):
    """peek (forwards) and foreach (a terminal node: forwards nothing)."""

    def __init__(self, action: Callable[[Any, Any], Any], forward: bool = True) -> None:
        self.action = action
        self.forwards = forward

    def process(self, record: Record[Any, Any]) -> None:
        self.action(record.key, record.value)
        if self.forwards:
            self.forward(record)


class PassThrough(_Forwarding):
    """merge and split branches: forwards every record unchanged."""

    def process(self, record: Record[Any, Any]) -> None:
        self.forward(record)


class DropNullKeys(_Forwarding):
    """The filter Kafka puts in front of a repartition sink: null keys cannot be partitioned."""

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is not None:
            self.forward(record)


class Branch(_Forwarding):
    """split(): the first matching predicate wins; `children[i]` is branch i's node name."""

    def __init__(
        self, predicates: list[Callable[[Any, Any], bool]], children: list[str], default: str | None
    ) -> None:
        self.predicates = predicates
        self.children = children
        self.default = default

    def process(self, record: Record[Any, Any]) -> None:
        for predicate, child in zip(self.predicates, self.children, strict=True):
            if predicate(record.key, record.value):
                self.context.forward(record, child)
                return
        if self.default is not None:
            self.context.forward(record, self.default)
