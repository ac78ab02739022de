"""One place that decides what a librdkafka error means for a task (Kafka Streams' rules).

Kafka Streams' record collector never gives a retriable send error (a timeout, a lost
connection, a leader change) to the production exception handler: the task is *corrupted* —
under exactly-once its transaction is aborted, its state wiped and it rewinds to the committed
offsets; under at-least-once it rewinds and re-processes. A fenced producer or a fatal error
means the tasks migrated (re-create the producer). Only the other errors (a record too large,
an unknown topic, authorization) are the production handler's business. The purge errors are
the delivery reports of records an abort threw away: expected, never a failure of their own.

librdkafka's `retriable()` flag is only set on errors returned by its transactional API, not on
delivery reports, so the codes are listed here by name.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from kstreamy.errors import TaskCorruptedError


class ErrorKind(Enum):
    RETRIABLE = "retriable"
    """Transient (broker away, timeout, leader moving): corrupt the task, rewind, retry."""
    FATAL = "fatal"
    """The producer is fenced or unusable: re-create it, tasks close dirty (TaskMigrated)."""
    PURGED = "purged"
    """The record belonged to an aborted transaction or a discarded producer: ignore."""
    OTHER = "other"
    """A real problem with the record or the topic: the production exception handler decides."""


RETRIABLE_CODES = frozenset(
    {
        "_MSG_TIMED_OUT", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "_TRANSPORT", "_ALL_BROKERS_DOWN",
        "_WAIT_COORD", "_NODE_UPDATE", "_OUTDATED", "_UNKNOWN_PARTITION",
        "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION", "NOT_LEADER_FOR_PARTITION",
        "NOT_LEADER_OR_FOLLOWER", "LEADER_NOT_AVAILABLE", "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "KAFKA_STORAGE_ERROR", "COORDINATOR_NOT_AVAILABLE",
        "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "CONCURRENT_TRANSACTIONS",
        "UNKNOWN_PRODUCER_ID", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH",
        "OFFSET_NOT_AVAILABLE", "THROTTLING_QUOTA_EXCEEDED",
        "_STATE",  # produce/begin in a transaction that must abort first (epoch bump)
    }
)  # fmt: skip
"""Transient errors by name (librdkafka leaves `retriable()` unset on delivery reports)."""

FATAL_CODES = frozenset(
    {
        "_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH", "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "INVALID_PRODUCER_ID_MAPPING",
        "TRANSACTION_COORDINATOR_FENCED", "_GAPLESS_GUARANTEE", "_FATAL",
    }
)  # fmt: skip
"""The producer lost its identity (fenced, epoch bumped by the coordinator): re-create it."""

PURGE_CODES = frozenset({"_PURGE_QUEUE", "_PURGE_INFLIGHT"})


def classify(err: Any) -> ErrorKind:
    """The kind of a confluent-kafka `KafkaError` (fatal wins over retriable)."""
    name = err.name()
    if name in PURGE_CODES:
        return ErrorKind.PURGED
    if err.fatal() or name in FATAL_CODES:
        return ErrorKind.FATAL
    if err.retriable() or err.txn_requires_abort() or name in RETRIABLE_CODES:
        return ErrorKind.RETRIABLE
    return ErrorKind.OTHER


class RetriableClientError(TaskCorruptedError):
    """A transient client error (send timeout, broker away): the tasks are corrupted — abort,
    close dirty, rewind to the committed offsets and retry (until `task.timeout.ms`)."""
