"""Negative timestamps follow Kafka's extractors: `FailOnInvalidTimestamp` by default,
`LogAndSkipOnInvalidTimestamp` and `UsePartitionTimeOnInvalidTimestamp` by name."""

from typing import Any

import pytest

from kstreamy import StreamsBuilder, StreamsError, String, TopologyTestDriver
from kstreamy.errors import ConfigError


def _run(config: dict[str, Any] | None) -> list[tuple[Any, Any, int]]:
    b = StreamsBuilder()
    b.stream("in", key_serde=String(), value_serde=String()).to(
        "out", key_serde=String(), value_serde=String()
    )
    with TopologyTestDriver(b.build(), config=config) as driver:
        inp = driver.create_input_topic("in", String(), String())
        out = driver.create_output_topic("out", String(), String())
        inp.pipe_input("a", "1", timestamp=10)
        inp.pipe_input("b", "2", timestamp=-5)
        inp.pipe_input("c", "3", timestamp=20)
        return [(r.key, r.value, r.timestamp) for r in out.read_records_to_list()]


def test_default_fails_naming_the_record_and_the_way_out() -> None:
    """Rule: Kafka's default extractor (FailOnInvalidTimestamp) stops on a negative timestamp."""
    with pytest.raises(StreamsError) as info:
        _run(None)
    message = str(info.value)
    assert "negative timestamp (-5)" in message
    assert "in-0" in message and "log_and_skip" in message


def test_log_and_skip_drops_the_record_and_goes_on() -> None:
    """Rule: LogAndSkipOnInvalidTimestamp drops records with a negative timestamp."""
    assert _run({"default.timestamp.extractor": "log_and_skip"}) == [("a", "1", 10), ("c", "3", 20)]


def test_use_partition_time_replaces_a_negative_timestamp_by_stream_time() -> None:
    """Rule: UsePartitionTimeOnInvalidTimestamp uses the highest timestamp seen so far."""
    assert _run({"default.timestamp.extractor": "use_partition_time"}) == [
        ("a", "1", 10),
        ("b", "2", 10),
        ("c", "3", 20),
    ]


def test_a_custom_extractor_sets_the_record_time() -> None:
    """Rule: a TimestampExtractor decides each record's timestamp from key, value and metadata."""
    records = _run({"default.timestamp.extractor": lambda k, v, ts, pt: 1000 + int(v)})
    assert records == [("a", "1", 1001), ("b", "2", 1002), ("c", "3", 1003)]


def test_an_unknown_extractor_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="use_partition_time"):
        _run({"default.timestamp.extractor": "newest"})
