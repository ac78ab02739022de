"""The DSL's graph: named nodes recorded in order, compiled into a Topology in one pass.

DSL methods only record nodes here; decisions that downstream operators take later (materializing
a source table, sending old values) live in per-node flag objects that the processors read when
tasks create them, after `build()`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kstreamy.serdes import Serde
from kstreamy.state.api import StoreBuilder
from kstreamy.topology import ProcessorFactory, Topology

log = logging.getLogger("kstreamy.dsl")


@dataclass
class GraphNode:
    kind: str  # "source" | "processor" | "sink" | "global" (a global store, by source name)
    name: str
    parents: list[str]
    factory: ProcessorFactory | None = None
    topics: list[str] = field(default_factory=list)
    topic: Any = None
    key_serde: Serde | None = None
    value_serde: Serde | None = None
    partitioner: Any = None
    extractor: Any = None


@dataclass
class GlobalStoreSpec:
    builder: StoreBuilder
    source: str
    topic: str
    processor: str
    factory: ProcessorFactory
    key_serde: Serde | None
    value_serde: Serde | None


class Graph:
    """Node names (Kafka's `PREFIX-0000000042` scheme), nodes, stores and internal topics."""

    def __init__(self) -> None:
        self.index = 0
        self.nodes: list[GraphNode] = []
        self.names: set[str] = set()
        self.stores: dict[str, StoreBuilder] = {}
        self.lazy_stores: list[tuple[str, Callable[[], StoreBuilder | None]]] = []
        self.connections: list[tuple[str, str]] = []
        self.global_stores: list[GlobalStoreSpec] = []
        self.repartition_topics: dict[str, int | None] = {}
        self.copartition_groups: list[set[str]] = []
        self.generated_state: list[str] = []
        self.dsl_stores: set[str] = set()

    def new_name(self, prefix: str) -> str:
        name = f"{prefix}{self.index:010d}"
        self.index += 1
        return name

    def new_store_name(self, prefix: str) -> str:
        return self.new_name(f"{prefix}STATE-STORE-")

    def name_or_new(self, name: str | None, prefix: str) -> str:
        """`name`, or a generated one; like Kafka, a given name still burns an index, so that
        naming one operator does not renumber the others."""
        generated = self.new_name(prefix)
        return name if name else generated

    def _claim(self, name: str) -> None:
        if name in self.names:
            raise_topology(f"Processor name {name} is used twice; names must be unique")
        self.names.add(name)

    def add(self, node: GraphNode) -> str:
        self._claim(node.name)
        self.nodes.append(node)
        return node.name

    def add_processor(self, name: str, factory: ProcessorFactory, *parents: str) -> str:
        return self.add(GraphNode("processor", name, list(parents), factory))

    def add_store(self, builder: StoreBuilder, *processors: str) -> None:
        if builder.name in self.stores and self.stores[builder.name] is not builder:
            raise_topology(f"Store {builder.name} is added twice; store names must be unique")
        self.stores[builder.name] = builder
        if processors:
            self.dsl_stores.add(builder.name)
        for p in processors:
            self.connect(p, builder.name)

    def add_lazy_store(self, name: str, make: Callable[[], StoreBuilder | None]) -> None:
        """A store whose existence is decided at build time (e.g. a source table's store)."""
        self.lazy_stores.append((name, make))
        self.dsl_stores.add(name)

    def connect(self, processor: str, store: str) -> None:
        if (processor, store) not in self.connections:
            self.connections.append((processor, store))

    def warn_generated(self, operator: str, store: str) -> None:
        self.generated_state.append(f"{operator} uses the generated name {store}")

    def aggregate_store_name(
        self, operator: str, store: str | None, name: str | None, prefix: str
    ) -> str:
        """An aggregation's store: `store=`, else `name=`, else generated (and warned about at
        build time, KIP-1111)."""
        store_name = store or name or self.new_store_name(prefix)
        if store is None and name is None:
            self.warn_generated(operator, store_name)
        return store_name

    def _generated_name_messages(self, stores: dict[str, StoreBuilder]) -> list[str]:
        """Stateful operators, stores and internal topics that rely on generated names."""
        messages = list(self.generated_state)
        generated = re.compile(r".*-[0-9]{10}(-|$)")
        used = {store for _, store in self.connections if store in stores}
        used.update(spec.builder.name for spec in self.global_stores)
        for name in sorted(used):
            if generated.match(name) and not any(name in m for m in messages):
                messages.append(f"state store {name} has a generated name")
        for topic in sorted(self.repartition_topics):
            covered = any(topic.startswith(m.split()[-1]) for m in messages)
            if generated.match(topic) and not covered:
                messages.append(f"internal topic {topic} has a generated name")
        return messages

    def build(self) -> Topology:
        topo = Topology()
        globals_by_source = {spec.source: spec for spec in self.global_stores}
        for node in self.nodes:
            if node.kind == "global":
                spec = globals_by_source[node.name]
                topo.add_global_store(
                    spec.builder, spec.source, spec.topic, spec.processor, spec.factory,
                    spec.key_serde, spec.value_serde,
                )  # fmt: skip
            elif node.kind == "source":
                topo.add_source(
                    node.name,
                    *node.topics,
                    key_serde=node.key_serde,
                    value_serde=node.value_serde,
                    timestamp_extractor=node.extractor,
                )
            elif node.kind == "sink":
                topo.add_sink(
                    node.name, node.topic, *node.parents, key_serde=node.key_serde,
                    value_serde=node.value_serde, partitioner=node.partitioner,
                )  # fmt: skip
            else:
                assert node.factory is not None
                topo.add_processor(node.name, node.factory, *node.parents)
        stores = dict(self.stores)
        for name, make in self.lazy_stores:
            built = make()
            if built is not None:
                stores[name] = built
        for name, builder in stores.items():
            topo.store_builders[name] = builder
        topo.auto_serde_stores = {n for n in self.dsl_stores if n in topo.store_builders}
        for processor, store in self.connections:
            if store in stores:
                topo.connect_processor_and_state_stores(processor, store)
        for topic, partitions in self.repartition_topics.items():
            topo.add_repartition_topic(topic, partitions)
        for group in self.copartition_groups:
            topo.add_copartition_group(group)
        for message in self._generated_name_messages(stores):
            text = (
                f"{message}: editing the topology can change this name and silently orphan its "
                "state and internal topics; name the operator (name= / store=) (KIP-1111)"
            )
            topo.warnings.append(text)
            log.warning("%s", text)
        return topo


def raise_topology(message: str) -> None:
    from kstreamy.errors import TopologyError

    raise TopologyError(message)
