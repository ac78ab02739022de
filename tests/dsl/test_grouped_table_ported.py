"""KGroupedTable aggregations: expected outputs ported (as data) from Kafka Streams'
KTableAggregateTest (testAggRepartition, testCount, testRemoveOldBeforeAddNew)."""

from __future__ import annotations

from typing import Any

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Long, String
from kstreamy.testing.driver import TopologyTestDriver

S = String()
NO_CACHE = {"statestore.cache.max.bytes": 0}


def run(build: Any, inputs: list[tuple[str, Any, int]], vs: Any = S) -> list[tuple[Any, ...]]:
    b = StreamsBuilder()
    build(b.table("input", S, S)).to_stream().to("out", S, vs)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        topic = d.create_input_topic("input", S, S)
        for key, value, ts in inputs:
            topic.pipe_input(key, value, ts)
        out = d.create_output_topic("out", S, vs).read_records_to_list()
        return [(r.key, r.value, r.timestamp) for r in out]


def test_agg_repartition() -> None:
    """Rules: a selector returning None or a None key skips the record; the subtractor runs on
    the old group before the adder on the new one; aggregate timestamp = max of its inputs."""

    def selector(key: str, value: str) -> tuple[Any, Any] | None:
        if key == "null":
            return (None, value)
        if key == "NULL":
            return None
        return (value, value)

    def build(t: Any) -> Any:
        return t.group_by(selector, key_serde=S, value_serde=S).aggregate(
            lambda: "0", lambda k, v, a: f"{a}+{v}", lambda k, v, a: f"{a}-{v}",
            store="topic1-Canonized", value_serde=S,
        )  # fmt: skip

    inputs = [("A", "1", 10), ("A", None, 15), ("A", "1", 12), ("B", "2", 20), ("null", "3", 25),
              ("B", "4", 23), ("NULL", "5", 24), ("B", "7", 22)]  # fmt: skip
    assert run(build, inputs) == [
        ("1", "0+1", 10), ("1", "0+1-1", 15), ("1", "0+1-1+1", 15), ("2", "0+2", 20),
        ("2", "0+2-2", 23), ("4", "0+4", 23), ("4", "0+4-4", 23), ("7", "0+7", 22),
    ]  # fmt: skip


def test_count() -> None:
    """KTableAggregateTest.testCount: group by value and count."""

    def build(t: Any) -> Any:
        return t.group_by(lambda k, v: (v, v), key_serde=S, value_serde=S).count(store="count")

    inputs = [("A", "green", 10), ("B", "green", 9), ("A", "blue", 12), ("C", "yellow", 15),
              ("D", "green", 11)]  # fmt: skip
    assert run(build, inputs, Long()) == [
        ("green", 1, 10), ("green", 2, 10), ("green", 1, 12), ("blue", 1, 12),
        ("yellow", 1, 15), ("green", 2, 12),
    ]  # fmt: skip


def test_remove_old_before_add_new() -> None:
    """KTableAggregateTest.testRemoveOldBeforeAddNew, under KIP-904 (Kafka >= 3.5): the last
    update keeps its group key, so subtract-then-add travels as one record and yields one output
    ("1", "2") where older Kafka printed ("1", "") and then ("1", "2")."""

    def build(t: Any) -> Any:
        return t.group_by(lambda k, v: (k[0], k[1]), key_serde=S, value_serde=S).aggregate(
            lambda: "", lambda k, v, a: a + v, lambda k, v, a: a.replace(v, ""),
            store="someStore", value_serde=S,
        )  # fmt: skip

    inputs = [("11", "A", 10), ("12", "B", 8), ("11", None, 12), ("12", "C", 6)]
    assert run(build, inputs) == [("1", "1", 10), ("1", "12", 10), ("1", "2", 12), ("1", "2", 12)]
