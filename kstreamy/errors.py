"""kstreamy's exceptions and the pluggable exception handlers (Kafka's KIP-1033 / KIP-1034).

Hierarchy::

    KStreamyError
    ├── TopologyError            the topology is invalid (raised while building)
    ├── ConfigError              a config value is invalid (also a ValueError)
    └── StreamsError             something failed while running
        ├── SerializationError
        ├── DeserializationError
        ├── ProcessingError
        ├── TaskCorruptedError
        └── StoreError
            └── InvalidStateStoreError

Each error names what it can (topic, partition, offset, serde, processor node, key) and says what
to do. The exception handlers (`kstreamy.error_handlers`, re-exported here) decide whether a
failing record stops the task (`FAIL`) or is skipped (`CONTINUE`), optionally sending a copy to a
dead-letter topic.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEAD_LETTER_QUEUE_TOPIC_CONFIG",
    "HEADER_ERRORS_EXCEPTION",
    "HEADER_ERRORS_MESSAGE",
    "HEADER_ERRORS_OFFSET",
    "HEADER_ERRORS_PARTITION",
    "HEADER_ERRORS_STACKTRACE",
    "HEADER_ERRORS_TOPIC",
    "ConfigError",
    "DeadLetterQueueHandler",
    "DeadLetterRecord",
    "DeserializationError",
    "DeserializationExceptionHandler",
    "ErrorHandlerContext",
    "HandlerKind",
    "HandlerResponse",
    "HandlerResult",
    "InvalidStateStoreError",
    "KStreamyError",
    "LogAndContinueHandler",
    "LogAndFailHandler",
    "ProcessingError",
    "ProcessingExceptionHandler",
    "ProductionExceptionHandler",
    "SerializationError",
    "StoreError",
    "StreamsError",
    "TaskCorruptedError",
    "TopologyError",
    "build_dead_letter_record",
    "invoke_handler",
    "resolve_handler",
]

_MAX_KEY_REPR = 100


def _short_repr(obj: Any) -> str:
    """A bounded repr, so a huge key never floods a log line."""
    text = repr(obj)
    return text if len(text) <= _MAX_KEY_REPR else text[: _MAX_KEY_REPR - 3] + "..."


def _describe_cause(cause: BaseException | str | None) -> str:
    if cause is None:
        return "unknown cause"
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return cause


def _where(topic: str | None, partition: int | None, offset: int | None) -> str:
    parts = []
    if topic is not None:
        parts.append(f"topic '{topic}'")
    if partition is not None and partition >= 0:
        parts.append(f"partition {partition}")
    if offset is not None and offset >= 0:
        parts.append(f"offset {offset}")
    return ", ".join(parts)


class KStreamyError(Exception):
    """Base of every error kstreamy raises on purpose."""


class TopologyError(KStreamyError):
    """The topology is invalid: unknown store, duplicate name, no sources, ... (raised at build)."""


class ConfigError(KStreamyError, ValueError):
    """A config value is missing or invalid; the message names the key and the accepted values."""


class StreamsError(KStreamyError):
    """A failure while the application runs."""


class SerializationError(StreamsError):
    """A serde could not turn an object into bytes.

    `SerializationError(topic, serde, cause)`: `serde` is the serde's name, `cause` the exception
    or a short description of the problem.
    """

    def __init__(
        self,
        topic: str | None,
        serde: str | None,
        cause: BaseException | str | None = None,
        *,
        node: str | None = None,
    ) -> None:
        self.topic = topic
        self.serde = serde
        self.cause = cause
        self.node = node
        where = _where(topic, None, None)
        at = f" for {where}" if where else ""
        by = f" in node '{node}'" if node else ""
        super().__init__(
            f"Failed to serialize a record{at} with serde {serde or '?'}{by}: "
            f"{_describe_cause(cause)}. Pass a serde that accepts this type "
            "(key_serde=/value_serde=, or default.key.serde / default.value.serde)."
        )

    def __reduce__(self) -> Any:
        return (_rebuild_serialization, (self.topic, self.serde, _picklable(self.cause), self.node))


def _rebuild_serialization(
    topic: str | None, serde: str | None, cause: BaseException | str | None, node: str | None
) -> SerializationError:
    return SerializationError(topic, serde, cause, node=node)


class DeserializationError(StreamsError):
    """A serde could not turn bytes into an object.

    `DeserializationError(topic, partition, offset, serde, cause)`. A serde knows only the topic
    and raises with `partition`/`offset` of `None`; the task adds them with `with_location`.
    """

    def __init__(
        self,
        topic: str | None,
        partition: int | None = None,
        offset: int | None = None,
        serde: str | None = None,
        cause: BaseException | str | None = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.serde = serde
        self.cause = cause
        where = _where(topic, partition, offset)
        at = f" from {where}" if where else ""
        super().__init__(
            f"Failed to deserialize a record{at} with serde {serde or '?'}: "
            f"{_describe_cause(cause)}. Check the serde configured for this topic, or set "
            "default.deserialization.exception.handler to skip or dead-letter bad records."
        )

    def with_location(
        self, partition: int | None, offset: int | None, topic: str | None = None
    ) -> DeserializationError:
        """The same error, now naming the partition and offset of the record."""
        error = DeserializationError(
            topic if topic is not None else self.topic, partition, offset, self.serde, self.cause
        )
        error.__cause__ = self.__cause__
        return error

    def __reduce__(self) -> Any:
        return (
            DeserializationError,
            (self.topic, self.partition, self.offset, self.serde, _picklable(self.cause)),
        )


class ProcessingError(StreamsError):
    """User or operator code raised while processing a record in processor node `node`.

    `ProcessingError(node, topic, partition, offset, key, cause)`; only a bounded repr of the key
    appears in the message, never the value.
    """

    def __init__(
        self,
        node: str | None,
        topic: str | None,
        partition: int | None,
        offset: int | None,
        key: Any,
        cause: BaseException | str | None,
    ) -> None:
        self.node = node
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.cause = cause
        where = _where(topic, partition, offset)
        source = f" from {where}" if where else " (no source record, e.g. a punctuation)"
        super().__init__(
            f"Exception caught in processor node '{node or '?'}' while processing the record "
            f"with key {_short_repr(key)}{source}: {_describe_cause(cause)}. Fix the processor, "
            "or set processing.exception.handler to skip or dead-letter failing records."
        )

    def __reduce__(self) -> Any:
        key = self.key
        try:
            import pickle

            pickle.dumps(key)
        except Exception:
            key = _short_repr(key)
        return (
            ProcessingError,
            (self.node, self.topic, self.partition, self.offset, key, _picklable(self.cause)),
        )


class StoreError(StreamsError):
    """A state store failed (I/O, corruption, closed store)."""


class InvalidStateStoreError(StoreError):
    """The store cannot be queried now: unknown name, wrong type, or the task is migrating.

    Interactive queries raise this during rebalances; retry after the application is RUNNING.
    """


class TaskCorruptedError(StreamsError):
    """A task's state no longer matches its changelog (e.g. EOS abort); wipe and restore it."""


def _picklable(cause: BaseException | str | None) -> BaseException | str | None:
    """Keep an exception cause if it pickles, else its description (for worker processes)."""
    if cause is None or isinstance(cause, str):
        return cause
    try:
        import pickle

        pickle.loads(pickle.dumps(cause))
    except Exception:
        return _describe_cause(cause)
    return cause


# The handlers live in their own module (after the exceptions they raise); re-exported here.
from kstreamy.error_handlers import (  # noqa: E402
    DEAD_LETTER_QUEUE_TOPIC_CONFIG,
    HEADER_ERRORS_EXCEPTION,
    HEADER_ERRORS_MESSAGE,
    HEADER_ERRORS_OFFSET,
    HEADER_ERRORS_PARTITION,
    HEADER_ERRORS_STACKTRACE,
    HEADER_ERRORS_TOPIC,
    DeadLetterQueueHandler,
    DeadLetterRecord,
    DeserializationExceptionHandler,
    ErrorHandlerContext,
    HandlerKind,
    HandlerResponse,
    HandlerResult,
    LogAndContinueHandler,
    LogAndFailHandler,
    ProcessingExceptionHandler,
    ProductionExceptionHandler,
    build_dead_letter_record,
    invoke_handler,
    resolve_handler,
)
