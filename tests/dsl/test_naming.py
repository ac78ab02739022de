"""Stable names: name= on every operator, stores and internal topics named from it (KIP-1111)."""

from __future__ import annotations

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import String

S = String()


def test_names_are_used_for_nodes_stores_and_internal_topics() -> None:
    b = StreamsBuilder()
    (
        b.stream("in", S, S, name="source")
        .filter(lambda k, v: True, name="keep")
        .select_key(lambda k, v: v, name="rekey")
        .group_by_key(S, S, name="by-value")
        .count(name="counter")
        .to_stream(name="changes")
        .to("out", name="sink")
    )
    topo = b.build()
    assert {"source", "keep", "rekey", "counter", "changes", "sink"} <= set(topo.nodes)
    assert "counter" in topo.store_builders
    assert topo.internal_topics == {"by-value-repartition"}
    assert topo.warnings == []


def test_generated_store_and_topic_names_warn() -> None:
    """KIP-1111: state stores and internal topics with generated names are reported at build."""
    b = StreamsBuilder()
    b.table("a", S, S).join(b.table("b", S, S), lambda x, y: x, name="ab")
    warnings = b.build().warnings
    assert any("a-STATE-STORE-0000000000" in w for w in warnings)
    assert any("b-STATE-STORE-0000000003" in w for w in warnings)
    b2 = StreamsBuilder()
    b2.table("a", S, S, store="a-store").join(
        b2.table("b", S, S, store="b-store"), lambda x, y: x, name="ab"
    )
    assert b2.build().warnings == []
