"""Restoration vocabulary shared by the runtime: progress records, the listener protocol, and
reading a changelog partition's offsets.

The restoring itself is `changelog_reader.ChangelogReader` (incremental, for restoring active
tasks and standby tasks alike); `kstreamy.state.restore.restore_partition` remains the
standalone, blocking restore of one store (tools, benchmarks). `watermarks()` retries while a
fresh changelog has no leader yet. A checkpoint outside the changelog's offsets is answered by
wiping the task's state and restoring from the beginning (Kafka: a checkpoint past the
changelog's end, or state from an older incarnation of the topic, is not trusted).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

from kstreamy.errors import StreamsError

log = logging.getLogger(__name__)


@dataclass
class RestoreProgress:
    """One store's changelog partition being restored; readable from the app (`metrics()`)."""

    topic: str
    partition: int
    store: str
    start_offset: int
    end_offset: int
    restored: int = 0
    total: int = 0
    done: bool = False


class StateRestoreListener(Protocol):
    """Kafka's StateRestoreListener: called from the worker thread restoring the store.

    Every `on_restore_start` is followed by exactly one `on_restore_end` (the store caught up)
    or, if the listener defines it, one `on_restore_suspended(topic, partition, store,
    total_restored)` (see `RestoreSuspendedListener`): the task was revoked, corrupted or
    closed before its restoration ended (Kafka's `onRestoreSuspended`, KIP-869). The method is
    optional, like Kafka's default method: a listener without it is simply not told.
    """

    def on_restore_start(
        self, topic: str, partition: int, store: str, start_offset: int, end_offset: int
    ) -> None: ...

    def on_batch_restored(
        self, topic: str, partition: int, store: str, restored: int, total: int
    ) -> None: ...

    def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None: ...


class RestoreSuspendedListener(StateRestoreListener, Protocol):
    """A `StateRestoreListener` that also wants to hear of restorations cut short."""

    def on_restore_suspended(
        self, topic: str, partition: int, store: str, total_restored: int
    ) -> None: ...


def notify_restore_suspended(
    listener: StateRestoreListener | None, topic: str, partition: int, store: str, restored: int
) -> None:
    """Call `listener.on_restore_suspended` if the listener defines it (Kafka's default method
    does nothing)."""
    method = getattr(listener, "on_restore_suspended", None)
    if method is not None:
        method(topic, partition, store, restored)


def watermarks(consumer: Any, topic: str, partition: int, timeout: float) -> tuple[int, int]:
    """(low, high) offsets of a partition, retrying while a fresh topic has no leader yet."""
    from confluent_kafka import KafkaException, TopicPartition

    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=max(1.0, deadline - time.monotonic())
            )
            return int(low), int(high)
        except KafkaException as exc:
            err: Any = exc.args[0] if exc.args else exc
        except BaseException:
            raise
        except:  # noqa: E722 — librdkafka may raise a bare KafkaError, not an exception class
            err = sys.exc_info()[1]
        if time.monotonic() > deadline:
            raise StreamsError(
                f"Cannot read the offsets of {topic} partition {partition}: {err}"
            ) from None
        log.debug("offsets of %s-%d not available yet (%s); retrying", topic, partition, err)
        time.sleep(0.2)
