"""Pluggable exception handlers, modelled on Kafka Streams (KIP-1033 processing errors, KIP-1034
dead-letter queues). Re-exported from `kstreamy.errors`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

from kstreamy.errors import (
    ConfigError,
    DeserializationError,
    StreamsError,
    _where,
)
from kstreamy.processor import Headers, Record, TaskId

__all__ = [
    "DEAD_LETTER_QUEUE_TOPIC_CONFIG",
    "HEADER_ERRORS_EXCEPTION",
    "HEADER_ERRORS_MESSAGE",
    "HEADER_ERRORS_OFFSET",
    "HEADER_ERRORS_PARTITION",
    "HEADER_ERRORS_STACKTRACE",
    "HEADER_ERRORS_TOPIC",
    "DeadLetterQueueHandler",
    "DeadLetterRecord",
    "DeserializationExceptionHandler",
    "ErrorHandlerContext",
    "HandlerKind",
    "HandlerResponse",
    "HandlerResult",
    "LogAndContinueHandler",
    "LogAndFailHandler",
    "ProcessingExceptionHandler",
    "ProductionExceptionHandler",
    "build_dead_letter_record",
    "invoke_handler",
    "resolve_handler",
]

#
# Modelled on Kafka Streams: a handler is asked what to do with a record that failed to
# deserialize (DeserializationExceptionHandler), failed in a processor (ProcessingExceptionHandler,
# KIP-1033) or failed to serialize / send (ProductionExceptionHandler). It answers with a
# HandlerResponse: CONTINUE (skip the record) or FAIL (stop the task), plus dead-letter records
# (KIP-1034) that the task produces through its own producer — inside the transaction under
# exactly_once_v2. The runtime always calls `handle` positionally.

logger = logging.getLogger("kstreamy.errors")

HandlerKind = Literal["deserialization", "processing", "production"]

#: Kafka's config naming the dead-letter queue topic the default handlers write to (KIP-1034).
DEAD_LETTER_QUEUE_TOPIC_CONFIG = "errors.dead.letter.queue.topic.name"

# The headers Kafka's ExceptionHandlerUtils adds to every dead-letter record (UTF-8 strings).
HEADER_ERRORS_EXCEPTION = "__streams.errors.exception"
HEADER_ERRORS_MESSAGE = "__streams.errors.message"
HEADER_ERRORS_STACKTRACE = "__streams.errors.stacktrace"
HEADER_ERRORS_TOPIC = "__streams.errors.topic"
HEADER_ERRORS_PARTITION = "__streams.errors.partition"
HEADER_ERRORS_OFFSET = "__streams.errors.offset"

_HANDLER_CONFIG: dict[str, str] = {
    "deserialization": "default.deserialization.exception.handler",
    "processing": "processing.exception.handler",
    "production": "production.exception.handler",
}
_MAX_LOGGED_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class ErrorHandlerContext:
    """Where the failing record came from, as Kafka's `ErrorHandlerContext`.

    `partition`/`offset` are -1 and `topic` is None when unknown (e.g. in a punctuation).
    `source_raw_key`/`source_raw_value` are the bytes of the input record that started the
    processing, when known; dead-letter records carry them.
    """

    topic: str | None
    partition: int = -1
    offset: int = -1
    headers: Headers = ()
    processor_node_id: str | None = None
    task_id: TaskId | None = None
    timestamp: int = -1
    source_raw_key: bytes | None = None
    source_raw_value: bytes | None = None


class HandlerResult(Enum):
    """What the task does with the failing record: skip it, or stop with an error."""

    CONTINUE = "continue"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A record for the dead-letter queue topic; the task produces it as given (bytes)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class HandlerResponse:
    """A handler's answer: `result` plus the dead-letter records to produce (maybe none)."""

    result: HandlerResult
    dead_letter_records: list[DeadLetterRecord] = field(default_factory=list)

    @classmethod
    def fail(cls, dead_letter_records: Sequence[DeadLetterRecord] = ()) -> HandlerResponse:
        """Stop processing (after producing `dead_letter_records`)."""
        return cls(HandlerResult.FAIL, list(dead_letter_records))

    @classmethod
    def resume(cls, dead_letter_records: Sequence[DeadLetterRecord] = ()) -> HandlerResponse:
        """Skip the record and go on (Kafka's `Response.resume`)."""
        return cls(HandlerResult.CONTINUE, list(dead_letter_records))

    @property
    def should_continue(self) -> bool:
        return self.result is HandlerResult.CONTINUE


