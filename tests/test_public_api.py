"""The public API changes only on purpose: `kstreamy.__all__` is pinned here, and every name the
API contract (API.md) lists is importable from `kstreamy`."""

import kstreamy
import kstreamy.serdes

EXPECTED = {
    "BranchedKStream", "Bytes", "DeadLetterQueueHandler", "DeserializationError", "Double",
    "GlobalKTable", "Integer", "JoinWindows", "Json", "KGroupedStream", "KGroupedTable", "KStream",
    "KStreamyError", "KTable", "KafkaStreams", "LogAndContinueHandler", "LogAndFailHandler", "Long",
    "MsgPack", "ProcessingError", "Processor", "ProcessorContext", "PunctuationType", "Record",
    "RecordMetadata", "Serde", "SessionWindow", "SessionWindowed", "SessionWindows",
    "SlidingWindows", "State", "Stores", "StreamsBuilder", "StreamsConfig", "StreamsError",
    "String", "Suppressed", "TaskId", "TestInputTopic", "TestOutputTopic", "TimeWindow",
    "TimeWindowed", "TimeWindows", "Topology", "TopologyError", "TopologyTestDriver",
    "ValueAndTimestamp", "Window", "Windowed",
}  # fmt: skip

# Names API.md promises from `kstreamy` (and serdes from `kstreamy.serdes`).
CONTRACT = [
    "StreamsBuilder", "KStream", "KTable", "GlobalKTable", "KGroupedStream", "KGroupedTable",
    "Stores", "Topology", "TopologyTestDriver", "KafkaStreams", "TimeWindows", "SlidingWindows",
    "SessionWindows", "JoinWindows", "Windowed", "Suppressed", "Processor", "Record",
    "PunctuationType", "String", "Bytes", "Integer", "Long", "Double", "Json", "MsgPack",
    "TimeWindowed", "SessionWindowed", "Serde",
]  # fmt: skip
SERDES = ["String", "Bytes", "Integer", "Long", "Double", "Json", "MsgPack", "TimeWindowed",
          "SessionWindowed", "Serde"]  # fmt: skip


def test_all_is_pinned_and_sorted() -> None:
    assert set(kstreamy.__all__) == EXPECTED
    assert list(kstreamy.__all__) == sorted(kstreamy.__all__)


def test_every_exported_name_exists() -> None:
    missing = [name for name in kstreamy.__all__ if not hasattr(kstreamy, name)]
    assert missing == []


def test_contract_names_are_importable() -> None:
    assert [n for n in CONTRACT if n not in kstreamy.__all__] == []
    assert [n for n in SERDES if not hasattr(kstreamy.serdes, n)] == []


def test_state_enum_has_kafka_streams_states() -> None:
    names = {s.name for s in kstreamy.State}
    expected = {"CREATED", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "NOT_RUNNING", "ERROR"}
    assert expected <= names
