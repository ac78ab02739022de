# ruff: noqa: E501
"""Topology.describe(): Kafka Streams' TopologyDescription text, and the describe command."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from kstreamy.describe import describe_dot, describe_mermaid, main
from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import String
from kstreamy.topology import Topology

S = String()

# Kafka Streams 3.x prints exactly this for the word-count topology below.
WORD_COUNT = """\
Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [words])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> KSTREAM-FILTER-0000000006
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FILTER-0000000006 (stores: [])
      --> KSTREAM-SINK-0000000005
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: KSTREAM-SINK-0000000005 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition)
      <-- KSTREAM-FILTER-0000000006

  Sub-topology: 1
    Source: KSTREAM-SOURCE-0000000007 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition])
      --> KSTREAM-AGGREGATE-0000000004
    Processor: KSTREAM-AGGREGATE-0000000004 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000003])
      --> KTABLE-TOSTREAM-0000000008
      <-- KSTREAM-SOURCE-0000000007
    Processor: KTABLE-TOSTREAM-0000000008 (stores: [])
      --> KSTREAM-SINK-0000000009
      <-- KSTREAM-AGGREGATE-0000000004
    Sink: KSTREAM-SINK-0000000009 (topic: counts)
      <-- KTABLE-TOSTREAM-0000000008

"""


def word_count() -> Topology:
    b = StreamsBuilder()
    b.stream("words").flat_map_values(str.split).group_by(lambda k, w: w).count().to_stream().to(
        "counts"
    )
    return b.build()


def test_word_count_description_matches_kafka_exactly() -> None:
    assert word_count().describe() == WORD_COUNT


def test_named_count_names_store_and_repartition_topic_from_the_name() -> None:
    b = StreamsBuilder()
    b.stream("words").group_by(lambda k, w: w).count(store="counts-store")
    text = b.build().describe()
    assert "Sink: counts-store-repartition-sink (topic: counts-store-repartition)" in text
    assert "Processor: counts-store-repartition-filter (stores: [])" in text
    assert "Source: counts-store-repartition-source (topics: [counts-store-repartition])" in text
    assert "(stores: [counts-store])" in text


def test_global_store_section_and_table_join_names() -> None:
    b = StreamsBuilder()
    g = b.global_table("products", S, S)
    b.stream("orders", S, S).join(g, lambda o, p: o).to("out")
    text = b.build().describe()
    assert text.startswith("Topologies:\n   Sub-topology: 0 for global store (will not generate")
    assert "Source: KSTREAM-SOURCE-0000000001 (topics: [products])" in text
    assert "Processor: KTABLE-SOURCE-0000000002 (stores: [products-STATE-STORE-0000000000])" in text
    assert "      --> none\n      <-- KSTREAM-SOURCE-0000000001" in text
    assert "  Sub-topology: 1\n    Source: KSTREAM-SOURCE-0000000003 (topics: [orders])" in text


def test_table_table_join_node_names_follow_kafka() -> None:
    b = StreamsBuilder()
    b.table("a", S, S).join(b.table("b", S, S), lambda x, y: x)
    text = b.build().describe()
    for name in (
        "KTABLE-MERGE-0000000006",
        "KTABLE-JOINTHIS-0000000007",
        "KTABLE-JOINOTHER-0000000008",
    ):
        assert name in text
    assert "(stores: [a-STATE-STORE-0000000000])" in text


def test_mermaid_and_dot_show_subtopologies_topics_and_stores() -> None:
    topo = word_count()
    mermaid = describe_mermaid(topo)
    assert mermaid.startswith("flowchart TD")
    assert 'subgraph sub_1["Sub-topology 1"]' in mermaid
    assert "t_words[/words/]" in mermaid
    assert "s_KSTREAM_AGGREGATE_STATE_STORE_0000000003[(KSTREAM-AGGREGATE-STATE-STORE" in mermaid
    dot = describe_dot(topo)
    assert dot.startswith("digraph topology {") and "cluster_0" in dot and "shape=cylinder" in dot


def test_describe_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wc_topo.py").write_text(
        textwrap.dedent("""
        from kstreamy.dsl import StreamsBuilder
        def build():
            b = StreamsBuilder()
            b.stream("words").flat_map_values(str.split).group_by(lambda k, w: w).count(
                ).to_stream().to("counts")
            return b.build()
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["wc_topo:build"]) == 0
    assert capsys.readouterr().out == WORD_COUNT
    assert main(["wc_topo:build", "--format", "mermaid"]) == 0
    assert "flowchart TD" in capsys.readouterr().out
    sys.modules.pop("wc_topo", None)