class DeserializationExceptionHandler(Protocol):
    """Decides about an input record whose key or value could not be deserialized."""

    def handle(
        self,
        context: ErrorHandlerContext,
        raw_key: bytes | None,
        raw_value: bytes | None,
        exception: BaseException,
        /,
    ) -> HandlerResponse: ...


class ProcessingExceptionHandler(Protocol):
    """Decides about a record whose processing raised in a processor node (KIP-1033)."""

    def handle(
        self, context: ErrorHandlerContext, record: Record[Any, Any], exception: BaseException, /
    ) -> HandlerResponse: ...


class ProductionExceptionHandler(Protocol):
    """Decides about an output record that failed to serialize or to be sent.

    `key`/`value` are the serialized bytes when sending failed, the objects when serializing did.
    """

    def handle(
        self,
        context: ErrorHandlerContext,
        topic: str,
        key: Any,
        value: Any,
        exception: BaseException,
        /,
    ) -> HandlerResponse: ...


def _exception_class_name(exception: BaseException) -> str:
    cls = type(exception)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def build_dead_letter_record(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    context: ErrorHandlerContext,
    exception: BaseException,
) -> DeadLetterRecord:
    """A dead-letter record as Kafka builds it (KIP-1034).

    It keeps the source record's headers and timestamp, then adds the `__streams.errors.*`
    headers: exception class, message, stack trace, and source topic, partition and offset.
    """
    stacktrace = "".join(traceback.format_exception(exception))
    headers: list[tuple[str, bytes | None]] = [(k, v) for k, v in context.headers]
    headers += [
        (HEADER_ERRORS_EXCEPTION, _exception_class_name(exception).encode()),
        (HEADER_ERRORS_MESSAGE, str(exception).encode()),
        (HEADER_ERRORS_STACKTRACE, stacktrace.encode()),
        (HEADER_ERRORS_TOPIC, context.topic.encode() if context.topic is not None else None),
        (HEADER_ERRORS_PARTITION, str(context.partition).encode()),
        (HEADER_ERRORS_OFFSET, str(context.offset).encode()),
    ]
    timestamp = context.timestamp if context.timestamp >= 0 else None
    return DeadLetterRecord(topic, key, value, tuple(headers), timestamp)


_BYTES_LIKE = (bytes, bytearray, memoryview)


def _as_bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)


def _failed_bytes(context: ErrorHandlerContext, args: tuple[Any, ...]) -> tuple[str, Any, Any]:
    """(kind, key bytes, value bytes) of the failing record, from the positional `handle` args.

    deserialization: (raw_key, raw_value, exc); processing: (record, exc) — the source bytes
    from the context, else the record's key/value if they are bytes; production: (topic, key,
    value, exc) — the bytes when serialization already happened, else the source bytes.
    """
    if len(args) == 3:
        return "deserialization", _as_bytes(args[0]), _as_bytes(args[1])
    if len(args) == 4:
        key, value = args[1], args[2]
        if (key is None or isinstance(key, _BYTES_LIKE)) and (
            value is None or isinstance(value, _BYTES_LIKE)
        ):
            return "production", _as_bytes(key), _as_bytes(value)
        return "production", context.source_raw_key, context.source_raw_value
    if len(args) == 2:
        kind = "deserialization" if isinstance(args[1], DeserializationError) else "processing"
        if context.source_raw_key is not None or context.source_raw_value is not None:
            return kind, context.source_raw_key, context.source_raw_value
        # Source bytes unknown: fall back to the record's own key/value when they are bytes
        # (e.g. a raw record handed over after a deserialization failure).
        record = args[0]
        key, value = getattr(record, "key", None), getattr(record, "value", None)
        return (
            kind,
            key if isinstance(key, bytes) else None,
            value if isinstance(value, bytes) else None,
        )
    raise TypeError(
        "exception handlers are called as handle(context, raw_key, raw_value, exc), "
        "handle(context, record, exc) or handle(context, topic, key, value, exc); "
        f"got {len(args) + 1} arguments"
    )


def _log_line(kind: str, context: ErrorHandlerContext, exception: BaseException) -> str:
    message = str(exception)
    if len(message) > _MAX_LOGGED_MESSAGE:
        message = message[:_MAX_LOGGED_MESSAGE] + "..."
    return (
        f"{kind} error: topic={context.topic} partition={context.partition} "
        f"offset={context.offset} node={context.processor_node_id} task={context.task_id}: "
        f"{type(exception).__name__}: {message}"
    )


