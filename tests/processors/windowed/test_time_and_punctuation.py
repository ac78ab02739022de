"""Time rules the windowed operators rely on (Kafka Streams' stream time and punctuation),
checked through the driver with Processor API nodes."""

from __future__ import annotations

from typing import Any

from kstreamy.dsl import StreamsBuilder
from kstreamy.processor import Processor, ProcessorContext, PunctuationType, Record
from kstreamy.serdes import String
from kstreamy.testing.driver import TopologyTestDriver

S = String()


class Scheduling(Processor[Any, Any, Any, Any]):
    def __init__(self, kind: PunctuationType, interval: int, log: list[Any]) -> None:
        self.kind, self.interval, self.log = kind, interval, log

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        context.schedule(self.interval, self.kind, lambda ts: self.log.append(("punctuate", ts)))

    def process(self, record: Record[Any, Any]) -> None:
        self.log.append(("record", record.timestamp, self.context.current_stream_time_ms()))


def run(kind: PunctuationType, timestamps: list[int], wall_steps: list[int] = ()) -> list[Any]:
    log: list[Any] = []
    b = StreamsBuilder()
    b.stream("in", S, S).process(lambda: Scheduling(kind, 10, log))
    with TopologyTestDriver(b.build(), initial_wall_clock_ms=0) as d:
        inp = d.create_input_topic("in", S, S)
        for ts in timestamps:
            inp.pipe_input("k", "v", ts)
        for step in wall_steps:
            d.advance_wall_clock_time(step)
    return log


def test_stream_time_punctuation_is_aligned_to_zero_and_fires_once_per_advance() -> None:
    """STREAM_TIME: the first punctuation is due at 0 (as soon as there is data); a jump over
    several intervals fires once; the callback gets the current stream time."""
    log = run(PunctuationType.STREAM_TIME, [3, 9, 10, 35, 36, 40])
    assert [e for e in log if e[0] == "punctuate"] == [
        ("punctuate", 3),
        ("punctuate", 10),
        ("punctuate", 35),
        ("punctuate", 40),
    ]


def test_stream_time_never_goes_backwards() -> None:
    """Stream time is the highest timestamp seen; out-of-order records do not lower it and do
    not trigger stream-time punctuation."""
    log = run(PunctuationType.STREAM_TIME, [25, 5, 12])
    assert [e for e in log if e[0] == "record"] == [
        ("record", 25, 25),
        ("record", 5, 25),
        ("record", 12, 25),
    ]
    assert [e for e in log if e[0] == "punctuate"] == [("punctuate", 25)]


def test_wall_clock_punctuation_follows_the_driver_clock() -> None:
    """WALL_CLOCK_TIME: due every interval of (mocked) system time, independent of records."""
    log = run(PunctuationType.WALL_CLOCK_TIME, [1], wall_steps=[5, 5, 25])
    assert [e for e in log if e[0] == "punctuate"] == [("punctuate", 10), ("punctuate", 35)]
