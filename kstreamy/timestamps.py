"""Timestamp extractors: which time a record carries into the topology (Kafka's
`TimestampExtractor`), and what happens to records whose timestamp is negative.

An extractor is a callable `(key, value, record_timestamp, partition_time) -> int`. Set one per
source (`builder.stream(..., timestamp_extractor=...)`) or for all sources with
`default.timestamp.extractor`, which also takes Kafka's built-ins by name:

- `"fail"` (the default, Kafka's `FailOnInvalidTimestamp`): the record's own timestamp; a negative
  one stops the task with an error naming the topic, partition and offset;
- `"log_and_skip"` (`LogAndSkipOnInvalidTimestamp`): a record with a negative timestamp is logged,
  counted and dropped;
- `"use_partition_time"` (`UsePartitionTimeOnInvalidTimestamp`): a negative timestamp is replaced by
  the highest timestamp seen so far (stream time); before any valid record, the task fails.

A custom extractor returning a negative timestamp gets the `log_and_skip` treatment, as in Kafka.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kstreamy.errors import ConfigError, StreamsError

TimestampExtractor = Callable[[Any, Any, int, int], int]


def log_and_skip_on_invalid_timestamp(
    key: Any, value: Any, timestamp: int, partition_time: int
) -> int:
    """The record's timestamp; the task drops (and counts) the record when it is negative."""
    return timestamp


def use_partition_time_on_invalid_timestamp(
    key: Any, value: Any, timestamp: int, partition_time: int
) -> int:
    """The record's timestamp, or stream time when the record's is negative."""
    if timestamp >= 0:
        return timestamp
    if partition_time < 0:
        raise StreamsError(
            f"Record has a negative timestamp ({timestamp}) and no valid timestamp was seen yet "
            "to use instead (use_partition_time_on_invalid_timestamp)"
        )
    return partition_time


_BY_NAME: dict[str, TimestampExtractor | None] = {
    "fail": None,
    "fail_on_invalid_timestamp": None,
    "log_and_skip": log_and_skip_on_invalid_timestamp,
    "log_and_skip_on_invalid_timestamp": log_and_skip_on_invalid_timestamp,
    "use_partition_time": use_partition_time_on_invalid_timestamp,
    "use_partition_time_on_invalid_timestamp": use_partition_time_on_invalid_timestamp,
}


def resolve_timestamp_extractor(value: Any) -> TimestampExtractor | None:
    """The extractor a config value names; None means the default (fail on negative)."""
    if value is None:
        return None
    if isinstance(value, str):
        name = value.strip().lower()
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise ConfigError(
            f"default.timestamp.extractor={value!r} is not known; accepted: 'fail', "
            "'log_and_skip', 'use_partition_time', or a callable "
            "(key, value, record_timestamp, partition_time) -> int"
        )
    extract = getattr(value, "extract", None)
    if callable(extract):
        return extract  # type: ignore[no-any-return]
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigError(
        f"default.timestamp.extractor must be a name, a callable or an object with extract(...), "
        f"got {value!r}"
    )


def negative_timestamp_error(
    topic: str, partition: int, offset: int, timestamp: int
) -> StreamsError:
    """Kafka's FailOnInvalidTimestamp error, naming the record and the ways out."""
    return StreamsError(
        f"Record from {topic}-{partition} at offset {offset} has a negative timestamp "
        f"({timestamp}). The producer may be too old or misconfigured. Fix the input, or set "
        "default.timestamp.extractor to 'log_and_skip' (drop such records) or "
        "'use_partition_time' (use stream time instead)."
    )
