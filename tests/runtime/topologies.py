"""Hand-built topologies (Processor API) used by the runtime tests."""

from __future__ import annotations

from typing import Any

from kstreamy.processor import Processor, Record
from kstreamy.serdes import Long, String
from kstreamy.state.stores import Stores
from kstreamy.topology import Topology


class _SplitWords(Processor[Any, Any, Any, Any]):
    def process(self, record: Record[Any, Any]) -> None:
        for word in str(record.value).lower().split():
            self.context.forward(record.with_key(word).with_value(word))


class _Count(Processor[Any, Any, Any, Any]):
    def init(self, context: Any) -> None:
        super().init(context)
        self.store = context.get_state_store("counts")

    def process(self, record: Record[Any, Any]) -> None:
        count = (self.store.get(record.key) or 0) + 1
        self.store.put(record.key, count)
        self.context.forward(record.with_value(count))


class _CountSeeingState(_Count):
    """Records how many entries its store held when `init` ran (restored state, if any)."""

    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def init(self, context: Any) -> None:
        super().init(context)
        self.seen.append(sum(1 for _ in self.store.all()))


def word_count(
    source: str, sink: str, persistent: bool = True, init_sizes: list[int] | None = None
) -> Topology:
    """source (text lines) -> split -> repartition by word -> count (store "counts") -> sink.
    With `init_sizes`, the counting processor appends its store's size at `init` to it."""
    t = Topology()
    t.add_source("lines", source, key_serde=String(), value_serde=String())
    t.add_processor("split", _SplitWords, "lines")
    t.add_repartition_topic("words-repartition", None)
    t.add_sink("to-words", "words-repartition", "split", key_serde=String(), value_serde=String())
    t.add_source("words", "words-repartition", key_serde=String(), value_serde=String())
    if init_sizes is None:
        t.add_processor("count", _Count, "words")
    else:
        sizes = init_sizes
        t.add_processor("count", lambda: _CountSeeingState(sizes), "words")
    t.add_state_store(
        Stores.key_value("counts", String(), Long(), persistent=persistent, caching=False),
        "count",
    )
    t.add_sink("out", sink, "count", key_serde=String(), value_serde=Long())
    return t


class _Forward(Processor[Any, Any, Any, Any]):
    def process(self, record: Record[Any, Any]) -> None:
        self.context.forward(record)


def pass_through(source: str, sink: str) -> Topology:
    t = Topology()
    t.add_source("in", source)
    t.add_processor("fwd", _Forward, "in")
    t.add_sink("out", sink, "fwd")
    return t


class _GlobalPut(Processor[Any, Any, Any, Any]):
    def init(self, context: Any) -> None:
        super().init(context)
        self.store = context.get_state_store("prices")

    def process(self, record: Record[Any, Any]) -> None:
        self.store.put(record.key, record.value)


class _CartTotal(Processor[Any, Any, Any, Any]):
    """value "product:qty" -> running total per customer, priced from the global store."""

    def init(self, context: Any) -> None:
        super().init(context)
        self.prices = context.get_state_store("prices")
        self.totals = context.get_state_store("totals")

    def process(self, record: Record[Any, Any]) -> None:
        product, _, qty = str(record.value).partition(":")
        price = self.prices.get(product)
        if price is None:
            return
        total = (self.totals.get(record.key) or 0) + price * int(qty)
        self.totals.put(record.key, total)
        self.context.forward(record.with_value(total))


def cart_totals(orders: str, prices: str, sink: str) -> Topology:
    """orders (customer -> "product:qty") priced from a global store of prices -> totals."""
    t = Topology()
    t.add_global_store(
        Stores.key_value("prices", String(), Long(), logging=False),
        "prices-source",
        prices,
        "prices-put",
        _GlobalPut,
        key_serde=String(),
        value_serde=Long(),
    )
    t.add_source("orders", orders, key_serde=String(), value_serde=String())
    t.add_processor("total", _CartTotal, "orders")
    t.add_state_store(Stores.key_value("totals", String(), Long()), "total")
    t.add_sink("out", sink, "total", key_serde=String(), value_serde=Long())
    return t
