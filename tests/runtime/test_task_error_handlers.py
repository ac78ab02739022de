"""Task exception-handler wiring, through the TopologyTestDriver: dead letters carry the source
record's raw bytes and KIP-1034 headers, user handlers get the documented arguments, and the
default handler fails with an error naming where the record came from."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.errors import (
    HEADER_ERRORS_EXCEPTION,
    HEADER_ERRORS_MESSAGE,
    HEADER_ERRORS_OFFSET,
    HEADER_ERRORS_PARTITION,
    HEADER_ERRORS_STACKTRACE,
    HEADER_ERRORS_TOPIC,
    DeserializationError,
    ErrorHandlerContext,
    HandlerResponse,
    ProcessingError,
    StreamsError,
)
from kstreamy.processor import Record
from kstreamy.serdes import Integer, String
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.topology import Topology

S, INT = String(), Integer()


def int_topology() -> Topology:
    """in (String key, Integer value) -> map_values(10 // v) -> out."""
    b = StreamsBuilder()
    b.stream("in", S, INT).map_values(lambda v: 10 // v).to("out", S, INT)
    return b.build()


def headers_of(record: Any) -> dict[str, bytes | None]:
    return dict(record.headers)


@pytest.mark.parametrize(
    "key", ["deserialization.exception.handler", "default.deserialization.exception.handler"]
)
def test_deserialization_dead_letter_keeps_raw_bytes_and_headers(key: str) -> None:
    config = {key: "dead_letter:bad-input"}
    with TopologyTestDriver(int_topology(), config) as d:
        d.pipe_raw("in", b"k1", b"\x07", 40, (("trace", b"t-1"),))
        d.pipe_raw("in", b"k2", INT.serialize("in", 5), 41)
        dead = d.create_output_topic("bad-input").read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in dead] == [(b"k1", b"\x07", 40)]
        headers = headers_of(dead[0])
        assert headers["trace"] == b"t-1"  # the source record's headers are kept
        assert headers[HEADER_ERRORS_EXCEPTION] == b"kstreamy.errors.DeserializationError"
        assert b"offset 0" in (headers[HEADER_ERRORS_MESSAGE] or b"")
        assert b"Traceback" in (headers[HEADER_ERRORS_STACKTRACE] or b"")
        assert headers[HEADER_ERRORS_TOPIC] == b"in"
        assert headers[HEADER_ERRORS_PARTITION] == b"0"
        assert headers[HEADER_ERRORS_OFFSET] == b"0"
        # processing continued with the next record
        assert d.create_output_topic("out", S, INT).read_key_values_to_list() == [("k2", 2)]


def test_dead_letter_queue_topic_config_with_continue_handler() -> None:
    config = {
        "deserialization.exception.handler": "log_and_continue",
        "errors.dead.letter.queue.topic.name": "dlq",
    }
    with TopologyTestDriver(int_topology(), config) as d:
        d.pipe_raw("in", b"k", b"xyz", 0)
        assert d.create_output_topic("dlq").read_key_value() == (b"k", b"xyz")


def test_processing_error_dead_letter_carries_the_source_bytes() -> None:
    b = StreamsBuilder()
    (
        b.stream("in", S, S)
        .map_values(lambda v: v.upper())
        .map_values(lambda v: 1 // int(v == "OK"))
        .to("out", S, INT)
    )
    config = {"processing.exception.handler": "dead_letter:dlq"}
    with TopologyTestDriver(b.build(), config) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "bad", timestamp=7)
        inp.pipe_input("b", "ok", timestamp=8)
        dead = d.create_output_topic("dlq").read_records_to_list()
        # the original bytes of the input record, not the upper-cased value in flight
        assert [(r.key, r.value, r.timestamp) for r in dead] == [(b"a", b"bad", 7)]
        headers = headers_of(dead[0])
        assert headers[HEADER_ERRORS_EXCEPTION] == b"kstreamy.errors.ProcessingError"
        assert b"ZeroDivisionError" in (headers[HEADER_ERRORS_MESSAGE] or b"")
        assert headers[HEADER_ERRORS_TOPIC] == b"in"
        assert headers[HEADER_ERRORS_OFFSET] == b"0"
        assert d.create_output_topic("out", S, INT).read_key_values_to_list() == [("b", 1)]


class RecordingDeserializationHandler:
    calls: list[tuple[Any, ...]] = []

    def handle(
        self,
        context: ErrorHandlerContext,
        raw_key: bytes | None,
        raw_value: bytes | None,
        exception: BaseException,
        /,
    ) -> HandlerResponse:
        type(self).calls.append((context, raw_key, raw_value, exception))
        return HandlerResponse.resume()


class RecordingProcessingHandler:
    calls: list[tuple[Any, ...]] = []

    def handle(
        self, context: ErrorHandlerContext, record: Record[Any, Any], exception: BaseException, /
    ) -> HandlerResponse:
        type(self).calls.append((context, record, exception))
        return HandlerResponse.resume()


def test_user_handler_classes_are_called_with_the_documented_arguments() -> None:
    RecordingDeserializationHandler.calls.clear()
    RecordingProcessingHandler.calls.clear()
    config = {
        "deserialization.exception.handler": RecordingDeserializationHandler,
        "processing.exception.handler": RecordingProcessingHandler,
    }
    with TopologyTestDriver(int_topology(), config) as d:
        d.pipe_raw("in", b"k", b"\x01\x02", 5, (("h", b"1"),))
        d.pipe_raw("in", b"z", INT.serialize("in", 0), 6)
        d.pipe_raw("in", b"y", INT.serialize("in", 2), 7)
        assert d.create_output_topic("out", S, INT).read_key_values_to_list() == [("y", 5)]

    ((ctx, raw_key, raw_value, exc),) = RecordingDeserializationHandler.calls
    assert (raw_key, raw_value) == (b"k", b"\x01\x02")
    assert isinstance(exc, DeserializationError) and exc.offset == 0
    assert (ctx.topic, ctx.partition, ctx.offset, ctx.timestamp) == ("in", 0, 0, 5)
    assert ctx.headers == (("h", b"1"),)
    assert (ctx.source_raw_key, ctx.source_raw_value) == (b"k", b"\x01\x02")
    assert ctx.processor_node_id == "KSTREAM-SOURCE-0000000000"

    ((pctx, record, perr),) = RecordingProcessingHandler.calls
    assert isinstance(record, Record) and (record.key, record.value) == ("z", 0)
    assert isinstance(perr, ProcessingError) and isinstance(perr.__cause__, ZeroDivisionError)
    assert (pctx.topic, pctx.partition, pctx.offset, pctx.timestamp) == ("in", 0, 1, 6)
    assert pctx.processor_node_id == "KSTREAM-MAPVALUES-0000000001"
    assert (pctx.source_raw_key, pctx.source_raw_value) == (b"z", INT.serialize("in", 0))


class RaisingHandler:
    def handle(self, context: ErrorHandlerContext, *args: Any) -> HandlerResponse:
        raise RuntimeError("handler bug")


class WrongAnswerHandler:
    def handle(self, context: ErrorHandlerContext, *args: Any) -> Any:
        return "continue"


@pytest.mark.parametrize("handler", [RaisingHandler(), WrongAnswerHandler()])
def test_a_broken_user_handler_stops_with_a_streams_error(handler: Any) -> None:
    config = {"processing.exception.handler": handler}
    with TopologyTestDriver(int_topology(), config) as d:
        inp = d.create_input_topic("in", S, INT)
        with pytest.raises(StreamsError) as info:
            inp.pipe_input("k", 0)
        assert not isinstance(info.value, ProcessingError)
        assert "handler" in str(info.value).lower()


def test_default_fail_handler_names_node_topic_partition_offset_and_key() -> None:
    with TopologyTestDriver(int_topology()) as d:
        inp = d.create_input_topic("in", S, INT)
        inp.pipe_input("first", 1)
        with pytest.raises(ProcessingError) as info:
            inp.pipe_input("the-key", 0)
    err = info.value
    assert (err.node, err.topic, err.partition, err.offset, err.key) == (
        "KSTREAM-MAPVALUES-0000000001",
        "in",
        0,
        1,
        "the-key",
    )
    message = str(err)
    for part in ("KSTREAM-MAPVALUES-0000000001", "topic 'in'", "partition 0", "offset 1"):
        assert part in message
    assert "'the-key'" in message
    assert isinstance(err.__cause__, ZeroDivisionError)


def test_default_fail_handler_on_a_deserialization_error() -> None:
    with TopologyTestDriver(int_topology()) as d, pytest.raises(DeserializationError) as info:
        d.pipe_raw("in", b"k", b"\x01", 0)
    assert (info.value.topic, info.value.partition, info.value.offset) == ("in", 0, 0)
    assert "topic 'in', partition 0, offset 0" in str(info.value)


def test_error_downstream_of_a_cache_flush_has_no_source_bytes() -> None:
    """Records the cache forwards on commit carry no raw source record (as in Kafka): the dead
    letter names the cached write's origin but cannot claim the last input's bytes."""
    seen: list[ErrorHandlerContext] = []

    class Recording:
        def handle(
            self, context: ErrorHandlerContext, record: Record[Any, Any], exc: BaseException, /
        ) -> HandlerResponse:
            seen.append(context)
            return HandlerResponse.resume()

    b = StreamsBuilder()
    counts = b.stream("in", S, S).group_by_key().count(store="c").to_stream()
    counts.map_values(lambda n: 1 // (n - 2)).to("out", S, INT)
    config = {"processing.exception.handler": Recording(), "statestore.cache.max.bytes": 1 << 20}
    with TopologyTestDriver(b.build(), config) as d:
        d.create_input_topic("in", S, S).pipe_key_value_list([("a", "x"), ("a", "y"), ("b", "z")])
    (ctx,) = seen
    assert (ctx.topic, ctx.offset) == ("in", 1)  # the write that made the cached entry
    assert (ctx.source_raw_key, ctx.source_raw_value) == (None, None)
