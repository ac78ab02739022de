"""Stateless KStream operators through the TopologyTestDriver."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Integer, String
from kstreamy.testing.driver import TestRecord, TopologyTestDriver

S = String()


def run(
    build: Any, inputs: list[tuple[Any, Any]], outputs: list[str], **kw: Any
) -> dict[str, list]:
    b = StreamsBuilder()
    build(b)
    with TopologyTestDriver(b.build(), kw.get("config")) as d:
        inp = d.create_input_topic("in", S, S, start_timestamp=100, auto_advance_ms=1)
        for k, v in inputs:
            inp.pipe_input(k, v)
        return {t: d.create_output_topic(t, S, S).read_key_values_to_list() for t in outputs}


def test_filter_and_filter_not() -> None:
    def build(b: StreamsBuilder) -> None:
        s = b.stream("in", S, S)
        s.filter(lambda k, v: v.startswith("a")).to("yes")
        s.filter_not(lambda k, v: v.startswith("a")).to("no")

    out = run(build, [("1", "apple"), ("2", "banana"), ("3", "avocado")], ["yes", "no"])
    assert out["yes"] == [("1", "apple"), ("3", "avocado")]
    assert out["no"] == [("2", "banana")]


def test_map_map_values_select_key() -> None:
    def build(b: StreamsBuilder) -> None:
        s = b.stream("in", S, S)
        s.map(lambda k, v: (v, k)).to("swapped")
        s.map_values(str.upper).to("upper")
        s.select_key(lambda k, v: v[0]).to("keyed")

    out = run(build, [("k", "xy")], ["swapped", "upper", "keyed"])
    assert out == {"swapped": [("xy", "k")], "upper": [("k", "XY")], "keyed": [("x", "xy")]}


def test_flat_map_and_flat_map_values_keep_order() -> None:
    def build(b: StreamsBuilder) -> None:
        s = b.stream("in", S, S)
        s.flat_map(lambda k, v: [(c, k) for c in v]).to("fm")
        s.flat_map_values(lambda v: v.split(",")).to("fmv")

    out = run(build, [("k", "ab"), ("j", "x,y,z")], ["fm", "fmv"])
    assert out["fm"] == [
        ("a", "k"),
        ("b", "k"),
        ("x", "j"),
        (",", "j"),
        ("y", "j"),
        (",", "j"),
        ("z", "j"),
    ]
    assert out["fmv"] == [("k", "ab"), ("j", "x"), ("j", "y"), ("j", "z")]


def test_peek_and_foreach_see_every_record() -> None:
    seen: list[tuple[str, str]] = []
    each: list[tuple[str, str]] = []

    def build(b: StreamsBuilder) -> None:
        s = b.stream("in", S, S).peek(lambda k, v: seen.append((k, v)))
        s.foreach(lambda k, v: each.append((k, v)))
        s.to("out")

    out = run(build, [("a", "1"), ("b", "2")], ["out"])
    assert seen == each == out["out"] == [("a", "1"), ("b", "2")]


def test_merge_interleaves_in_arrival_order() -> None:
    b = StreamsBuilder()
    b.stream("a", S, S).merge(b.stream("b", S, S)).to("out")
    with TopologyTestDriver(b.build()) as d:
        ta, tb = d.create_input_topic("a", S, S), d.create_input_topic("b", S, S)
        ta.pipe_input("1", "a1")
        tb.pipe_input("2", "b1")
        ta.pipe_input("3", "a2")
        assert d.create_output_topic("out", S, S).read_values_to_list() == ["a1", "b1", "a2"]


def test_split_first_matching_branch_wins_and_dict_keys_are_prefix_plus_name() -> None:
    """Kafka's split()/Branched: a record goes to the first branch whose predicate matches;
    the result map is keyed by the split name + the branch name."""
    b = StreamsBuilder()
    branches = (
        b.stream("in", S, S)
        .split(name="s-")
        .branch(lambda k, v: int(v) < 10, name="small")
        .branch(lambda k, v: int(v) < 100, name="medium")
        .default_branch(name="large")
    )
    assert sorted(branches) == ["s-large", "s-medium", "s-small"]
    for key, stream in branches.items():
        stream.to(key)
    with TopologyTestDriver(b.build()) as d:
        inp = d.create_input_topic("in", S, S)
        for v in ["5", "50", "500", "7"]:
            inp.pipe_input("k", v)
        assert d.create_output_topic("s-small", S, S).read_values_to_list() == ["5", "7"]
        assert d.create_output_topic("s-medium", S, S).read_values_to_list() == ["50"]
        assert d.create_output_topic("s-large", S, S).read_values_to_list() == ["500"]


def test_split_without_names_numbers_branches() -> None:
    b = StreamsBuilder()
    branches = b.stream("in", S, S).split(name="x").branch(lambda k, v: True).default_branch()
    assert sorted(branches) == ["x1", "x2"]


def test_to_keeps_timestamp_and_headers() -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).map_values(lambda v: v + "!").to("out")
    with TopologyTestDriver(b.build()) as d:
        d.create_input_topic("in", S, S).pipe_input(TestRecord("k", "v", 42, (("h", b"1"),)))
        rec = d.create_output_topic("out", S, S).read_record()
        assert rec == TestRecord("k", "v!", 42, (("h", b"1"),))


def test_to_with_topic_extractor() -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).to(lambda k, v, rec: f"out-{k}")
    with TopologyTestDriver(b.build()) as d:
        d.create_input_topic("in", S, S).pipe_input("a", "1")
        assert d.create_output_topic("out-a", S, S).read_value() == "1"


def test_repartition_round_trips_in_the_driver() -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).select_key(lambda k, v: v).repartition(name="by-value").to("out")
    topo = b.build()
    assert "by-value-repartition" in topo.internal_topics
    with TopologyTestDriver(topo, {"application.id": "app"}) as d:
        d.create_input_topic("in", S, S).pipe_input("k", "v")
        assert d.create_output_topic("out", S, S).read_key_value() == ("v", "v")
        # internal topics are not user output
        assert "app-by-value-repartition" not in d.produced_topic_names()


def test_through_a_user_topic_that_is_also_consumed_loops_back() -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).to("mid")
    b.stream("mid", S, S).map_values(lambda v: v * 2).to("out")
    with TopologyTestDriver(b.build()) as d:
        d.create_input_topic("in", S, S).pipe_input("k", "ab")
        assert d.create_output_topic("out", S, S).read_value() == "abab"
        assert d.create_output_topic("mid", S, S).read_value() == "ab"


def test_integer_keys_roundtrip() -> None:
    b = StreamsBuilder()
    b.stream("in", Integer(), S).map(lambda k, v: (k * 2, v)).to("out", Integer(), S)
    with TopologyTestDriver(b.build()) as d:
        d.create_input_topic("in", Integer(), S).pipe_input(21, "x")
        assert d.create_output_topic("out", Integer(), S).read_key_value() == (42, "x")


def test_validation_errors() -> None:
    b = StreamsBuilder()
    s = b.stream("in", S, S)
    with pytest.raises(TypeError):
        s.filter("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        b.stream([])
    with pytest.raises(ValueError, match="key_mapper"):
        s.join(b.stream("other"), lambda a, c: a, key_mapper=lambda k, v: k)
    with pytest.raises(TypeError, match="KTable, GlobalKTable or KStream"):
        s.join("not a table", lambda a, c: a)