class _LoggingHandler:
    """Shared body of the built-in handlers; implements all three handler protocols."""

    __slots__ = ("dead_letter_queue_topic",)

    def __init__(self, dead_letter_queue_topic: str | None = None) -> None:
        self.dead_letter_queue_topic = dead_letter_queue_topic

    def _dead_letters(
        self, context: ErrorHandlerContext, key: Any, value: Any, exception: BaseException
    ) -> list[DeadLetterRecord]:
        if self.dead_letter_queue_topic is None:
            return []
        record = build_dead_letter_record(
            self.dead_letter_queue_topic, key, value, context, exception
        )
        return [record]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (
            self.dead_letter_queue_topic == other.dead_letter_queue_topic
        )

    def __hash__(self) -> int:
        return hash((type(self), self.dead_letter_queue_topic))

    def __repr__(self) -> str:
        dlq = self.dead_letter_queue_topic
        return f"{type(self).__name__}({dlq!r})" if dlq else f"{type(self).__name__}()"


class LogAndFailHandler(_LoggingHandler):
    """The default: log the error (with its stack trace) and stop the task.

    With a dead-letter queue topic (`errors.dead.letter.queue.topic.name`), the failing record is
    also sent there first, as Kafka's default handlers do.
    """

    __slots__ = ()

    def handle(self, context: ErrorHandlerContext, *args: Any) -> HandlerResponse:
        kind, key, value = _failed_bytes(context, args)
        exception: BaseException = args[-1]
        logger.error("Failing on %s", _log_line(kind, context, exception), exc_info=exception)
        return HandlerResponse(
            HandlerResult.FAIL, self._dead_letters(context, key, value, exception)
        )


class LogAndContinueHandler(_LoggingHandler):
    """Log one line (topic, partition, offset, node; never the value) and skip the record.

    With a dead-letter queue topic the skipped record is also sent there.
    """

    __slots__ = ()

    def handle(self, context: ErrorHandlerContext, *args: Any) -> HandlerResponse:
        kind, key, value = _failed_bytes(context, args)
        exception: BaseException = args[-1]
        logger.warning("Skipping record after %s", _log_line(kind, context, exception))
        return HandlerResponse(
            HandlerResult.CONTINUE, self._dead_letters(context, key, value, exception)
        )


class DeadLetterQueueHandler(_LoggingHandler):
    """Send the failing record's original bytes to `topic`, with error headers, and go on.

    For processing errors the bytes are the source record's (`context.source_raw_key/value`),
    since the record in flight may no longer be serializable.
    """

    __slots__ = ()

    def __init__(self, topic: str) -> None:
        if not isinstance(topic, str) or not topic:
            raise ConfigError(f"DeadLetterQueueHandler needs a topic name, got {topic!r}")
        super().__init__(topic)

    @property
    def topic(self) -> str:
        assert self.dead_letter_queue_topic is not None
        return self.dead_letter_queue_topic

    def handle(self, context: ErrorHandlerContext, *args: Any) -> HandlerResponse:
        kind, key, value = _failed_bytes(context, args)
        exception: BaseException = args[-1]
        logger.warning(
            "Sending record to dead-letter topic '%s' after %s",
            self.topic,
            _log_line(kind, context, exception),
        )
        return HandlerResponse(
            HandlerResult.CONTINUE, self._dead_letters(context, key, value, exception)
        )


_FAIL_NAMES = {
    "fail",
    "log_and_fail",
    "logandfail",
    "org.apache.kafka.streams.errors.LogAndFailExceptionHandler".lower(),
    "org.apache.kafka.streams.errors.LogAndFailProcessingExceptionHandler".lower(),
    "org.apache.kafka.streams.errors.DefaultProductionExceptionHandler".lower(),
}
_CONTINUE_NAMES = {
    "continue",
    "log_and_continue",
    "logandcontinue",
    "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler".lower(),
    "org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler".lower(),
}


