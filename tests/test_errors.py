"""Exceptions (messages, pickling) and exception handlers (KIP-1033 / KIP-1034 behaviour)."""

from __future__ import annotations

import logging
import pickle

import pytest

from kstreamy.errors import (
    ConfigError,
    DeadLetterQueueHandler,
    DeadLetterRecord,
    DeserializationError,
    DeserializationExceptionHandler,
    ErrorHandlerContext,
    HandlerResponse,
    HandlerResult,
    InvalidStateStoreError,
    KStreamyError,
    LogAndContinueHandler,
    LogAndFailHandler,
    ProcessingError,
    ProcessingExceptionHandler,
    ProductionExceptionHandler,
    SerializationError,
    StoreError,
    StreamsError,
    TaskCorruptedError,
    TopologyError,
    build_dead_letter_record,
    invoke_handler,
    resolve_handler,
)
from kstreamy.processor import Record, TaskId

CONTEXT = ErrorHandlerContext(
    topic="orders",
    partition=2,
    offset=41,
    headers=[("trace", b"abc")],
    processor_node_id="KSTREAM-MAPVALUES-0000000001",
    task_id=TaskId(0, 2),
    timestamp=1_700_000_000_000,
    source_raw_key=b"src-key",
    source_raw_value=b"src-value",
)


def _raised(exc: BaseException) -> BaseException:
    """`exc` with a traceback, as handlers receive it."""
    try:
        raise exc
    except BaseException as caught:
        return caught


# --------------------------------------------------------------------------- exceptions


def test_hierarchy() -> None:
    for cls in (
        SerializationError,
        DeserializationError,
        ProcessingError,
        StoreError,
        TaskCorruptedError,
    ):
        assert issubclass(cls, StreamsError) and issubclass(cls, KStreamyError)
    assert issubclass(InvalidStateStoreError, StoreError)
    assert issubclass(TopologyError, KStreamyError)
    assert issubclass(ConfigError, KStreamyError) and issubclass(ConfigError, ValueError)


def test_deserialization_error_names_topic_partition_offset_and_serde() -> None:
    error = DeserializationError("orders", 2, 41, "Integer", "Size of data is not 4")
    text = str(error)
    for part in ("'orders'", "partition 2", "offset 41", "Integer", "Size of data is not 4"):
        assert part in text
    assert "deserialization.exception.handler" in text  # says what to do


def test_processing_error_names_node_source_and_key_but_not_value() -> None:
    error = ProcessingError(
        "KSTREAM-FILTER-0000000002", "orders", 1, 7, "cart-9", ValueError("bad total")
    )
    text = str(error)
    for part in (
        "KSTREAM-FILTER-0000000002",
        "'orders'",
        "partition 1",
        "offset 7",
        "'cart-9'",
        "ValueError: bad total",
    ):
        assert part in text


def test_processing_error_truncates_huge_keys() -> None:
    error = ProcessingError("n", "t", 0, 0, "k" * 10_000, RuntimeError("x"))
    assert len(str(error)) < 600


def test_serialization_error_names_topic_and_serde() -> None:
    text = str(SerializationError("out", "Long", "expected int, got str"))
    assert "'out'" in text and "Long" in text and "expected int, got str" in text


@pytest.mark.parametrize(
    "error",
    [
        DeserializationError("t", 1, 2, "String", ValueError("x")),
        SerializationError("t", "Long", "problem", node="sink"),
        ProcessingError("node", "t", 0, 5, object(), RuntimeError("boom")),
    ],
)
def test_errors_pickle_for_worker_processes(error: StreamsError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy).split("key")[0] == str(error).split("key")[0]


# --------------------------------------------------------------------------- responses


def test_response_constructors() -> None:
    record = DeadLetterRecord("dlq", b"k", b"v")
    assert HandlerResponse.resume().result is HandlerResult.CONTINUE
    assert HandlerResponse.resume().should_continue
    assert HandlerResponse.fail([record]) == HandlerResponse(HandlerResult.FAIL, [record])
    assert HandlerResponse.resume().dead_letter_records == []


# --------------------------------------------------------------------------- dead-letter records


