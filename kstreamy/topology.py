"""Topology: source, processor and sink nodes, their stores and internal topics, in sub-topologies.

Built by hand (Kafka's low-level `Topology` API: `add_source`, `add_processor`, `add_sink`,
`add_state_store`, `add_global_store`) or compiled by `StreamsBuilder.build()`. A sub-topology is a
connected component of nodes (joined by parent/child edges and shared stores); tasks run one
sub-topology on one partition. `describe()` prints Kafka Streams' TopologyDescription text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kstreamy.errors import TopologyError
from kstreamy.processor import Processor
from kstreamy.serdes import Serde
from kstreamy.state.api import StoreBuilder

ProcessorFactory = Callable[[], Processor[Any, Any, Any, Any]]
Partitioner = Callable[[str, bytes | None, bytes | None, int], int | None]
"""(topic, key bytes, value bytes, partition count) -> partition, or None for the default."""
TimestampExtractor = Callable[[Any, Any, int, int], int]
"""(key, value, record timestamp, partition time) -> timestamp to use."""


@dataclass
class SourceNode:
    name: str
    topics: list[str]
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    timestamp_extractor: TimestampExtractor | None = None
    parents: list[str] = field(default_factory=list)


@dataclass
class ProcessorNode:
    name: str
    factory: ProcessorFactory
    parents: list[str]
    stores: list[str] = field(default_factory=list)


@dataclass
class SinkNode:
    name: str
    topic: str | Callable[[Any, Any, Any], str]
    parents: list[str]
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    partitioner: Partitioner | None = None


Node = SourceNode | ProcessorNode | SinkNode


@dataclass
class SubTopology:
    """One connected component; `nodes` in the order they were added (parents before children)."""

    id: int
    nodes: list[str]
    source_topics: list[str]
    sink_topics: list[str]
    stores: list[str]
    is_global: bool = False


@dataclass
class GlobalStore:
    store: str
    source: str
    processor: str
    topic: str


class Topology:
    """The processing graph; see the module docstring."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.children: dict[str, list[str]] = {}
        self.store_builders: dict[str, StoreBuilder] = {}
        self.global_stores: dict[str, GlobalStore] = {}
        self.repartition_topics: dict[str, int | None] = {}
        """Internal topics (undecorated name -> partition count or None: as the source topics)."""
        self.internal_topics: set[str] = set()
        self.copartition_groups: list[set[str]] = []
        self.auto_serde_stores: set[str] = set()
        """DSL stores whose missing serdes fall back to type-preserving msgpack (no default)."""
        self.warnings: list[str] = []
        self._subtopologies: list[SubTopology] | None = None

    # -- building ---------------------------------------------------------------------------------
    def _add_node(self, node: Node) -> None:
        if node.name in self.nodes:
            raise TopologyError(f"Processor {node.name} is already added; names must be unique")
        for parent in node.parents:
            if parent not in self.nodes:
                raise TopologyError(f"Parent node {parent} of {node.name} is not added yet")
            if isinstance(self.nodes[parent], SinkNode):
                raise TopologyError(f"Sink {parent} cannot be the parent of {node.name}")
            self.children[parent].append(node.name)
        self.nodes[node.name] = node
        self.children[node.name] = []
        self._subtopologies = None

    def add_source(
        self,
        name: str,
        *topics: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> Topology:
        if not topics:
            raise TopologyError(f"Source {name} needs at least one topic")
        for other in self.nodes.values():
            if isinstance(other, SourceNode):
                clash = set(other.topics) & set(topics)
                if clash:
                    raise TopologyError(
                        f"Topic {sorted(clash)[0]} is already consumed by source {other.name}"
                    )
        self._add_node(SourceNode(name, list(topics), key_serde, value_serde, timestamp_extractor))
        return self

    def add_processor(self, name: str, factory: ProcessorFactory, *parent_names: str) -> Topology:
        if not parent_names:
            raise TopologyError(f"Processor {name} needs at least one parent")
        self._add_node(ProcessorNode(name, factory, list(parent_names)))
        return self

    def add_sink(
        self,
        name: str,
        topic: str | Callable[[Any, Any, Any], str],
        *parent_names: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        partitioner: Partitioner | None = None,
    ) -> Topology:
        if not parent_names:
            raise TopologyError(f"Sink {name} needs at least one parent")
        self._add_node(
            SinkNode(name, topic, list(parent_names), key_serde, value_serde, partitioner)
        )
        return self

    def add_state_store(self, builder: StoreBuilder, *processor_names: str) -> Topology:
        if builder.name in self.store_builders:
            if self.store_builders[builder.name] is not builder:
                raise TopologyError(f"A different store named {builder.name} is already added")
        else:
            self.store_builders[builder.name] = builder
        self.connect_processor_and_state_stores_many(processor_names, builder.name)
        return self

    def connect_processor_and_state_stores(self, processor_name: str, *store_names: str) -> None:
        self.connect_processor_and_state_stores_many([processor_name], *store_names)

    def connect_processor_and_state_stores_many(
        self, processor_names: Iterable[str], *store_names: str
    ) -> None:
        for pname in processor_names:
            node = self.nodes.get(pname)
            if not isinstance(node, ProcessorNode):
                raise TopologyError(f"Processor {pname} is not added yet (connecting stores)")
            for store in store_names:
                if store in self.global_stores:
                    raise TopologyError(
                        f"Global store {store} is readable by every processor; do not connect it"
                    )
                if store not in self.store_builders:
                    raise TopologyError(f"Store {store} is not added yet (connecting to {pname})")
                if store not in node.stores:
                    node.stores.append(store)
        self._subtopologies = None

    def add_global_store(
        self,
        builder: StoreBuilder,
        source_name: str,
        topic: str,
        processor_name: str,
        factory: ProcessorFactory,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
    ) -> Topology:
        """A store filled from `topic` by `factory`'s processor, in every instance (no tasks)."""
        self.add_source(source_name, topic, key_serde=key_serde, value_serde=value_serde)
        self._add_node(ProcessorNode(processor_name, factory, [source_name], [builder.name]))
        self.store_builders[builder.name] = builder
        self.global_stores[builder.name] = GlobalStore(
            builder.name, source_name, processor_name, topic
        )
        return self

    def add_repartition_topic(self, name: str, num_partitions: int | None) -> None:
        self.repartition_topics[name] = num_partitions
        self.internal_topics.add(name)

    def add_copartition_group(self, topics: Iterable[str]) -> None:
        self.copartition_groups.append(set(topics))

    # -- queries ----------------------------------------------------------------------------------
    def decorate(self, topic: str, application_id: str) -> str:
        """The real name of `topic`: internal topics get the `<application.id>-` prefix."""
        return f"{application_id}-{topic}" if topic in self.internal_topics else topic

    def subtopologies(self) -> list[SubTopology]:
        """All sub-topologies (global ones too, flagged), numbered as Kafka numbers them."""
        if self._subtopologies is None:
            self._subtopologies = self._group()
        return self._subtopologies

    def task_subtopologies(self) -> list[SubTopology]:
        return [s for s in self.subtopologies() if not s.is_global]

    def global_subtopology(self) -> SubTopology | None:
        """The global store nodes merged into one (the global thread runs them together)."""
        globals_ = [s for s in self.subtopologies() if s.is_global]
        if not globals_:
            return None
        return SubTopology(
            -1,
            [n for s in globals_ for n in s.nodes],
            [t for s in globals_ for t in s.source_topics],
            [],
            [st for s in globals_ for st in s.stores],
            True,
        )

    def source_topics(self) -> set[str]:
        return {t for s in self.task_subtopologies() for t in s.source_topics}

    def changelog_stores(self) -> list[str]:
        """Non-global stores with logging enabled (their changelog is `<app>-<store>-changelog`)."""
        return [
            n
            for n, b in self.store_builders.items()
            if n not in self.global_stores and b.logging_enabled
        ]

    def _group(self) -> list[SubTopology]:
        parent: dict[str, str] = {n: n for n in self.nodes}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def unite(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb

        store_owner: dict[str, str] = {}
        for node in self.nodes.values():
            for p in node.parents:
                unite(node.name, p)
            if isinstance(node, ProcessorNode):
                for store in node.stores:
                    if store in store_owner:
                        unite(node.name, store_owner[store])
                    else:
                        store_owner[store] = node.name
        # numbered in the order nodes were added (the DSL adds them as operators are called,
        # global tables included), as Kafka numbers its node groups
        order: list[str] = []
        for name in self.nodes:
            root = find(name)
            if root not in order:
                order.append(root)
        global_nodes = {n for g in self.global_stores.values() for n in (g.source, g.processor)}
        result = []
        for gid, root in enumerate(order):
            members = [n for n in self.nodes if find(n) == root]
            src_topics: list[str] = []
            sink_topics: list[str] = []
            stores: list[str] = []
            for n in members:
                node = self.nodes[n]
                if isinstance(node, SourceNode):
                    src_topics.extend(node.topics)
                elif isinstance(node, SinkNode):
                    if isinstance(node.topic, str):
                        sink_topics.append(node.topic)
                else:
                    stores.extend(s for s in node.stores if s not in stores)
            is_global = members[0] in global_nodes
            result.append(SubTopology(gid, members, src_topics, sink_topics, stores, is_global))
        return result

    def validate_copartitioning(
        self, partition_counts: Mapping[str, int], application_id: str | None = None
    ) -> None:
        """Fail when topics that must be co-partitioned (join inputs) have different partition
        counts. `partition_counts` maps topic names (internal ones decorated with
        `application_id` when given) to counts; topics missing from it are skipped (e.g.
        repartition topics the runtime sizes from their sources)."""
        for group in self.copartition_groups:
            names = {t: self.decorate(t, application_id) if application_id else t for t in group}
            counts = {
                t: partition_counts[names[t]] for t in sorted(group) if names[t] in partition_counts
            }
            if len(set(counts.values())) > 1:
                detail = ", ".join(f"{t} ({c} partitions)" for t, c in counts.items())
                raise TopologyError(
                    "Topics not co-partitioned: "
                    f"{detail}; a join needs the same partition count on every input — "
                    "repartition one side (KStream.repartition(num_partitions=...)) or recreate "
                    "the topic"
                )

    # -- description ------------------------------------------------------------------------------
    def describe(self) -> str:
        from kstreamy.describe import describe_text

        return describe_text(self)

    def __str__(self) -> str:
        return self.describe()
