"""Bring a task's stores up to date from their changelogs before the task processes records.

The restore loop itself is `kstreamy.state.restore.restore_partition` (stops by position at the
end offset read when it starts). This module adds what the runtime needs around it: retries
while a fresh changelog has no leader, progress per store for `app.metrics()`, the log and an
optional restore listener, and the "checkpoint out of range" signal the worker answers by wiping
the task's state and restoring from the beginning (Kafka: a checkpoint past the changelog's end,
or state from an older incarnation of the topic, is wiped and restored, not trusted).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

from kstreamy.errors import StreamsError
from kstreamy.state.api import RestoreCallback
from kstreamy.state.restore import restore_partition

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
    """Kafka's StateRestoreListener: called from the worker thread restoring the store."""

    def on_restore_start(
        self, topic: str, partition: int, store: str, start_offset: int, end_offset: int
    ) -> None: ...

    def on_batch_restored(
        self, topic: str, partition: int, store: str, restored: int, total: int
    ) -> None: ...

    def on_restore_end(self, topic: str, partition: int, store: str, restored: int) -> None: ...


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


def restore_store(
    consumer: Any,
    store: str,
    topic: str,
    partition: int,
    start: int | None,
    apply: RestoreCallback,
    progress: dict[tuple[str, int], RestoreProgress],
    listener: StateRestoreListener | None = None,
    timeout: float = 60.0,
) -> tuple[int, int]:
    """Restore `store` from `topic`/`partition` starting at `start` (None: the beginning).

    Returns (records applied, next offset to checkpoint). A checkpoint outside the changelog's
    offsets raises `CheckpointOutOfRangeError` (the caller wipes the state and calls again with
    `start=None`). Progress goes into `progress[(topic, partition)]` and to `listener`.
    """
    from confluent_kafka import KafkaException

    # make sure the partition has a leader (a changelog created moments ago may not yet)
    low, high = watermarks(consumer, topic, partition, timeout)
    first = low if start is None else start
    entry = RestoreProgress(topic, partition, store, first, high, total=max(0, high - first))
    progress[(topic, partition)] = entry
    if listener is not None:
        listener.on_restore_start(topic, partition, store, first, high)

    def on_batch(restored: int, total: int) -> None:
        entry.restored, entry.total = restored, total
        if listener is not None:
            listener.on_batch_restored(topic, partition, store, restored, total)

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = restore_partition(
                consumer, topic, partition, start, apply, on_batch,
                timeout_s=10.0, stall_timeout_s=timeout, store_name=store,
            )  # fmt: skip
            break
        except KafkaException as exc:  # metadata not there yet: replaying again is idempotent
            if time.monotonic() > deadline:
                raise StreamsError(
                    f"Restoring store '{store}' from changelog {topic} partition {partition} "
                    f"failed: {exc}; is the broker reachable?"
                ) from exc
            log.info("restoring %s from %s-%d: %s; retrying", store, topic, partition, exc)
            time.sleep(0.2)
    entry.start_offset, entry.end_offset = result.start_offset, result.end_offset
    entry.restored = result.restored_records
    entry.total = max(entry.total, result.end_offset - result.start_offset)
    entry.done = True
    if listener is not None:
        listener.on_restore_end(topic, partition, store, result.restored_records)
    return result.restored_records, max(result.end_offset, result.start_offset)
