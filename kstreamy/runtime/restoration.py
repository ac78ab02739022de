"""Bring a task's stores up to date from their changelogs before the task processes records.

A store starts from its checkpointed changelog offset (persistent stores whose checkpoint is
trusted) or from the beginning (in-memory stores, missing checkpoint, or under exactly-once when
the previous run did not close cleanly), and reads until the end offset taken when restoration
starts. Restoration reads with its own consumer (assign only, never part of the group).

Checkpoints (`kstreamy.state.checkpoint.OffsetCheckpoint`) hold the next offset to restore.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kstreamy.errors import StreamsError
from kstreamy.state.api import RestoreCallback

log = logging.getLogger(__name__)

_BATCH = 1000


@dataclass
class RestoreProgress:
    """One changelog partition being restored; readable from the app for observability."""

    topic: str
    partition: int
    start_offset: int
    end_offset: int
    restored: int = 0
    done: bool = False


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


def restore_changelog(
    consumer: Any,
    topic: str,
    partition: int,
    start: int | None,
    apply: RestoreCallback,
    progress_sink: Callable[[RestoreProgress], None] | None = None,
    timeout: float = 60.0,
) -> tuple[int, int]:
    """Read `topic`/`partition` from `start` (None: the beginning) to the end offset as of now.

    Returns (records applied, next offset), the offset to checkpoint. Stops by position, so a
    changelog still being written to by a zombie never keeps it reading forever.
    """
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    low, high = watermarks(consumer, topic, partition, timeout)
    begin = low if start is None else max(start, low)
    progress = RestoreProgress(topic, partition, begin, high)
    if progress_sink is not None:
        progress_sink(progress)
    if begin >= high:
        progress.done = True
        return 0, max(high, begin if start is not None else high)
    first = begin if start is not None else OFFSET_BEGINNING
    consumer.assign([TopicPartition(topic, partition, first)])
    applied = 0
    position = begin
    deadline = time.monotonic() + timeout
    try:
        while position < high:
            msgs = consumer.consume(num_messages=_BATCH, timeout=0.2)
            batch: list[tuple[bytes, bytes | None]] = []
            for msg in msgs:
                if msg.error() is not None:
                    continue
                position = msg.offset() + 1
                batch.append((msg.key(), msg.value()))
            if batch:
                apply(batch)
                applied += len(batch)
                progress.restored = applied
                deadline = time.monotonic() + timeout
            elif msgs == []:
                # transaction markers have no message: ask the consumer where it stands
                pos = consumer.position([TopicPartition(topic, partition)])[0].offset
                if pos >= 0:
                    position = max(position, pos)
                if time.monotonic() > deadline:
                    raise StreamsError(
                        f"Restoring changelog {topic} partition {partition} made no progress for "
                        f"{timeout:.0f}s at offset {position} (end offset {high}); is the broker "
                        "reachable?"
                    )
    finally:
        consumer.unassign()
    progress.done = True
    return applied, max(position, high)
