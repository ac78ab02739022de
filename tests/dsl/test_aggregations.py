"""Stream aggregations (count/reduce/aggregate) and table re-grouping (KGroupedTable)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Integer, Json, Long, String
from kstreamy.testing.driver import TopologyTestDriver

INT, S, L = Integer(), String(), Long()
NO_CACHE = {"statestore.cache.max.bytes": 0}


def out_records(d: TopologyTestDriver, vs: Any = L, ks: Any = S) -> list[tuple[Any, Any, Any]]:
    return [
        (r.key, r.value, r.timestamp)
        for r in d.create_output_topic("out", ks, vs).read_records_to_list()
    ]


def test_count_skips_null_keys_and_values_and_takes_max_timestamp() -> None:
    """Kafka rules: stream aggregations drop records with a null key or a null value; the
    aggregate's timestamp is the max of the input's and the previous aggregate's."""
    b = StreamsBuilder()
    b.stream("in", S, S).group_by_key().count(store="counts").to_stream().to("out", S, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "x", 10)
        inp.pipe_input(None, "x", 11)
        inp.pipe_input("a", None, 12)
        inp.pipe_input("a", "y", 5)
        inp.pipe_input("b", "z", 7)
        assert out_records(d) == [("a", 1, 10), ("a", 2, 10), ("b", 1, 7)]
        assert d.get_key_value_store("counts").get("a") == 2


def test_reduce_and_aggregate() -> None:
    b = StreamsBuilder()
    grouped = b.stream("in", S, INT).group_by_key()
    grouped.reduce(lambda agg, v: agg + v, store="sum", value_serde=INT).to_stream().to(
        "sum", S, INT
    )
    grouped.aggregate(
        list, lambda k, v, agg: [*agg, v], store="all", value_serde=Json()
    ).to_stream().to("all", S, Json())
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, INT)
        inp.pipe_key_value_list([("a", 1), ("b", 10), ("a", 2)])
        assert d.create_output_topic("sum", S, INT).read_key_values_to_list() == [
            ("a", 1),
            ("b", 10),
            ("a", 3),
        ]
        assert d.create_output_topic("all", S, Json()).read_key_values_to_list() == [
            ("a", [1]),
            ("b", [10]),
            ("a", [1, 2]),
        ]


def test_group_by_repartitions_and_none_key_is_dropped() -> None:
    """Kafka rule: group_by always repartitions; the repartition's null-key filter drops records
    whose selected key is None."""
    b = StreamsBuilder()
    b.stream("in", S, S).group_by(lambda k, v: v or None, key_serde=S).count(
        name="by-value"
    ).to_stream().to("out", S, L)
    topo = b.build()
    assert "by-value-repartition" in topo.internal_topics
    with TopologyTestDriver(topo, NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("1", "red", 1)
        inp.pipe_input("2", "", 2)
        inp.pipe_input("3", "red", 3)
        assert out_records(d) == [("red", 1, 1), ("red", 2, 3)]


def test_cache_dedups_within_one_piped_record() -> None:
    """statestore.cache.max.bytes > 0: updates of one key while processing one piped record are
    forwarded once, at commit; with 0 every update is forwarded."""

    def build() -> Any:
        b = StreamsBuilder()
        b.stream("in", S, S).flat_map_values(lambda v: v.split()).map(
            lambda k, w: (w, w)
        ).group_by_key(key_serde=S).count(store="c").to_stream().to("out", S, L)
        return b.build()

    with TopologyTestDriver(build(), NO_CACHE) as d:
        d.create_input_topic("in", S, S).pipe_input("k", "a a a")
        assert [v for _, v, _ in out_records(d)] == [1, 2, 3]
    b = StreamsBuilder()
    b.stream("in", S, S).flat_map_values(lambda v: v.split()).group_by_key().count(
        store="c"
    ).to_stream().to("out", S, L)
    with TopologyTestDriver(b.build(), {"statestore.cache.max.bytes": 1 << 20}) as d:
        d.create_input_topic("in", S, S).pipe_input("k", "a a a")
        assert out_records(d) == [("k", 3, d.wall_clock_ms)]


def test_generated_store_name_logs_kip_1111_warning(caplog: pytest.LogCaptureFixture) -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).group_by_key().count()
    with caplog.at_level(logging.WARNING):
        topo = b.build()
    assert any("KSTREAM-AGGREGATE-STATE-STORE-0000000001" in w for w in topo.warnings)
    assert "KIP-1111" in caplog.text
    b2 = StreamsBuilder()
    b2.stream("in", S, S).group_by_key().count(store="named")
    assert b2.build().warnings == []


