"""TopologyTestDriver: topics, timestamps, punctuation, stores, Processor API, error handlers."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.errors import DeserializationError, ProcessingError, SerializationError
from kstreamy.processor import Processor, ProcessorContext, PunctuationType, Record
from kstreamy.serdes import Integer, Long, String
from kstreamy.state.stores import Stores
from kstreamy.testing.driver import NoSuchElementError, TestRecord, TopologyTestDriver
from kstreamy.topology import Topology

S, INT, L = String(), Integer(), Long()


def passthrough() -> Topology:
    b = StreamsBuilder()
    b.stream("in", S, S).to("out", S, S)
    return b.build()


def test_input_topic_timestamps_auto_advance() -> None:
    with TopologyTestDriver(passthrough(), initial_wall_clock_ms=1000) as d:
        inp = d.create_input_topic("in", S, S, start_timestamp=50, auto_advance_ms=10)
        inp.pipe_input("a", "1")
        inp.pipe_input("b", "2")
        inp.pipe_input("c", "3", timestamp=5)
        inp.pipe_value_list(["4"])
        out = d.create_output_topic("out", S, S)
        assert out.queue_size() == 4
        recs = out.read_records_to_list()
        assert [r.timestamp for r in recs] == [50, 60, 5, 70]
        assert recs[3] == TestRecord(None, "4", 70)
        assert out.is_empty()
        with pytest.raises(NoSuchElementError):
            out.read_value()
        default = d.create_input_topic("in", S, S)
        default.pipe_input("x", "y")
        assert out.read_record().timestamp == 1000


def test_read_key_values_to_map_keeps_tombstones() -> None:
    with TopologyTestDriver(passthrough()) as d:
        d.create_input_topic("in", S, S).pipe_key_value_list([("a", "1"), ("b", "2"), ("a", None)])
        assert d.create_output_topic("out", S, S).read_key_values_to_map() == {"a": None, "b": "2"}


def test_unknown_topic_is_rejected() -> None:
    with TopologyTestDriver(passthrough()) as d, pytest.raises(ValueError, match="Unknown topic"):
        d.create_input_topic("nope", S, S)


class Dedup(Processor[str, str, str, str]):
    """Processor API: a store, stream-time and wall-clock punctuation."""

    punctuations: list[tuple[str, int]] = []

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.store = context.get_state_store("seen")
        context.schedule(10, PunctuationType.STREAM_TIME, self.on_stream_time)
        context.schedule(1000, PunctuationType.WALL_CLOCK_TIME, self.on_wall)

    def on_stream_time(self, ts: int) -> None:
        Dedup.punctuations.append(("stream", ts))

    def on_wall(self, ts: int) -> None:
        Dedup.punctuations.append(("wall", ts))
        self.context.forward(Record("tick", str(ts), ts))

    def process(self, record: Record[str, str]) -> None:
        if self.store.get(record.key) is None:
            self.store.put(record.key, record.value)
            self.context.forward(record)


def dedup_topology() -> Topology:
    b = StreamsBuilder()
    b.add_state_store(Stores.key_value("seen", S, S))
    b.stream("in", S, S).process(Dedup, stores=["seen"]).to("out", S, S)
    return b.build()


def test_process_with_store_and_punctuation() -> None:
    Dedup.punctuations = []
    with TopologyTestDriver(dedup_topology(), initial_wall_clock_ms=0) as d:
        inp = d.create_input_topic("in", S, S)
        out = d.create_output_topic("out", S, S)
        inp.pipe_input("a", "1", 3)
        inp.pipe_input("a", "2", 12)
        inp.pipe_input("b", "3", 25)
        assert out.read_key_values_to_list() == [("a", "1"), ("b", "3")]
        # stream time punctuation aligned to 0: fires at 3 (first), then when >= 10, >= 20
        assert Dedup.punctuations == [("stream", 3), ("stream", 12), ("stream", 25)]
        d.advance_wall_clock_time(999)
        assert out.is_empty()
        d.advance_wall_clock_time(1)
        assert out.read_key_value() == ("tick", "1000")
        assert d.get_key_value_store("seen").get("a") == "1"


def test_process_needs_store_added_first() -> None:
    b = StreamsBuilder()
    with pytest.raises(Exception, match="not added"):
        b.stream("in").process(Dedup, stores=["missing"])


def test_unconnected_store_access_names_processor_and_store() -> None:
    class Bad(Processor[Any, Any, Any, Any]):
        def init(self, context: ProcessorContext) -> None:
            context.get_state_store("seen")

    b = StreamsBuilder()
    b.add_state_store(Stores.key_value("seen", S, S))
    b.stream("in", S, S).process(Bad, name="bad")
    with pytest.raises(Exception, match=r"bad.*seen"):
        TopologyTestDriver(b.build())


def failing_topology() -> Topology:
    b = StreamsBuilder()
    b.stream("in", S, INT).map_values(lambda v: 10 // v, name="divide").to("out", S, INT)
    return b.build()


def test_processing_error_names_node_topic_partition_offset_and_key() -> None:
    """KIP-1033 default (fail): the exception names the node, topic, partition, offset and key."""
    with TopologyTestDriver(failing_topology()) as d:
        inp = d.create_input_topic("in", S, INT)
        inp.pipe_input("ok", 5)
        with pytest.raises(ProcessingError) as info:
            inp.pipe_input("boom", 0)
        err = info.value
        assert (err.node, err.topic, err.partition, err.offset, err.key) == (
            "divide",
            "in",
            0,
            1,
            "boom",
        )
        assert isinstance(err.__cause__, ZeroDivisionError)


def test_processing_error_log_and_continue_skips_the_record() -> None:
    config = {"processing.exception.handler": "log_and_continue"}
    with TopologyTestDriver(failing_topology(), config) as d:
        inp = d.create_input_topic("in", S, INT)
        inp.pipe_key_value_list([("a", 5), ("b", 0), ("c", 2)])
        assert d.create_output_topic("out", S, INT).read_key_values_to_list() == [
            ("a", 2),
            ("c", 5),
        ]


def test_processing_error_dead_letter_queue() -> None:
    config = {"processing.exception.handler": "dead_letter:dlq"}
    with TopologyTestDriver(failing_topology(), config) as d:
        d.create_input_topic("in", S, INT).pipe_key_value_list([("a", 0), ("b", 1)])
        dlq = d.create_output_topic("dlq", S, INT).read_records_to_list()
        assert [(r.key, r.value) for r in dlq] == [("a", 0)]
        assert any(h[0].startswith("__streams.errors") for h in dlq[0].headers)
        assert d.create_output_topic("out", S, INT).read_value() == 10


def test_deserialization_errors_fail_or_continue() -> None:
    topo = failing_topology()
    with TopologyTestDriver(topo) as d, pytest.raises(DeserializationError) as info:
        d.pipe_raw("in", b"k", b"\x01", 0)
    assert info.value.topic == "in" and info.value.offset == 0
    config = {"default.deserialization.exception.handler": "dead_letter:bad"}
    with TopologyTestDriver(topo, config) as d:
        d.pipe_raw("in", b"k", b"\x01", 0)
        d.pipe_raw("in", b"k", b"\x00\x00\x00\x05", 1)
        assert d.create_output_topic("bad").read_key_value() == (b"k", b"\x01")
        assert d.create_output_topic("out", S, INT).read_value() == 2


def test_default_serdes_from_config() -> None:
    b = StreamsBuilder()
    b.stream("in").group_by_key().count(store="c").to_stream().to("out", value_serde=L)
    config = {"default.key.serde": S, "default.value.serde": S, "statestore.cache.max.bytes": 0}
    with TopologyTestDriver(b.build(), config) as d:
        d.create_input_topic("in", S, S).pipe_key_value_list([("a", "x"), ("a", "y")])
        assert d.create_output_topic("out", S, L).read_key_values_to_list() == [("a", 1), ("a", 2)]
        assert d.get_key_value_store("c").get("a") == 2


def test_unknown_serdes_round_trip_python_objects_through_internal_topics() -> None:
    """Without serdes, repartition topics keep Python types (msgpack), so a rekeyed count works."""
    b = StreamsBuilder()
    b.stream("in", S, S).map(lambda k, v: (len(v), v)).group_by_key().count(store="c")
    with TopologyTestDriver(b.build(), {"statestore.cache.max.bytes": 0}) as d:
        d.create_input_topic("in", S, S).pipe_key_value_list([("a", "xy"), ("b", "zz")])
        assert d.get_key_value_store("c").get(2) == 2


def test_sink_serialization_error_goes_to_the_production_handler() -> None:
    b = StreamsBuilder()
    b.stream("in", S, S).map_values(lambda v: int(v) if v.isdigit() else v).to("out", S, INT)
    topo = b.build()
    with TopologyTestDriver(topo) as d:
        inp = d.create_input_topic("in", S, S)
        with pytest.raises(SerializationError) as info:
            inp.pipe_input("k", "x")
        assert info.value.topic == "out" and info.value.node == "KSTREAM-SINK-0000000002"
    with TopologyTestDriver(topo, {"production.exception.handler": "log_and_continue"}) as d:
        d.create_input_topic("in", S, S).pipe_key_value_list([("a", "x"), ("b", "7")])
        out = d.create_output_topic("out", S, INT).read_key_value()
        assert out == ("b", 7) and out.key == "b" and out.value == 7
