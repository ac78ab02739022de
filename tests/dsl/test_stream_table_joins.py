"""Stream-table and stream-GlobalKTable joins (rules from Kafka's KStreamKTableJoinTest,
KStreamKTableLeftJoinTest, KStreamGlobalKTableJoinTest and KStreamGlobalKTableLeftJoinTest)."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.errors import TopologyError
from kstreamy.serdes import Integer, String
from kstreamy.testing.driver import TopologyTestDriver

INT, S = Integer(), String()


def joiner(a: Any, b: Any) -> str:
    return f"{a}+{'null' if b is None else b}"


def stream_table(left: bool) -> TopologyTestDriver:
    b = StreamsBuilder()
    table = b.table("table", INT, S)
    stream = b.stream("stream", INT, S)
    (stream.left_join if left else stream.join)(table, joiner).to("out", INT, S)
    return TopologyTestDriver(b.build())


def records(d: TopologyTestDriver) -> list[tuple[Any, Any, int | None]]:
    return [
        (r.key, r.value, r.timestamp)
        for r in d.create_output_topic("out", INT, S).read_records_to_list()
    ]


@pytest.mark.parametrize("left", [False, True])
def test_stream_table_join_steps(left: bool) -> None:
    """Kafka rules: only the stream side triggers (table updates emit nothing); the result keeps
    the stream record's timestamp; inner joins need a table row, left joins use null."""
    with stream_table(left) as d:
        stream = d.create_input_topic("stream", INT, S)
        table = d.create_input_topic("table", INT, S)
        for k in (0, 1):
            stream.pipe_input(k, f"X{k}", k)
        assert records(d) == ([(0, "X0+null", 0), (1, "X1+null", 1)] if left else [])
        for k in (0, 1):
            table.pipe_input(k, f"Y{k}", 100 + k)
        assert records(d) == []  # the table side does not trigger
        for k in (0, 1, 2, 3):
            stream.pipe_input(k, f"XX{k}", 10 + k)
        expected = [(0, "XX0+Y0", 10), (1, "XX1+Y1", 11)]
        if left:
            expected += [(2, "XX2+null", 12), (3, "XX3+null", 13)]
        assert records(d) == expected
        table.pipe_input(0, None, 200)  # tombstone removes the row
        stream.pipe_input(0, "XXX0", 20)
        assert records(d) == ([(0, "XXX0+null", 20)] if left else [])


@pytest.mark.parametrize("left", [False, True])
def test_stream_table_join_null_key_and_value(left: bool) -> None:
    """KIP-962: a null stream key is dropped by the inner join but joined with null by the left
    join; a null stream value is dropped by both."""
    with stream_table(left) as d:
        stream = d.create_input_topic("stream", INT, S)
        d.create_input_topic("table", INT, S).pipe_input(1, "Y1", 0)
        stream.pipe_input(None, "NK", 5)
        stream.pipe_input(1, None, 6)
        assert records(d) == ([(None, "NK+null", 5)] if left else [])


def test_stream_table_join_repartitions_a_rekeyed_stream_and_copartitions() -> None:
    """Kafka rule: a key-changing operation before a join inserts a repartition topic, and the
    join's inputs are co-partitioned."""
    b = StreamsBuilder()
    table = b.table("table", S, S)
    b.stream("stream", S, S).select_key(lambda k, v: v).join(table, joiner, name="j").to("out")
    topo = b.build()
    assert "j-repartition" in topo.internal_topics
    assert topo.copartition_groups == [{"j-repartition", "table"}]
    with TopologyTestDriver(topo) as d:
        d.create_input_topic("table", S, S).pipe_input("a", "A", 0)
        d.create_input_topic("stream", S, S).pipe_input("x", "a", 1)
        assert d.create_output_topic("out", S, S).read_key_value() == ("a", "a+A")


def test_copartition_validation_names_the_topics() -> None:
    """Joining sources with different partition counts fails at start, naming the topics."""
    b = StreamsBuilder()
    b.stream("orders", S, S).join(b.table("customers", S, S), joiner).to("out")
    topo = b.build()
    topo.validate_copartitioning({"orders": 3, "customers": 3})
    with pytest.raises(TopologyError, match=r"customers.*orders"):
        topo.validate_copartitioning({"orders": 3, "customers": 4})


