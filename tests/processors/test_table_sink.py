"""A cached table followed only by `to_stream().to(topic)` flushes straight to its sink
(`kstreamy/processors/table_sink.py`): the records must be exactly those of the usual chain
(cache flush -> Change -> KTableToStream -> sink encoding), which Kafka Streams specifies: the
new value of each flushed update, with the update's timestamp (an aggregate: the max of its
inputs') and headers, a delete as a null value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kstreamy._internal.nodes import SinkProcessor
from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Json, Long, String
from kstreamy.testing import TopologyTestDriver

S = String()


class LikeJson(Json):
    """Json under another class: the same bytes, but not known to be (no shortcut)."""


class LikeString(String):
    """String under another class (see LikeJson)."""


Build = Callable[[Any, Any], StreamsBuilder]
Raw = tuple[bytes | None, bytes | None, int | None, list[tuple[str, bytes | None]]]


@pytest.fixture
def sink_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the topics records went through `SinkProcessor.process` to."""
    calls: list[str] = []
    original = SinkProcessor.process

    def counting(self: SinkProcessor, record: Any) -> None:
        calls.append(str(self._static_topic))
        original(self, record)

    monkeypatch.setattr(SinkProcessor, "process", counting)
    yield calls


def raw_outputs(builder: StreamsBuilder, feed: Callable[[Any], None], cache: int) -> list[Raw]:
    with TopologyTestDriver(builder.build(), {"statestore.cache.max.bytes": cache}) as d:
        feed(d)
        return [
            (r.key, r.value, r.timestamp, list(r.headers))
            for r in d.create_output_topic("out").read_records_to_list()
        ]


def cart_totals(key_serde: Any, value_serde: Any) -> StreamsBuilder:
    b = StreamsBuilder()
    b.stream("in", S, Json()).flat_map_values(lambda v: v).group_by_key(
        key_serde=S, value_serde=Json()
    ).aggregate(
        lambda: {"n": 0, "sum": 0},
        lambda _k, v, agg: {"n": agg["n"] + 1, "sum": agg["sum"] + v},
        store="totals",
        value_serde=Json(),
    ).to_stream().to("out", key_serde, value_serde)
    return b


def feed_carts(d: Any) -> None:
    inp = d.create_input_topic("in", S, Json())
    inp.pipe_input("a", [1, 2, 3], 100, [("h", b"1")])
    inp.pipe_input("b", [10], 300)
    inp.pipe_input("a", [4], 50, [("h", b"2"), ("x", None)])  # older: the aggregate keeps 100
    for i in range(12):  # several keys per piped record: the small cache evicts mid-record
        inp.pipe_input(f"k{i % 5}", [i, i + 1, i + 2], 400 + i)


@pytest.mark.parametrize("cache", [1 << 20, 120])
def test_aggregate_flushes_straight_to_the_sink_with_the_same_records(
    sink_calls: list[str], cache: int
) -> None:
    """Rule: to_stream() forwards each flushed update (new value, its timestamp, its headers).
    A sink encoding like the store takes the stored bytes; another serde class (same bytes)
    goes through the chain; both give identical records, also when the cache evicts (120)."""
    direct = raw_outputs(cart_totals(S, Json()), feed_carts, cache)
    assert sink_calls == []  # no record went through the sink's encoding
    chained = raw_outputs(cart_totals(LikeString(), LikeJson()), feed_carts, cache)
    assert len(sink_calls) == len(chained) > 0
    assert direct == chained
    assert direct[:3] == [
        (b"a", b'{"n":3,"sum":6}', 100, [("h", b"1")]),
        (b"b", b'{"n":1,"sum":10}', 300, []),
        (b"a", b'{"n":4,"sum":10}', 100, [("h", b"2"), ("x", None)]),
    ]


def table_copy(key_serde: Any, value_serde: Any) -> StreamsBuilder:
    b = StreamsBuilder()
    b.table("in", S, S, store="copy").to_stream().to("out", key_serde, value_serde)
    return b


def feed_table(d: Any) -> None:
    inp = d.create_input_topic("in", S, S)
    inp.pipe_input("a", "x", 10)
    inp.pipe_input("b", "y", 20, [("h", b"v")])
    inp.pipe_input("a", None, 30, [("h", b"del")])
    inp.pipe_input("c", None, 40)  # a delete of a key never stored: nothing to emit


def test_table_deletes_reach_the_sink_as_null_values(sink_calls: list[str]) -> None:
    """Rule: a KTable tombstone is forwarded by to_stream() as a null value with the
    tombstone's timestamp and headers; deleting an absent key emits nothing."""
    direct = raw_outputs(table_copy(S, S), feed_table, 1 << 20)
    assert sink_calls == []
    chained = raw_outputs(table_copy(LikeString(), LikeString()), feed_table, 1 << 20)
    assert sink_calls
    assert (
        direct
        == chained
        == [
            (b"a", b"x", 10, []),
            (b"b", b"y", 20, [("h", b"v")]),
            (b"a", None, 30, [("h", b"del")]),
        ]
    )


def counts_with(tail: Callable[[Any], None]) -> StreamsBuilder:
    b = StreamsBuilder()
    tail(b.stream("in", S, S).group_by_key().count(store="c").to_stream())
    return b


def feed_words(d: Any) -> None:
    inp = d.create_input_topic("in", S, S)
    for i, word in enumerate(["a", "b", "a", "c", "a"]):
        inp.pipe_input(word, "x", i)


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(lambda s: s.to("out", S, Long(), partitioner=lambda *a: 0), id="partitioner"),
        pytest.param(lambda s: s.to(lambda k, v, r: "out", S, Long()), id="topic-extractor"),
        pytest.param(
            lambda s: (s.to("out", S, Long()), s.foreach(lambda k, v: None)), id="two-children"
        ),
        pytest.param(lambda s: s.map_values(lambda v: v).to("out", S, Long()), id="map-values"),
    ],
)
def test_other_downstreams_go_through_the_chain(
    sink_calls: list[str], tail: Callable[[Any], None]
) -> None:
    """No shortcut unless the sink alone, with a static topic and the default partitioner,
    follows to_stream(): every record still reaches the sink, with the right values."""
    out = raw_outputs(counts_with(tail), feed_words, 1 << 20)
    assert len(sink_calls) == len(out) == 5
    assert [(k, Long().deserialize("out", v), ts) for k, v, ts, _ in out] == [
        (b"a", 1, 0),
        (b"b", 1, 1),
        (b"a", 2, 2),
        (b"c", 1, 3),
        (b"a", 3, 4),
    ]