def test_dead_letter_record_has_kafka_kip_1034_headers() -> None:
    exc = _raised(ValueError("bad total"))
    record = build_dead_letter_record("orders-dlq", b"k", b"v", CONTEXT, exc)
    headers = dict(record.headers)
    assert record.topic == "orders-dlq"
    assert (record.key, record.value) == (b"k", b"v")
    assert record.timestamp == CONTEXT.timestamp  # Kafka keeps the source timestamp
    assert record.headers[0] == ("trace", b"abc")  # original headers come first
    assert headers["__streams.errors.exception"] == b"ValueError"
    assert headers["__streams.errors.message"] == b"bad total"
    assert b"Traceback" in headers["__streams.errors.stacktrace"]  # type: ignore[operator]
    assert b"bad total" in headers["__streams.errors.stacktrace"]  # type: ignore[operator]
    assert headers["__streams.errors.topic"] == b"orders"
    assert headers["__streams.errors.partition"] == b"2"
    assert headers["__streams.errors.offset"] == b"41"


def test_dead_letter_exception_header_is_the_qualified_class_name() -> None:
    record = build_dead_letter_record("d", None, None, CONTEXT, _raised(ConfigError("x")))
    assert dict(record.headers)["__streams.errors.exception"] == b"kstreamy.errors.ConfigError"


def test_unknown_source_becomes_null_topic_and_minus_one() -> None:
    context = ErrorHandlerContext(topic=None)
    record = build_dead_letter_record("d", None, None, context, _raised(RuntimeError()))
    headers = dict(record.headers)
    assert headers["__streams.errors.topic"] is None
    assert headers["__streams.errors.partition"] == b"-1"
    assert headers["__streams.errors.offset"] == b"-1"
    assert record.timestamp is None


def test_dlq_handler_deserialization_keeps_the_raw_bytes() -> None:
    handler: DeserializationExceptionHandler = DeadLetterQueueHandler("dlq")
    exc = _raised(DeserializationError("orders", 2, 41, "Integer", "bad"))
    response = handler.handle(CONTEXT, b"raw-k", b"raw-v", exc)
    assert response.result is HandlerResult.CONTINUE
    (record,) = response.dead_letter_records
    assert (record.topic, record.key, record.value) == ("dlq", b"raw-k", b"raw-v")
    assert dict(record.headers)["__streams.errors.exception"] == (
        b"kstreamy.errors.DeserializationError"
    )


def test_dlq_handler_processing_uses_the_source_record_bytes() -> None:
    handler: ProcessingExceptionHandler = DeadLetterQueueHandler("dlq")
    in_flight = Record({"parsed": True}, object(), 5)  # not serializable: never used
    response = handler.handle(CONTEXT, in_flight, _raised(KeyError("total")))
    (record,) = response.dead_letter_records
    assert (record.key, record.value) == (b"src-key", b"src-value")
    assert dict(record.headers)["__streams.errors.offset"] == b"41"


def test_dlq_handler_production_send_failure_uses_serialized_bytes() -> None:
    handler: ProductionExceptionHandler = DeadLetterQueueHandler("dlq")
    response = handler.handle(CONTEXT, "out", b"ok", b"v" * 10, _raised(RuntimeError("too big")))
    (record,) = response.dead_letter_records
    assert (record.key, record.value) == (b"ok", b"v" * 10)


def test_dlq_handler_production_serialization_failure_falls_back_to_source_bytes() -> None:
    handler = DeadLetterQueueHandler("dlq")
    response = handler.handle(CONTEXT, "out", "str-key", 3.5, _raised(TypeError("no")))
    (record,) = response.dead_letter_records
    assert (record.key, record.value) == (b"src-key", b"src-value")


def test_log_and_continue_logs_one_line_without_the_value(caplog: pytest.LogCaptureFixture) -> None:
    handler = LogAndContinueHandler()
    with caplog.at_level(logging.WARNING, logger="kstreamy.errors"):
        response = handler.handle(CONTEXT, b"key", b"SECRET-VALUE", _raised(ValueError("bad")))
    assert response == HandlerResponse.resume()
    (entry,) = caplog.records
    message = entry.getMessage()
    assert "topic=orders" in message and "partition=2" in message and "offset=41" in message
    assert "SECRET-VALUE" not in message and "\n" not in message


def test_log_and_fail_fails(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="kstreamy.errors"):
        response = LogAndFailHandler().handle(CONTEXT, Record(1, 2, 3), _raised(ValueError()))
    assert response.result is HandlerResult.FAIL and response.dead_letter_records == []
    assert "offset=41" in caplog.records[0].getMessage()


