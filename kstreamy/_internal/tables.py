"""KTable, GlobalKTable, KGroupedStream and KGroupedTable fronts, and the repartition helper."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kstreamy._internal.graph import GraphNode
from kstreamy.processor import ProcessorContext
from kstreamy.processors import aggregate as agg
from kstreamy.processors import stateless as sl
from kstreamy.processors.joins import GetterFactory, KTableKTableJoin
from kstreamy.processors.table import (
    Change,
    KTableFilter,
    KTableMapValues,
    KTableMaterialize,
    KTableToStream,
    TableSupplierFlags,
    ValueGetter,
    store_getter,
)
from kstreamy.serdes import Serde
from kstreamy.state.api import StoreBuilder

if TYPE_CHECKING:
    from kstreamy.dsl import KStream, StreamsBuilder

_GENERATED = re.compile(r"KSTREAM.*-[0-9]{10}")


def windowed_hook(function: str) -> Callable[..., Any]:
    """The windowed operators live in kstreamy.dsl_windowed; the DSL delegates to them."""
    import importlib

    try:
        hook: Callable[..., Any] = getattr(
            importlib.import_module("kstreamy.dsl_windowed"), function
        )
    except (ImportError, AttributeError):
        raise NotImplementedError(
            f"{function} (windowed operations) is not available: kstreamy.dsl_windowed."
            f"{function} is missing"
        ) from None
    return hook


def table_store_builder(
    name: str, key_serde: Serde | None, value_serde: Serde | None
) -> StoreBuilder:
    """The timestamped key-value store the DSL materializes tables and aggregates into."""
    from kstreamy.state.stores import Stores

    builder: StoreBuilder = Stores.timestamped_key_value(
        name, key_serde=key_serde, value_serde=value_serde
    )
    return builder


class ChangeSerde:
    """Carries `Change(new, old)` through a repartition topic: flags, new length, new, old."""

    def __init__(self, inner: Serde | None) -> None:
        self.inner = inner

    def with_inner(self, inner: Serde) -> ChangeSerde:
        return ChangeSerde(inner)

    def _inner(self) -> Any:
        if self.inner is None:
            from kstreamy.runtime.task import PYTHON_OBJECTS

            return PYTHON_OBJECTS
        return self.inner

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        inner = self._inner()
        new = inner.serialize(topic, obj.new) if obj.new is not None else None
        old = inner.serialize(topic, obj.old) if obj.old is not None else None
        flags = (new is not None) | ((old is not None) << 1)
        return struct.pack(">BI", flags, len(new or b"")) + (new or b"") + (old or b"")

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        flags, n = struct.unpack_from(">BI", data)
        inner = self._inner()
        new = inner.deserialize(topic, data[5 : 5 + n]) if flags & 1 else None
        old = inner.deserialize(topic, data[5 + n :]) if flags & 2 else None
        return Change(new, old)


def repartition_through(
    stream: KStream | KTable,
    prefix: str,
    key_serde: Serde | None,
    value_serde: Serde | None,
    num_partitions: int | None,
    *,
    null_key_filter: bool = True,
) -> tuple[str, str]:
    """Insert filter -> sink -> topic -> source (Kafka's createRepartitionedSource) after
    `stream`; returns (source node name, undecorated topic name)."""
    graph = stream.graph
    topic = prefix if prefix.endswith("-repartition") else f"{prefix}-repartition"
    gen_sink = graph.new_name("KSTREAM-SINK-")
    gen_filter = graph.new_name("KSTREAM-FILTER-") if null_key_filter else ""
    gen_source = graph.new_name("KSTREAM-SOURCE-")
    if _GENERATED.fullmatch(prefix):
        sink, filt, source = gen_sink, gen_filter, gen_source
    else:
        sink, filt, source = f"{topic}-sink", f"{topic}-filter", f"{topic}-source"
    parent = stream.name
    if null_key_filter:
        parent = graph.add_processor(filt, sl.DropNullKeys, parent)
    graph.add(
        GraphNode("sink", sink, [parent], topic=topic, key_serde=key_serde, value_serde=value_serde)
    )
    graph.add(
        GraphNode("source", source, [], topics=[topic], key_serde=key_serde,
                  value_serde=value_serde)
    )  # fmt: skip
    graph.repartition_topics[topic] = num_partitions
    return source, topic


class KTable:
    """A changelog stream seen as a table; values flow downstream as `Change(new, old)`."""

    def __init__(
        self,
        builder: StreamsBuilder,
        name: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
        source_topics: frozenset[str],
        flags: TableSupplierFlags,
        *,
        kind: str,
        parents: tuple[KTable, ...] = (),
        derive: Callable[..., ValueGetter] | None = None,
    ) -> None:
        self.builder = builder
        self.graph = builder.graph
        self.name = name
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.source_topics = source_topics
        self.flags = flags
        self.kind = kind
        self.parents = parents
        self.derive = derive
        self.source_store: str | None = None

    # -- internals used by downstream operators ------------------------------------------------
    def _materialize_source(self) -> None:
        if self.kind == "source" and self.flags.store is None:
            self.flags.store = self.source_store

    def value_getter(self) -> tuple[GetterFactory, list[str]]:
        """How a downstream processor reads this table's current value for a key."""
        self._materialize_source()
        store = self.flags.store
        if store is not None:
            return (lambda ctx: store_getter(ctx, store)), [store]
        if self.derive is None:
            from kstreamy.errors import TopologyError

            raise TopologyError(
                f"Table {self.name} is not materialized; give its operator a store= name to "
                "join or look it up"
            )
        getters = [p.value_getter() for p in self.parents]
        derive = self.derive

        def factory(ctx: ProcessorContext) -> ValueGetter:
            return derive(*(g(ctx) for g, _ in getters))

        return factory, [s for _, stores in getters for s in stores]

    def enable_send_old_values(self, force_materialization: bool = True) -> bool:
        """Ask this table to send old values downstream (Kafka's enableSendingOldValues);
        returns whether it will. Without `force_materialization` an unmaterialized source (or a
        table derived from one) declines instead of creating a store."""
        flags = self.flags
        if self.kind == "source":
            if flags.store is None and force_materialization:
                self._materialize_source()
            flags.send_old_values = flags.send_old_values or flags.store is not None
        elif self.kind in ("filter", "map_values") and flags.store is None:
            if self.parents[0].enable_send_old_values(force_materialization):
                flags.send_old_values = True
        elif self.kind == "join":
            for p in self.parents:
                p.enable_send_old_values(True)
            flags.send_old_values = True
        elif flags.store is not None:  # materialized: the old value comes from its own store
            flags.send_old_values = True
        return flags.send_old_values

    def _derived(
        self,
        prefix: str,
        kind: str,
        name: str | None,
        store: str | None,
        make: Callable[[TableSupplierFlags], Any],
        value_serde: Serde | None,
    ) -> KTable:
        graph = self.graph
        node = graph.name_or_new(name, prefix)
        flags = TableSupplierFlags(store)
        if kind == "filter":
            # Kafka: a filter asks its parent for old values when the parent has them anyway
            # (it is materialized), so that filtered-out updates need no tombstone
            flags.send_old_values = self.enable_send_old_values(False)
        template = make(flags)
        graph.add_processor(node, lambda: make(flags), self.name)
        if store is not None:
            graph.add_store(table_store_builder(store, self.key_serde, value_serde), node)
        return KTable(
            self.builder, node, self.key_serde, value_serde, self.source_topics, flags,
            kind=kind, parents=(self,), derive=template.getter,
        )  # fmt: skip

    # -- operators ---------------------------------------------------------------------------------
    def filter(
        self, predicate: Callable[[Any, Any], bool], *, store: str | None = None,
        name: str | None = None,
    ) -> KTable:  # fmt: skip
        return self._derived(
            "KTABLE-FILTER-", "filter", name, store,
            lambda f: KTableFilter(f, predicate, False), self.value_serde,
        )  # fmt: skip

    def filter_not(
        self, predicate: Callable[[Any, Any], bool], *, store: str | None = None,
        name: str | None = None,
    ) -> KTable:  # fmt: skip
        return self._derived(
            "KTABLE-FILTER-", "filter", name, store,
            lambda f: KTableFilter(f, predicate, True), self.value_serde,
        )  # fmt: skip

    def map_values(
        self, mapper: Callable[[Any], Any], *, store: str | None = None,
        value_serde: Serde | None = None, name: str | None = None,
    ) -> KTable:  # fmt: skip
        return self._derived(
            "KTABLE-MAPVALUES-", "map_values", name, store,
            lambda f: KTableMapValues(f, lambda k, v: mapper(v)), value_serde,
        )  # fmt: skip

    def to_stream(self, *, name: str | None = None) -> KStream:
        from kstreamy.dsl import KStream

        node = self.graph.add_processor(
            self.graph.name_or_new(name, "KTABLE-TOSTREAM-"), KTableToStream, self.name
        )
        return KStream(
            self.builder, node, self.key_serde, self.value_serde, False, self.source_topics
        )

    def suppress(self, suppressed: Any, *, name: str | None = None) -> KTable:
        """Suppressed.until_window_closes / until_time_limit (kstreamy.dsl_windowed)."""
        result: KTable = windowed_hook("suppress")(self, suppressed, name=name)
        return result

    def group_by(
        self,
        selector: Callable[[Any, Any], tuple[Any, Any] | None],
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KGroupedTable:
        if not callable(selector):
            raise TypeError("KTable.group_by selector must be callable")
        node = self.graph.add_processor(
            self.graph.name_or_new(name, "KTABLE-SELECT-"),
            lambda: agg.KTableRepartitionMap(selector),
            self.name,
        )
        self.enable_send_old_values()
        return KGroupedTable(self, node, key_serde, value_serde, name)

    def join(self, other: KTable, joiner: Callable[[Any, Any], Any], **kw: Any) -> KTable:
        return self._join(other, joiner, "inner", **kw)

    def left_join(self, other: KTable, joiner: Callable[[Any, Any], Any], **kw: Any) -> KTable:
        return self._join(other, joiner, "left", **kw)

    def outer_join(self, other: KTable, joiner: Callable[[Any, Any], Any], **kw: Any) -> KTable:
        return self._join(other, joiner, "outer", **kw)

    def _join(
        self,
        other: KTable,
        joiner: Callable[[Any, Any], Any],
        kind: str,
        *,
        foreign_key: Callable[[Any], Any] | None = None,
        store: str | None = None,
        value_serde: Serde | None = None,
        name: str | None = None,
    ) -> KTable:
        if not callable(joiner):
            raise TypeError("joiner must be callable")
        if not isinstance(other, KTable):
            raise TypeError(f"KTable joins need a KTable, got {other!r}")
        if foreign_key is not None:
            from kstreamy._internal.fk_join import foreign_key_join

            if kind == "outer":
                raise ValueError("foreign-key joins are inner or left, not outer")
            return foreign_key_join(
                self, other, joiner, foreign_key, kind, store, value_serde, name
            )
        graph = self.graph
        p_this, p_other = {
            "inner": ("KTABLE-JOINTHIS-", "KTABLE-JOINOTHER-"),
            "left": ("KTABLE-LEFTTHIS-", "KTABLE-LEFTOTHER-"),
            "outer": ("KTABLE-JOINTHIS-", "KTABLE-JOINOTHER-"),  # sic: Kafka's outer names
        }[kind]
        merge_name = graph.name_or_new(name, "KTABLE-MERGE-")
        this_name = graph.name_or_new(f"{name}-join-this" if name else None, p_this)
        other_name = graph.name_or_new(f"{name}-join-other" if name else None, p_other)
        flags = TableSupplierFlags(store)
        other_kind = {"inner": "inner", "left": "right", "outer": "outer"}[kind]

        def swapped(a: Any, b: Any) -> Any:
            return joiner(b, a)

        if kind in ("left", "outer"):
            # Kafka: left/outer joins need the old values of their sources to tell the delete of
            # an existing row from the delete of a key that never existed
            self.enable_send_old_values()
        if kind == "outer":
            other.enable_send_old_values()
        other_getter, other_stores = other.value_getter()
        this_getter, this_stores = self.value_getter()
        graph.add_processor(
            this_name, lambda: KTableKTableJoin(flags, other_getter, joiner, kind), self.name
        )
        graph.add_processor(
            other_name,
            lambda: KTableKTableJoin(flags, this_getter, swapped, other_kind),
            other.name,
        )
        for s in other_stores:
            graph.connect(this_name, s)
        for s in this_stores:
            graph.connect(other_name, s)
        graph.add_processor(merge_name, lambda: KTableMaterialize(flags), this_name, other_name)
        if store is not None:
            graph.add_store(table_store_builder(store, self.key_serde, value_serde), merge_name)
        graph.copartition_groups.append(set(self.source_topics | other.source_topics))
        template = KTableKTableJoin(flags, other_getter, joiner, kind)
        return KTable(
            self.builder, merge_name, self.key_serde, value_serde,
            self.source_topics | other.source_topics, flags, kind="join",
            parents=(self, other), derive=template.getter,
        )  # fmt: skip


class GlobalKTable:
    """A table fully replicated into every instance; joined by streams through a key_mapper."""

    def __init__(self, store_name: str, key_serde: Serde | None, value_serde: Serde | None):
        self.store_name = store_name
        self.key_serde = key_serde
        self.value_serde = value_serde

    def query_store_name(self) -> str:
        return self.store_name


def _long() -> Serde:
    from kstreamy.serdes import Long

    return Long()


class KGroupedStream:
    """A stream grouped by key, ready for count/reduce/aggregate (repartitioned if needed)."""

    def __init__(
        self,
        stream: KStream,
        key_serde: Serde | None,
        value_serde: Serde | None,
        name: str | None,
        repartition_required: bool,
    ) -> None:
        self.stream = stream
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.name = name
        self.repartition_required = repartition_required

    def _aggregate(
        self,
        store_prefix: str,
        func_prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        make: Callable[[TableSupplierFlags], Any],
        operator: str,
    ) -> KTable:
        graph = self.stream.graph
        store_name = graph.aggregate_store_name(operator, store, name, store_prefix)
        func = graph.name_or_new(name, func_prefix)
        parent = self.stream.name
        topics = self.stream.source_topics
        if self.repartition_required:
            parent, topic = repartition_through(
                self.stream, self.name or store_name, self.key_serde, self.value_serde, None
            )
            topics = frozenset([topic])
        flags = TableSupplierFlags(store_name)
        graph.add_processor(func, lambda: make(flags), parent)
        graph.add_store(table_store_builder(store_name, self.key_serde, value_serde), func)
        return KTable(
            self.stream.builder, func, self.key_serde, value_serde, topics, flags, kind="aggregate"
        )

    def count(self, store: str | None = None, *, name: str | None = None) -> KTable:
        return self._aggregate(
            "KSTREAM-AGGREGATE-", "KSTREAM-AGGREGATE-", store, name, _long(),
            agg.KStreamCount, "count",
        )  # fmt: skip

    def reduce(
        self,
        reducer: Callable[[Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        return self._aggregate(
            "KSTREAM-REDUCE-", "KSTREAM-REDUCE-", store, name, value_serde or self.value_serde,
            lambda f: agg.KStreamReduce(f, reducer), "reduce",
        )  # fmt: skip

    def aggregate(
        self,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        return self._aggregate(
            "KSTREAM-AGGREGATE-", "KSTREAM-AGGREGATE-", store, name, value_serde,
            lambda f: agg.KStreamAggregate(f, initializer, aggregator), "aggregate",
        )  # fmt: skip

    def windowed_by(self, windows: Any) -> Any:
        """TimeWindows / SlidingWindows / SessionWindows view (kstreamy.dsl_windowed)."""
        return windowed_hook("windowed_by")(self, windows)


class KGroupedTable:
    """A re-grouped table: aggregations apply the subtractor before the adder."""

    def __init__(
        self,
        table: KTable,
        select_node: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
        name: str | None,
    ) -> None:
        self.table = table
        self.select_node = select_node
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.name = name

    def _aggregate(
        self,
        store_prefix: str,
        func_prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        make: Callable[[TableSupplierFlags], Any],
        operator: str,
    ) -> KTable:
        graph = self.table.graph
        store_name = graph.aggregate_store_name(operator, store, name, store_prefix)
        topic = f"{self.name or store_name}-repartition"
        sink = graph.new_name("KSTREAM-SINK-")
        source = graph.new_name("KSTREAM-SOURCE-")
        func = graph.name_or_new(name, func_prefix)
        change_serde = ChangeSerde(self.value_serde)
        graph.add(
            GraphNode("sink", sink, [self.select_node], topic=topic, key_serde=self.key_serde,
                      value_serde=change_serde)
        )  # fmt: skip
        graph.add(
            GraphNode("source", source, [], topics=[topic], key_serde=self.key_serde,
                      value_serde=change_serde)
        )  # fmt: skip
        graph.repartition_topics[topic] = None
        flags = TableSupplierFlags(store_name)
        graph.add_processor(func, lambda: make(flags), source)
        graph.add_store(table_store_builder(store_name, self.key_serde, value_serde), func)
        return KTable(
            self.table.builder, func, self.key_serde, value_serde, frozenset([topic]), flags,
            kind="aggregate",
        )  # fmt: skip

    def count(self, store: str | None = None, *, name: str | None = None) -> KTable:
        return self._aggregate(
            "KTABLE-AGGREGATE-", "KTABLE-AGGREGATE-", store, name, _long(),
            lambda f: agg.KTableAggregate(
                f, lambda: 0, lambda k, v, a: a + 1, lambda k, v, a: a - 1
            ),
            "count",
        )  # fmt: skip

    def reduce(
        self,
        adder: Callable[[Any, Any], Any],
        subtractor: Callable[[Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        return self._aggregate(  # Kafka names the store like an aggregate's
            "KTABLE-AGGREGATE-", "KTABLE-REDUCE-", store, name, value_serde or self.value_serde,
            lambda f: agg.KTableReduce(f, adder, subtractor), "reduce",
        )  # fmt: skip

    def aggregate(
        self,
        initializer: Callable[[], Any],
        adder: Callable[[Any, Any, Any], Any],
        subtractor: Callable[[Any, Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        return self._aggregate(
            "KTABLE-AGGREGATE-", "KTABLE-AGGREGATE-", store, name, value_serde,
            lambda f: agg.KTableAggregate(f, initializer, adder, subtractor), "aggregate",
        )  # fmt: skip
