"""Restoring a store from its changelog partition with confluent-kafka.

The end offset is read when restoration starts; restoration ends when the consumer's *position*
reaches it (or the partition-EOF event reports it), never by waiting for "last offset seen ==
end - 1": a transactional changelog ends with a commit marker, which no consumer ever sees.
The consumer reads committed data only (`isolation.level=read_committed`) and is `assign()`ed,
never subscribed, so its `group.id` is a throwaway and no offsets are committed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from kstreamy.errors import StoreError
from kstreamy.state.api import RestoreCallback
from kstreamy.state.checkpoint import restore_start

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called after each batch with (restored records so far, total records to restore)."""

DEFAULT_BATCH_SIZE = 10_000
RESTORE_CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "isolation.level": "read_committed",
    "auto.offset.reset": "earliest",
    "enable.partition.eof": True,
    "fetch.queue.backoff.ms": 1,
    "fetch.wait.max.ms": 50,
}


@dataclass(frozen=True)
class RestoreResult:
    """How many records were applied, from which offset, up to which end offset."""

    restored_records: int
    start_offset: int
    end_offset: int


def restore_consumer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The restore consumer's config: our defaults, then `config` (bootstrap.servers, ...)."""
    merged = {**RESTORE_CONSUMER_DEFAULTS, "group.id": f"kstreamy-restore-{uuid.uuid4()}"}
    merged.update(config)
    return merged


def restore_partition(
    consumer_factory_or_config: Callable[[], Any] | Mapping[str, Any] | Any,
    topic: str,
    partition: int,
    start_offset: int | None,
    restore_callback: RestoreCallback,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    timeout_s: float = 10.0,
    stall_timeout_s: float = 60.0,
    store_name: str | None = None,
) -> RestoreResult:
    """Replay `topic`/`partition` from `start_offset` (None: the beginning) into the store.

    `consumer_factory_or_config` is a config mapping (a consumer is made and closed here), a
    factory returning a consumer (closed here), or a consumer (kept open, unassigned after).
    A checkpoint past the end, or before the first offset, raises `CheckpointOutOfRangeError`;
    the caller wipes the store and calls again with `start_offset=None`.
    """
    owned = True
    consumer: Any
    if isinstance(consumer_factory_or_config, Mapping):
        consumer = Consumer(restore_consumer_config(consumer_factory_or_config))
    elif hasattr(consumer_factory_or_config, "assign"):
        consumer, owned = consumer_factory_or_config, False
    else:
        consumer = consumer_factory_or_config()
    what = f"store '{store_name}' from changelog '{topic}' partition {partition}"
    try:
        return _restore(
            consumer,
            topic,
            partition,
            start_offset,
            restore_callback,
            progress,
            batch_size,
            timeout_s,
            stall_timeout_s,
            what,
        )
    finally:
        if owned:
            consumer.close()
        else:
            consumer.unassign()


def _restore(
    consumer: Any,
    topic: str,
    partition: int,
    start_offset: int | None,
    restore_callback: RestoreCallback,
    progress: ProgressCallback | None,
    batch_size: int,
    timeout_s: float,
    stall_timeout_s: float,
    what: str,
) -> RestoreResult:
    watermarks = consumer.get_watermark_offsets(
        TopicPartition(topic, partition), timeout=timeout_s, cached=False
    )
    if watermarks is None:
        raise StoreError(f"Restoring {what}: no end offset within {timeout_s:g}s; is it there?")
    low, end = int(watermarks[0]), int(watermarks[1])
    start = restore_start(topic, partition, start_offset, low, end)
    total = end - start
    if total <= 0:
        return RestoreResult(0, start, end)
    log.info("Restoring %s: offsets %d..%d (%d records at most)", what, start, end, total)
    consumer.assign([TopicPartition(topic, partition, start)])
    tp = [TopicPartition(topic, partition)]
    restored = 0
    position = start
    started = last_progress = last_log = time.monotonic()
    while position < end:
        messages = consumer.consume(batch_size, 0.5)
        batch: list[tuple[bytes, bytes | None]] = []
        append = batch.append
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    position = max(position, int(message.offset()))
                    continue
                raise StoreError(f"Restoring {what} failed at offset {position}: {error}")
            key = message.key()
            if key is not None:
                append((key, message.value()))
        if batch:
            restore_callback(batch)
            restored += len(batch)
        now = time.monotonic()
        current = consumer.position(tp)[0].offset
        if current is not None and current >= 0:
            position = max(position, int(current))
        if messages:
            last_progress = now
            if progress is not None:
                progress(restored, total)
            if now - last_log >= 5.0:
                last_log = now
                log.info("Restoring %s: %d/%d records", what, restored, total)
        elif now - last_progress > stall_timeout_s:
            raise StoreError(
                f"Restoring {what} stalled at offset {position} of {end} for "
                f"{stall_timeout_s:g}s; check the broker and the topic's availability."
            )
    elapsed = time.monotonic() - started
    log.info("Restored %s: %d records up to offset %d in %.2fs", what, restored, end, elapsed)
    return RestoreResult(restored, start, end)