def test_default_handlers_dead_letter_when_a_topic_is_configured() -> None:
    # KIP-1034: with errors.dead.letter.queue.topic.name set, the default handlers build records
    fail = LogAndFailHandler("dlq").handle(CONTEXT, b"k", b"v", _raised(ValueError()))
    cont = LogAndContinueHandler("dlq").handle(CONTEXT, b"k", b"v", _raised(ValueError()))
    assert fail.result is HandlerResult.FAIL and len(fail.dead_letter_records) == 1
    assert cont.result is HandlerResult.CONTINUE and cont.dead_letter_records[0].topic == "dlq"


# --------------------------------------------------------------------------- resolve_handler


class CountingHandler:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, context: ErrorHandlerContext, *args: object) -> HandlerResponse:
        self.calls += 1
        return HandlerResponse.resume()


def test_resolve_handler_accepts_names_classes_and_instances() -> None:
    assert resolve_handler(None, "deserialization") == LogAndFailHandler()
    assert resolve_handler("fail", "processing") == LogAndFailHandler()
    assert resolve_handler("log_and_continue", "processing") == LogAndContinueHandler()
    assert resolve_handler("dead_letter:bad-orders", "production") == DeadLetterQueueHandler(
        "bad-orders"
    )
    assert resolve_handler(LogAndContinueHandler, "deserialization") == LogAndContinueHandler()
    instance = CountingHandler()
    assert resolve_handler(instance, "processing") is instance
    assert isinstance(resolve_handler(CountingHandler, "processing"), CountingHandler)
    assert isinstance(resolve_handler(f"{__name__}:CountingHandler", "processing"), CountingHandler)


def test_resolve_handler_understands_kafka_class_names() -> None:
    name = "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler"
    assert resolve_handler(name, "deserialization") == LogAndContinueHandler()


def test_resolve_handler_passes_the_dead_letter_topic_to_built_ins() -> None:
    assert resolve_handler("fail", "processing", dead_letter_queue_topic="d") == LogAndFailHandler(
        "d"
    )
    assert resolve_handler("dead_letter", "processing", dead_letter_queue_topic="d") == (
        DeadLetterQueueHandler("d")
    )
    assert resolve_handler(DeadLetterQueueHandler, "processing", dead_letter_queue_topic="d") == (
        DeadLetterQueueHandler("d")
    )


@pytest.mark.parametrize("value", ["nope", "dead_letter", 42, "no.such.module:Handler"])
def test_resolve_handler_rejects_bad_values_naming_the_config(value: object) -> None:
    with pytest.raises(ConfigError, match=r"processing\.exception\.handler"):
        resolve_handler(value, "processing")


def test_invoke_handler_guards_user_handlers() -> None:
    class Broken:
        def handle(self, context: ErrorHandlerContext, *args: object) -> object:
            return None

    class Raising:
        def handle(self, context: ErrorHandlerContext, *args: object) -> HandlerResponse:
            raise RuntimeError("handler bug")

    with pytest.raises(StreamsError, match="must return a HandlerResponse"):
        invoke_handler(Broken(), CONTEXT, b"k", b"v", ValueError())
    with pytest.raises(StreamsError, match="Fatal user code error") as info:
        invoke_handler(Raising(), CONTEXT, b"k", b"v", ValueError())
    assert "partition 2" in str(info.value)
    counting = CountingHandler()
    assert invoke_handler(counting, CONTEXT, Record(1, 2, 3), ValueError()).should_continue
    assert counting.calls == 1


def test_processing_call_without_source_bytes_falls_back_to_raw_record_bytes() -> None:
    # a task handing a raw (undeserialized) record to the handler still dead-letters its bytes
    context = ErrorHandlerContext(topic="orders", partition=0, offset=3)
    raw = Record(b"k", b"\xff", 9)
    error = _raised(DeserializationError("orders", 0, 3, "String", "bad UTF-8"))
    (record,) = DeadLetterQueueHandler("dlq").handle(context, raw, error).dead_letter_records
    assert (record.key, record.value) == (b"k", b"\xff")
    parsed = Record("k", {"parsed": 1}, 9)
    (record,) = DeadLetterQueueHandler("dlq").handle(context, parsed, error).dead_letter_records
    assert (record.key, record.value) == (None, None)


def test_resolve_handler_reads_the_dead_letter_topic_from_a_config() -> None:
    config = {"errors.dead.letter.queue.topic.name": "cart-dlq"}
    assert resolve_handler("log_and_continue", "deserialization", config=config) == (
        LogAndContinueHandler("cart-dlq")
    )
    assert resolve_handler(None, "processing", config={}) == LogAndFailHandler()