def resolve_handler(
    value: Any,
    kind: HandlerKind,
    *,
    dead_letter_queue_topic: str | None = None,
    config: Any = None,
) -> Any:
    """Turn a config value into a handler for `kind` (deserialization/processing/production).

    Accepts `None` (the default, log-and-fail), a handler instance, a handler class (built with
    no arguments), or a string: `"fail"`, `"log_and_continue"`, `"dead_letter:<topic>"`,
    `"dead_letter"` (uses `dead_letter_queue_topic`), Kafka's handler class names, or a Python
    path `"package.module:Class"`. `dead_letter_queue_topic` (Kafka's
    `errors.dead.letter.queue.topic.name`) makes the built-in handlers also dead-letter records;
    when not given it is read from `config` (a dict or `StreamsConfig`), if any.
    """
    if dead_letter_queue_topic is None and config is not None:
        dead_letter_queue_topic = config.get(DEAD_LETTER_QUEUE_TOPIC_CONFIG)
    if kind not in _HANDLER_CONFIG:
        raise ValueError(f"unknown handler kind {kind!r}; use one of {sorted(_HANDLER_CONFIG)}")
    key = _HANDLER_CONFIG[kind]
    if value is None:
        return LogAndFailHandler(dead_letter_queue_topic)
    if isinstance(value, type):
        return _from_class(value, key, dead_letter_queue_topic)
    if isinstance(value, str):
        return _from_string(value.strip(), kind, key, dead_letter_queue_topic)
    if callable(getattr(value, "handle", None)):
        return value
    raise ConfigError(
        f"{key} must be a handler (an object with handle(...)), a handler class, or one of "
        f"'fail', 'log_and_continue', 'dead_letter:<topic>'; got {value!r}"
    )


def _from_class(cls: type, key: str, dead_letter_queue_topic: str | None) -> Any:
    if issubclass(cls, DeadLetterQueueHandler):
        if not dead_letter_queue_topic:
            raise ConfigError(
                f"{key} is DeadLetterQueueHandler but {DEAD_LETTER_QUEUE_TOPIC_CONFIG} is not set; "
                "set it, or use 'dead_letter:<topic>'"
            )
        return cls(dead_letter_queue_topic)
    if issubclass(cls, _LoggingHandler):
        return cls(dead_letter_queue_topic)
    if not callable(getattr(cls, "handle", None)):
        raise ConfigError(f"{key}: class {cls.__qualname__} has no handle(...) method")
    return cls()


def _from_string(text: str, kind: str, key: str, dead_letter_queue_topic: str | None) -> Any:
    lowered = text.lower()
    if lowered in _FAIL_NAMES:
        return LogAndFailHandler(dead_letter_queue_topic)
    if lowered in _CONTINUE_NAMES:
        return LogAndContinueHandler(dead_letter_queue_topic)
    if lowered == "dead_letter" or lowered.startswith("dead_letter:"):
        topic = text.partition(":")[2].strip() or dead_letter_queue_topic
        if not topic:
            raise ConfigError(
                f"{key}='{text}' needs a topic: use 'dead_letter:<topic>' or set "
                f"{DEAD_LETTER_QUEUE_TOPIC_CONFIG}"
            )
        return DeadLetterQueueHandler(topic)
    if ":" in text or "." in text:
        return _from_class(_import_class(text, key), key, dead_letter_queue_topic)
    raise ConfigError(
        f"{key}='{text}' is not a known {kind} exception handler; accepted: 'fail', "
        "'log_and_continue', 'dead_letter:<topic>', a handler instance or class, or "
        "'package.module:Class'"
    )


def _import_class(path: str, key: str) -> type:
    import importlib

    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot import handler class '{path}': {exc}") from exc
    if not isinstance(obj, type):
        raise ConfigError(f"{key}: '{path}' is not a class")
    return obj


def invoke_handler(handler: Any, context: ErrorHandlerContext, *args: Any) -> HandlerResponse:
    """Call `handler.handle(context, *args)` and check its answer, as Kafka guards user handlers.

    A handler that raises or returns anything but a `HandlerResponse` stops the task with a
    `StreamsError` ("fatal user code error in the exception handler").
    """
    try:
        response = handler.handle(context, *args)
    except Exception as exc:
        raise StreamsError(
            f"Fatal user code error in exception handler {handler!r} for the record from "
            f"{_where(context.topic, context.partition, context.offset) or 'an unknown source'}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(response, HandlerResponse):
        raise StreamsError(
            f"Exception handler {handler!r} returned {response!r}; it must return a "
            "HandlerResponse (HandlerResponse.resume() or HandlerResponse.fail())"
        )
    return response