# KGroupedTable: group a table of user -> region and count users per region.
def region_counts(config: dict[str, Any]) -> tuple[TopologyTestDriver, Any]:
    b = StreamsBuilder()
    b.table("users", S, S).group_by(
        lambda user, region: (region, user), key_serde=S, value_serde=S
    ).count(store="per-region").to_stream().to("out", S, L)
    d = TopologyTestDriver(b.build(), config)
    return d, d.create_input_topic("users", S, S)


@pytest.mark.parametrize("cache", [0, 1 << 20])
def test_grouped_table_count_subtracts_before_adding(cache: int) -> None:
    """Kafka rule: KGroupedTable applies the subtractor (old value, old group) before the adder
    (new value, new group); a tombstone only subtracts; counts stay at 0 rather than vanish.
    With caching the outputs are the same: the driver commits after every piped record."""
    d, users = region_counts({"statestore.cache.max.bytes": cache})
    with d:
        users.pipe_input("alice", "eu", 1)
        users.pipe_input("bob", "eu", 2)
        users.pipe_input("alice", "us", 3)
        users.pipe_input("bob", None, 4)
        assert out_records(d) == [
            ("eu", 1, 1),
            ("eu", 2, 2),
            ("eu", 1, 3),
            ("us", 1, 3),
            ("eu", 0, 4),
        ]
        assert d.get_key_value_store("per-region").get("us") == 1


def test_grouped_table_same_key_update_is_one_output() -> None:
    """KIP-904: when the group key does not change, the subtract and add travel as one record
    and produce one output."""
    d, users = region_counts(NO_CACHE)
    with d:
        users.pipe_input("alice", "eu", 1)
        users.pipe_input("alice", "eu", 2)
        assert out_records(d) == [("eu", 1, 1), ("eu", 1, 2)]


def test_grouped_table_selector_returning_none_skips() -> None:
    """A group_by selector returning None, or a pair whose key is None, skips the record."""
    b = StreamsBuilder()
    b.table("t", S, S).group_by(
        lambda k, v: None if v == "skip" else ((None, v) if v == "nokey" else (v, v)),
        key_serde=S,
        value_serde=S,
    ).count(store="c").to_stream().to("out", S, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        t = d.create_input_topic("t", S, S)
        t.pipe_input("1", "skip", 1)
        t.pipe_input("2", "nokey", 2)
        t.pipe_input("3", "x", 3)
        assert out_records(d) == [("x", 1, 3)]


def test_grouped_table_reduce_and_aggregate() -> None:
    """KTableReduce/KTableAggregate: adder and subtractor keep a sum per group."""
    b = StreamsBuilder()
    grouped = b.table("t", S, INT).group_by(lambda k, v: (k[0], v), key_serde=S, value_serde=INT)
    grouped.reduce(lambda a, v: a + v, lambda a, v: a - v, store="r").to_stream().to(
        "reduce", S, INT
    )
    grouped.aggregate(
        lambda: 0, lambda k, v, a: a + v, lambda k, v, a: a - v, store="a", value_serde=INT
    ).to_stream().to("agg", S, INT)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        t = d.create_input_topic("t", S, INT)
        t.pipe_input("x1", 5, 1)
        t.pipe_input("x2", 7, 2)
        t.pipe_input("x1", 1, 3)
        expected = [("x", 5), ("x", 12), ("x", 8)]
        assert d.create_output_topic("reduce", S, INT).read_key_values_to_list() == expected
        assert d.create_output_topic("agg", S, INT).read_key_values_to_list() == expected


def test_table_filter_map_values_and_to_stream() -> None:
    """KTable filter: a record that fails the predicate becomes a tombstone downstream."""
    b = StreamsBuilder()
    b.table("t", S, INT).filter(lambda k, v: v > 1).map_values(lambda v: v * 10).to_stream().to(
        "out", S, INT
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        t = d.create_input_topic("t", S, INT)
        t.pipe_input("a", 5, 1)
        t.pipe_input("a", 1, 2)
        t.pipe_input("b", 2, 3)
        assert d.create_output_topic("out", S, INT).read_key_values_to_list() == [
            ("a", 50),
            ("a", None),
            ("b", 20),
        ]


def test_materialized_filter_and_to_table() -> None:
    b = StreamsBuilder()
    b.table("t", S, INT).filter(lambda k, v: v > 1, store="big")
    b.stream("s", S, INT).to_table(store="latest")
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        t = d.create_input_topic("t", S, INT)
        t.pipe_input("a", 5, 1)
        t.pipe_input("b", 1, 1)
        assert dict(d.get_key_value_store("big").all()) == {"a": 5}
        s = d.create_input_topic("s", S, INT)
        s.pipe_input("k", 1, 1)
        s.pipe_input("k", 2, 2)
        assert d.get_key_value_store("latest").get("k") == 2
        s.pipe_input("k", None, 3)
        assert d.get_key_value_store("latest").get("k") is None
