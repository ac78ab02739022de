"""The DSL: StreamsBuilder and KStream (KTable, GlobalKTable and the grouped fronts live in
`kstreamy._internal.tables` and are re-exported here).

Every method follows one recipe: check the arguments, choose a name (`name=` or Kafka's generated
`KSTREAM-FILTER-0000000001`), record one processor node in the graph, return a new front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kstreamy._internal.graph import Graph, GraphNode
from kstreamy._internal.tables import (
    GlobalKTable,
    KGroupedStream,
    KGroupedTable,
    KTable,
    repartition_through,
    table_store_builder,
    windowed_hook,
)
from kstreamy.processor import Processor
from kstreamy.processors import stateless as sl
from kstreamy.processors.joins import KStreamTableJoin
from kstreamy.processors.table import KTableSource, TableSupplierFlags, store_getter
from kstreamy.serdes import Serde
from kstreamy.state.api import StoreBuilder
from kstreamy.topology import TimestampExtractor, Topology

__all__ = [
    "BranchedKStream",
    "GlobalKTable",
    "KGroupedStream",
    "KGroupedTable",
    "KStream",
    "KTable",
    "StreamsBuilder",
]


def _check_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, got {type(fn).__name__}")


class StreamsBuilder:
    """Entry point of the DSL: create streams and tables, then `build()` a Topology."""

    def __init__(self) -> None:
        self.graph = Graph()
        self._built: Topology | None = None

    def stream(
        self,
        topics: str | Sequence[str],
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> KStream:
        topic_list = [topics] if isinstance(topics, str) else list(topics)
        if not topic_list or not all(isinstance(t, str) and t for t in topic_list):
            raise ValueError(f"stream() needs topic names, got {topics!r}")
        node_name = self.graph.name_or_new(name, "KSTREAM-SOURCE-")
        self.graph.add(
            GraphNode("source", node_name, [], topics=topic_list, key_serde=key_serde,
                      value_serde=value_serde)
        )  # fmt: skip
        if timestamp_extractor is not None:
            self.graph.nodes[-1].extractor = timestamp_extractor
        return KStream(self, node_name, key_serde, value_serde, False, frozenset(topic_list))

    def table(
        self,
        topic: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        store: str | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        graph = self.graph
        store_name = store or graph.new_store_name(f"{topic}-")
        # Kafka's names for table(name=X): source X, table source X-table-source
        source = graph.add(
            GraphNode("source", graph.name_or_new(name, "KSTREAM-SOURCE-"), [], topics=[topic],
                      key_serde=key_serde, value_serde=value_serde)
        )  # fmt: skip
        flags = TableSupplierFlags(store_name if store else None)
        node = graph.add_processor(
            graph.name_or_new(f"{name}-table-source" if name else None, "KTABLE-SOURCE-"),
            lambda: KTableSource(flags, topic),
            source,
        )
        table = KTable(self, node, key_serde, value_serde, frozenset([topic]), flags, kind="source")
        table.source_store = store_name
        graph.add_lazy_store(
            store_name,
            lambda: (
                table_store_builder(store_name, key_serde, value_serde) if flags.store else None
            ),
        )
        graph.connect(node, store_name)
        return table

    def global_table(
        self,
        topic: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        store: str | None = None,
        *,
        name: str | None = None,
    ) -> GlobalKTable:
        from kstreamy._internal.graph import GlobalStoreSpec

        graph = self.graph
        store_name = store or graph.new_store_name(f"{topic}-")
        # Kafka's names for global_table(name=X): source X-source, processor X
        source = graph.name_or_new(f"{name}-source" if name else None, "KSTREAM-SOURCE-")
        processor = graph.name_or_new(name, "KTABLE-SOURCE-")
        graph._claim(processor)
        graph.add(GraphNode("global", source, []))  # keeps its place in the node order
        flags = TableSupplierFlags(store_name)
        graph.dsl_stores.add(store_name)
        builder = table_store_builder(store_name, key_serde, value_serde).with_logging_disabled()
        graph.global_stores.append(
            GlobalStoreSpec(
                builder, source, topic, processor, lambda: KTableSource(flags, topic),
                key_serde, value_serde,
            )
        )  # fmt: skip
        return GlobalKTable(store_name, key_serde, value_serde)

    def add_state_store(self, builder: StoreBuilder) -> StreamsBuilder:
        """Add a store for Processor API nodes (connect it with `process(..., stores=[name])`)."""
        self.graph.add_store(builder)
        return self

    def build(self) -> Topology:
        return self.graph.build()


class KStream:
    """A record stream; see API.md for the operators."""

    def __init__(
        self,
        builder: StreamsBuilder,
        name: str,
        key_serde: Serde | None,
        value_serde: Serde | None,
        repartition_required: bool,
        source_topics: frozenset[str],
    ) -> None:
        self.builder = builder
        self.graph = builder.graph
        self.name = name
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.repartition_required = repartition_required
        self.source_topics = source_topics

    def _chain(
        self,
        prefix: str,
        name: str | None,
        factory: Callable[[], Processor[Any, Any, Any, Any]],
        *,
        key_changed: bool = False,
        value_changed: bool = False,
        burn_index: bool = True,
    ) -> KStream:
        graph = self.graph
        node_name = graph.name_or_new(name, prefix) if burn_index or not name else name
        node = graph.add_processor(node_name, factory, self.name)
        return KStream(
            self.builder,
            node,
            None if key_changed else self.key_serde,
            None if value_changed else self.value_serde,
            self.repartition_required or key_changed,
            self.source_topics,
        )

    # -- stateless --------------------------------------------------------------------------------
    def filter(self, predicate: Callable[[Any, Any], bool], *, name: str | None = None) -> KStream:
        _check_callable(predicate, "filter predicate")
        return self._chain("KSTREAM-FILTER-", name, lambda: sl.Filter(predicate))

    def filter_not(
        self, predicate: Callable[[Any, Any], bool], *, name: str | None = None
    ) -> KStream:
        _check_callable(predicate, "filter_not predicate")
        return self._chain("KSTREAM-FILTER-", name, lambda: sl.Filter(predicate, negate=True))

    def map(
        self, mapper: Callable[[Any, Any], tuple[Any, Any]], *, name: str | None = None
    ) -> KStream:
        _check_callable(mapper, "map mapper")
        return self._chain(
            "KSTREAM-MAP-", name, lambda: sl.Map(mapper), key_changed=True, value_changed=True
        )

    def map_values(self, mapper: Callable[[Any], Any], *, name: str | None = None) -> KStream:
        _check_callable(mapper, "map_values mapper")
        return self._chain(
            "KSTREAM-MAPVALUES-", name, lambda: sl.MapValues(mapper), value_changed=True
        )

    def map_values_with_key(
        self, mapper: Callable[[Any, Any], Any], *, name: str | None = None
    ) -> KStream:
        _check_callable(mapper, "map_values_with_key mapper")
        return self._chain(
            "KSTREAM-MAPVALUES-", name, lambda: sl.MapValuesWithKey(mapper), value_changed=True
        )

    def flat_map(
        self, mapper: Callable[[Any, Any], Iterable[tuple[Any, Any]]], *, name: str | None = None
    ) -> KStream:
        _check_callable(mapper, "flat_map mapper")
        return self._chain(
            "KSTREAM-FLATMAP-", name, lambda: sl.FlatMap(mapper), key_changed=True,
            value_changed=True,
        )  # fmt: skip

    def flat_map_values(
        self, mapper: Callable[[Any], Iterable[Any]], *, name: str | None = None
    ) -> KStream:
        _check_callable(mapper, "flat_map_values mapper")
        return self._chain(
            "KSTREAM-FLATMAPVALUES-", name, lambda: sl.FlatMapValues(mapper), value_changed=True
        )

    def select_key(
        self, selector: Callable[[Any, Any], Any], *, name: str | None = None
    ) -> KStream:
        _check_callable(selector, "select_key selector")
        return self._chain(
            "KSTREAM-KEY-SELECT-", name, lambda: sl.SelectKey(selector), key_changed=True
        )

    def peek(self, action: Callable[[Any, Any], Any], *, name: str | None = None) -> KStream:
        _check_callable(action, "peek action")
        return self._chain("KSTREAM-PEEK-", name, lambda: sl.Peek(action))

    def foreach(self, action: Callable[[Any, Any], Any], *, name: str | None = None) -> None:
        _check_callable(action, "foreach action")
        self._chain("KSTREAM-FOREACH-", name, lambda: sl.Peek(action, forward=False))

    def merge(self, other: KStream, *, name: str | None = None) -> KStream:
        if not isinstance(other, KStream) or other.builder is not self.builder:
            raise TypeError("merge() needs a KStream of the same StreamsBuilder")
        node = self.graph.add_processor(
            self.graph.name_or_new(name, "KSTREAM-MERGE-"), sl.PassThrough, self.name, other.name
        )
        same_k = self.key_serde if self.key_serde is other.key_serde else None
        same_v = self.value_serde if self.value_serde is other.value_serde else None
        return KStream(
            self.builder, node, same_k, same_v,
            self.repartition_required or other.repartition_required,
            self.source_topics | other.source_topics,
        )  # fmt: skip

    def split(self, name: str = "") -> BranchedKStream:
        return BranchedKStream(self, name)

    def process(
        self,
        processor_factory: Callable[[], Processor[Any, Any, Any, Any]],
        stores: Sequence[str] = (),
        *,
        name: str | None = None,
    ) -> KStream:
        """Run a Processor API processor; `stores` are names added with add_state_store."""
        _check_callable(processor_factory, "process() processor_factory")
        out = self._chain(
            "KSTREAM-PROCESSOR-", name, processor_factory, key_changed=True, value_changed=True,
            burn_index=False,  # Kafka's process(..., Named) uses the name without an index
        )  # fmt: skip
        for store in stores:
            if store not in self.graph.stores:
                raise_store(store)
            self.graph.connect(out.name, store)
        return out

    # -- sinks and re-partitioning -------------------------------------------------------------
    def to(
        self,
        topic: str | Callable[[Any, Any, Any], str],
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
        partitioner: Any = None,
    ) -> None:
        if not (callable(topic) or (isinstance(topic, str) and topic)):
            raise ValueError(f"to() needs a topic name or a topic extractor, got {topic!r}")
        self.graph.add(
            GraphNode("sink", self.graph.name_or_new(name, "KSTREAM-SINK-"), [self.name],
                      topic=topic, key_serde=key_serde or self.key_serde,
                      value_serde=value_serde or self.value_serde, partitioner=partitioner)
        )  # fmt: skip

    def repartition(
        self,
        name: str | None = None,
        num_partitions: int | None = None,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
    ) -> KStream:
        if num_partitions is not None and num_partitions < 1:
            raise ValueError(f"repartition(num_partitions={num_partitions}) must be >= 1")
        prefix = name or self.graph.new_name("KSTREAM-REPARTITION-")
        ks, vs = key_serde or self.key_serde, value_serde or self.value_serde
        source, topic = repartition_through(self, prefix, ks, vs, num_partitions)
        return KStream(self.builder, source, ks, vs, False, frozenset([topic]))

    def _repartitioned_for(self, prefix: str) -> KStream:
        if not self.repartition_required:
            return self
        source, topic = repartition_through(self, prefix, self.key_serde, self.value_serde, None)
        return KStream(
            self.builder, source, self.key_serde, self.value_serde, False, frozenset([topic])
        )

    def to_table(
        self,
        store: str | None = None,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        graph = self.graph
        node_name = graph.name_or_new(name, "KSTREAM-TOTABLE-")
        store_name = store or graph.new_store_name("KSTREAM-TOTABLE-")
        ks, vs = key_serde or self.key_serde, value_serde or self.value_serde
        upstream = self._repartitioned_for(node_name)
        flags = TableSupplierFlags(store_name if store else None)
        graph.add_processor(node_name, lambda: KTableSource(flags), upstream.name)
        table = KTable(
            self.builder, node_name, ks, vs, upstream.source_topics, flags, kind="source"
        )
        table.source_store = store_name
        graph.add_lazy_store(
            store_name, lambda: table_store_builder(store_name, ks, vs) if flags.store else None
        )
        graph.connect(node_name, store_name)
        return table

    # -- grouping ------------------------------------------------------------------------------
    def group_by_key(
        self,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KGroupedStream:
        return KGroupedStream(
            self, key_serde or self.key_serde, value_serde or self.value_serde, name,
            self.repartition_required,
        )  # fmt: skip

    def group_by(
        self,
        selector: Callable[[Any, Any], Any],
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KGroupedStream:
        _check_callable(selector, "group_by selector")
        keyed = self._chain("KSTREAM-KEY-SELECT-", None, lambda: sl.SelectKey(selector))
        return KGroupedStream(keyed, key_serde, value_serde or self.value_serde, name, True)

    # -- joins ---------------------------------------------------------------------------------
    def join(self, other: Any, joiner: Callable[[Any, Any], Any], **kwargs: Any) -> KStream:
        return self._join(other, joiner, left=False, **kwargs)

    def left_join(self, other: Any, joiner: Callable[[Any, Any], Any], **kwargs: Any) -> KStream:
        return self._join(other, joiner, left=True, **kwargs)

    def outer_join(self, other: Any, joiner: Callable[[Any, Any], Any], **kwargs: Any) -> KStream:
        """Stream-stream outer join (windows=JoinWindows...), in kstreamy.dsl_windowed."""
        if not isinstance(other, KStream):
            raise TypeError("KStream.outer_join needs a KStream (and windows=JoinWindows...)")
        result: KStream = windowed_hook("stream_stream_join")(
            self, other, joiner, kind="outer", **kwargs
        )
        return result

    def _join(
        self,
        other: Any,
        joiner: Callable[[Any, Any], Any],
        *,
        left: bool,
        key_mapper: Callable[[Any, Any], Any] | None = None,
        windows: Any = None,
        name: str | None = None,
    ) -> KStream:
        _check_callable(joiner, "joiner")
        prefix = "KSTREAM-LEFTJOIN-" if left else "KSTREAM-JOIN-"
        if isinstance(other, KStream):
            if key_mapper is not None:
                raise ValueError("key_mapper= only applies to joins with a GlobalKTable")
            result: KStream = windowed_hook("stream_stream_join")(
                self, other, joiner, windows=windows, kind="left" if left else "inner", name=name
            )
            return result
        if windows is not None:
            raise ValueError("windows= only applies to stream-stream joins")
        if isinstance(other, GlobalKTable):
            mapper = key_mapper if key_mapper is not None else (lambda k, v: k)
            _check_callable(mapper, "key_mapper")
            store = other.store_name
            node = self.graph.name_or_new(name, prefix)
            self.graph.add_processor(
                node,
                lambda: KStreamTableJoin(
                    lambda ctx: store_getter(ctx, store), joiner, left, mapper
                ),
                self.name,
            )
            return KStream(
                self.builder, node, self.key_serde, None, self.repartition_required,
                self.source_topics,
            )  # fmt: skip
        if not isinstance(other, KTable):
            raise TypeError(f"join() needs a KTable, GlobalKTable or KStream, got {other!r}")
        if key_mapper is not None:
            raise ValueError("key_mapper= only applies to joins with a GlobalKTable")
        stream = self._repartitioned_for(name or self.name)
        node = self.graph.name_or_new(name, prefix)  # after the repartition nodes, as Kafka
        getter, stores = other.value_getter()
        self.graph.add_processor(node, lambda: KStreamTableJoin(getter, joiner, left), stream.name)
        for s in stores:
            self.graph.connect(node, s)
        self.graph.copartition_groups.append(set(stream.source_topics | other.source_topics))
        return KStream(self.builder, node, self.key_serde, None, False, stream.source_topics)


def raise_store(store: str) -> None:
    from kstreamy.errors import TopologyError

    raise TopologyError(
        f"Store {store} is not added; call StreamsBuilder.add_state_store(...) before process()"
    )


class BranchedKStream:
    """What `split()` returns: `branch(pred, name=)` ... `default_branch(name=)` -> dict."""

    def __init__(self, stream: KStream, name: str) -> None:
        self.stream = stream
        self.graph = stream.graph
        self.splitter = stream.graph.name_or_new(name, "KSTREAM-BRANCH-")
        self.prefix = name if name else self.splitter
        self.predicates: list[Callable[[Any, Any], bool]] = []
        self.children: list[str] = []
        self.default: str | None = None
        self.result: dict[str, KStream] = {}
        predicates, children = self.predicates, self.children

        def make() -> sl.Branch:
            return sl.Branch(list(predicates), list(children), self.default)

        self.graph.add_processor(self.splitter, make, stream.name)

    def _child(self, name: str | None) -> str:
        child = self.prefix + (
            name if name else str(len(self.children) + 1 + (self.default is not None))
        )
        self.graph.new_name("KSTREAM-BRANCHCHILD-")  # Kafka burns an index per branch
        self.graph.add_processor(child, sl.PassThrough, self.splitter)
        s = self.stream
        self.result[child] = KStream(
            s.builder, child, s.key_serde, s.value_serde, s.repartition_required, s.source_topics
        )
        return child

    def branch(
        self, predicate: Callable[[Any, Any], bool], name: str | None = None
    ) -> BranchedKStream:
        if self.default is not None:
            raise ValueError("branch() after default_branch(): the default must come last")
        _check_callable(predicate, "branch predicate")
        child = self._child(name)
        self.predicates.append(predicate)
        self.children.append(child)
        return self

    def default_branch(self, name: str | None = None) -> dict[str, KStream]:
        self.default = self._child(name)
        return self.result

    def no_default_branch(self) -> dict[str, KStream]:
        return self.result
