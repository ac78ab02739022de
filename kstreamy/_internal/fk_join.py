"""KTable.join/left_join with `foreign_key=`: wires the processors of kstreamy.processors.fk_join
through a subscription-registration topic and a subscription-response topic."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kstreamy._internal.graph import GraphNode
from kstreamy.processors import fk_join as fk
from kstreamy.processors.table import KTableMaterialize, TableSupplierFlags
from kstreamy.serdes import Serde

if TYPE_CHECKING:
    from kstreamy._internal.tables import KTable


def foreign_key_join(
    this: KTable,
    other: KTable,
    joiner: Callable[[Any, Any], Any],
    foreign_key: Callable[[Any], Any],
    kind: str,
    store: str | None,
    value_serde: Serde | None,
    name: str | None,
) -> KTable:
    from kstreamy._internal.tables import KTable, table_store_builder
    from kstreamy.runtime.task import PYTHON_OBJECTS
    from kstreamy.state.stores import Stores

    if not callable(foreign_key):
        raise TypeError("foreign_key must be callable: fn(left_value) -> right table key")
    graph = this.graph

    def named(suffix: str, prefix: str) -> str:
        """Kafka's names: `<name><suffix>` when named, else `<prefix><index>` (index burnt)."""
        return graph.name_or_new(f"{name}{suffix}" if name else None, prefix)

    fk_prefix = "KTABLE-FK-JOIN-"
    # Kafka's order of names, which numbers the generated ones
    registration = named("-subscription-registration", f"{fk_prefix}SUBSCRIPTION-REGISTRATION-")
    registration += "-topic"
    this.enable_send_old_values()  # the old foreign key is needed to unsubscribe
    this_getter, this_stores = this.value_getter()
    other_getter, other_stores = other.value_getter()
    send = named("-subscription-registration-processor", f"{fk_prefix}SUBSCRIPTION-REGISTRATION-")
    graph.add_processor(send, lambda: fk.SubscriptionSend(foreign_key, kind == "left"), this.name)
    reg_sink = named("-subscription-registration-sink", "KTABLE-SINK-")
    graph.add(
        GraphNode(
            "sink",
            reg_sink,
            [send],
            topic=registration,
            key_serde=other.key_serde,
            value_serde=PYTHON_OBJECTS,
        )
    )
    reg_source = named("-subscription-registration-source", "KTABLE-SOURCE-")
    graph.add(
        GraphNode(
            "source",
            reg_source,
            [],
            topics=[registration],
            key_serde=other.key_serde,
            value_serde=PYTHON_OBJECTS,
        )
    )
    sub_store = named("-subscription-store", f"{fk_prefix}SUBSCRIPTION-STATE-STORE-")
    receive = named("-subscription-receive", f"{fk_prefix}SUBSCRIPTION-PROCESSOR-")
    graph.add_processor(receive, lambda: fk.SubscriptionReceive(sub_store), reg_source)
    answer = named("-subscription-join-foreign", f"{fk_prefix}SUBSCRIPTION-PROCESSOR-")
    graph.add_processor(answer, lambda: fk.SubscriptionJoin(other_getter), receive)
    for s in other_stores:
        graph.connect(answer, s)
    update = named("-foreign-join-subscription", f"{fk_prefix}SUBSCRIPTION-PROCESSOR-")
    graph.add_processor(update, lambda: fk.ForeignTableUpdate(sub_store), other.name)
    graph.add_store(Stores.key_value(sub_store, other.key_serde, PYTHON_OBJECTS), receive, update)
    response = named("-subscription-response", f"{fk_prefix}SUBSCRIPTION-RESPONSE-") + "-topic"
    graph.add(
        GraphNode(
            "sink",
            named("-subscription-response-sink", "KTABLE-SINK-"),
            [answer, update],
            topic=response,
            key_serde=this.key_serde,
            value_serde=PYTHON_OBJECTS,
        )
    )
    resp_source = named("-subscription-response-source", "KTABLE-SOURCE-")
    graph.add(
        GraphNode(
            "source",
            resp_source,
            [],
            topics=[response],
            key_serde=this.key_serde,
            value_serde=PYTHON_OBJECTS,
        )
    )
    join = named(
        "-subscription-response-resolver", f"{fk_prefix}SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-"
    )
    graph.add_processor(
        join, lambda: fk.ResponseJoin(this_getter, joiner, kind == "left"), resp_source
    )
    for s in this_stores:
        graph.connect(join, s)
    flags = TableSupplierFlags(store)
    result = named("-result", f"{fk_prefix}OUTPUT-")
    if store is None:
        graph.new_store_name(f"{fk_prefix}OUTPUT-")  # Kafka burns an index for the result store
    graph.add_processor(result, lambda: KTableMaterialize(flags), join)
    if store is not None:
        graph.add_store(table_store_builder(store, this.key_serde, value_serde), result)
    graph.repartition_topics[registration] = None
    graph.repartition_topics[response] = None
    graph.copartition_groups.append({registration, *other.source_topics})
    graph.copartition_groups.append({response, *this.source_topics})
    return KTable(
        this.builder,
        result,
        this.key_serde,
        value_serde,
        this.source_topics,
        flags,
        kind="fk_join",
    )