def global_join(left: bool, mapper: Any) -> TopologyTestDriver:
    b = StreamsBuilder()
    g = b.global_table("global", S, S)
    s = b.stream("stream", INT, S)
    (s.left_join if left else s.join)(g, joiner, key_mapper=mapper).to("out", INT, S)
    return TopologyTestDriver(b.build())


@pytest.mark.parametrize("left", [False, True])
def test_stream_global_table_join(left: bool) -> None:
    """Kafka's KStreamGlobalKTable(Left)JoinTest: the key_mapper picks the global key from the
    stream record; global-table deletes emit nothing; result timestamp = the stream's."""
    mapper = lambda k, v: v.split(",")[1] if "," in v else None  # noqa: E731
    with global_join(left, mapper) as d:
        g = d.create_input_topic("global", S, S)
        stream = d.create_input_topic("stream", INT, S)
        for k in range(4):
            g.pipe_input(f"FKey{k}", f"Y{k}", 0)
        assert records(d) == []
        for k in range(4):
            stream.pipe_input(k, f"X{k},FKey{k}", k)
        assert records(d) == [(k, f"X{k},FKey{k}+Y{k}", k) for k in range(4)]
        g.pipe_input("FKey0", None, 0)
        g.pipe_input("FKey1", None, 0)
        assert records(d) == []
        for k in range(4):
            stream.pipe_input(k, f"XX{k},FKey{k}", k)
        got = records(d)
        tail = [(2, "XX2,FKey2+Y2", 2), (3, "XX3,FKey3+Y3", 3)]
        head = [(0, "XX0,FKey0+null", 0), (1, "XX1,FKey1+null", 1)] if left else []
        assert got == head + tail
        # a key_mapper returning None: dropped by the inner join, joined with null by the left
        for k in range(2):
            stream.pipe_input(k, f"XXX{k}", k)
        assert records(d) == ([(0, "XXX0+null", 0), (1, "XXX1+null", 1)] if left else [])


def test_global_table_store_is_queryable() -> None:
    b = StreamsBuilder()
    g = b.global_table("products", S, S, store="products-store")
    b.stream("s", S, S).join(g, joiner).to("out")
    with TopologyTestDriver(b.build()) as d:
        d.create_input_topic("products", S, S).pipe_input("p1", "Phone", 0)
        assert d.get_key_value_store("products-store").get("p1") == "Phone"
        assert g.store_name == "products-store"


def test_join_with_a_filtered_unmaterialized_table_reads_through_its_parent() -> None:
    """A stream joined to `table.filter(...)` sees the filtered view (value getters compose)."""
    b = StreamsBuilder()
    table = b.table("table", INT, S).filter(lambda k, v: v != "hidden").map_values(str.upper)
    b.stream("stream", INT, S).left_join(table, joiner).to("out", INT, S)
    with TopologyTestDriver(b.build()) as d:
        t = d.create_input_topic("table", INT, S)
        t.pipe_input(1, "shown", 0)
        t.pipe_input(2, "hidden", 0)
        s = d.create_input_topic("stream", INT, S)
        s.pipe_input(1, "a", 1)
        s.pipe_input(2, "b", 2)
        assert records(d) == [(1, "a+SHOWN", 1), (2, "b+null", 2)]


def test_to_table_after_rekey_repartitions() -> None:
    b = StreamsBuilder()
    latest = (
        b.stream("stream", S, S)
        .select_key(lambda k, v: v[0])
        .to_table(store="latest", name="latest-table", key_serde=S, value_serde=S)
    )
    b.stream("lookups", S, S).join(latest, joiner).to("out", S, S)
    topo = b.build()
    assert "latest-table-repartition" in topo.internal_topics
    with TopologyTestDriver(topo) as d:
        d.create_input_topic("stream", S, S).pipe_input("x", "apple", 1)
        d.create_input_topic("lookups", S, S).pipe_input("a", "q", 2)
        assert d.create_output_topic("out", S, S).read_key_value() == ("a", "q+apple")
