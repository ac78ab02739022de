"""kstreamy: Kafka Streams, reimplemented in Python.

The public API (see docs and ../shared/API.md): build a topology with `StreamsBuilder`, test it
with `TopologyTestDriver`, run it on Kafka with `KafkaStreams`. Serdes also live in
`kstreamy.serdes`.
"""

from kstreamy.config import StreamsConfig
from kstreamy.dsl import (
    BranchedKStream,
    GlobalKTable,
    KGroupedStream,
    KGroupedTable,
    KStream,
    KTable,
    StreamsBuilder,
)
from kstreamy.errors import (
    DeadLetterQueueHandler,
    DeserializationError,
    KStreamyError,
    LogAndContinueHandler,
    LogAndFailHandler,
    ProcessingError,
    StreamsError,
    TopologyError,
)
from kstreamy.processor import (
    Processor,
    ProcessorContext,
    PunctuationType,
    Record,
    RecordMetadata,
    TaskId,
)
from kstreamy.runtime.app import KafkaStreams, State
from kstreamy.serdes import (
    Bytes,
    Double,
    Integer,
    Json,
    Long,
    MsgPack,
    Serde,
    SessionWindowed,
    String,
    TimeWindowed,
)
from kstreamy.state import Stores, ValueAndTimestamp
from kstreamy.suppressed import Suppressed
from kstreamy.testing.driver import TestInputTopic, TestOutputTopic, TopologyTestDriver
from kstreamy.topology import Topology
from kstreamy.windows import (
    JoinWindows,
    SessionWindow,
    SessionWindows,
    SlidingWindows,
    TimeWindow,
    TimeWindows,
    Window,
    Windowed,
)

__version__ = "0.1.0"

__all__ = [
    "BranchedKStream",
    "Bytes",
    "DeadLetterQueueHandler",
    "DeserializationError",
    "Double",
    "GlobalKTable",
    "Integer",
    "JoinWindows",
    "Json",
    "KGroupedStream",
    "KGroupedTable",
    "KStream",
    "KStreamyError",
    "KTable",
    "KafkaStreams",
    "LogAndContinueHandler",
    "LogAndFailHandler",
    "Long",
    "MsgPack",
    "ProcessingError",
    "Processor",
    "ProcessorContext",
    "PunctuationType",
    "Record",
    "RecordMetadata",
    "Serde",
    "SessionWindow",
    "SessionWindowed",
    "SessionWindows",
    "SlidingWindows",
    "State",
    "Stores",
    "StreamsBuilder",
    "StreamsConfig",
    "StreamsError",
    "String",
    "Suppressed",
    "TaskId",
    "TestInputTopic",
    "TestOutputTopic",
    "TimeWindow",
    "TimeWindowed",
    "TimeWindows",
    "Topology",
    "TopologyError",
    "TopologyTestDriver",
    "ValueAndTimestamp",
    "Window",
    "Windowed",
]
