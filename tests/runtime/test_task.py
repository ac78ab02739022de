"""Task: the execution core both drivers share (tested here without the TopologyTestDriver)."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.errors import ProcessingError
from kstreamy.processor import Processor, ProcessorContext, PunctuationType, Record, TaskId
from kstreamy.runtime import ListRecordCollector, Task
from kstreamy.serdes import String
from kstreamy.state.stores import Stores
from kstreamy.topology import Topology

S = String()


class Upper(Processor[Any, Any, Any, Any]):
    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.store = context.get_state_store("last")
        context.schedule(100, PunctuationType.STREAM_TIME, self.tick)
        self.ticks: list[int] = []

    def tick(self, ts: int) -> None:
        self.context.forward(Record("tick", str(ts), ts))

    def process(self, record: Record[Any, Any]) -> None:
        if record.value == "boom":
            raise RuntimeError("boom")
        self.store.put(record.key, record.value)
        meta = self.context.record_metadata()
        assert meta is not None
        self.context.forward(record.with_value(f"{record.value.upper()}@{meta.offset}"))


def make_task(config: dict[str, Any] | None = None) -> tuple[Task, ListRecordCollector]:
    topo = Topology()
    topo.add_source("src", "in", key_serde=S, value_serde=S)
    topo.add_processor("upper", Upper, "src")
    topo.add_state_store(Stores.key_value("last", S, S), "upper")
    topo.add_sink("sink", "out", "upper", key_serde=S, value_serde=S)
    (sub,) = topo.task_subtopologies()
    collector = ListRecordCollector()
    task = Task(
        TaskId(0, 3), topo, sub, collector, config or {}, application_id="app", clock=lambda: 0
    )
    task.initialize()
    return task, collector


def test_process_forwards_depth_first_and_logs_changes_to_the_changelog() -> None:
    task, collector = make_task()
    task.process("in", 3, 7, 1000, b"k", b"v")
    task.commit()
    topics = [(t, k, v, ts, p) for t, k, v, ts, _, p in collector.records]
    assert ("out", b"k", b"V@7", 1000, None) in topics
    assert ("app-last-changelog", b"k", b"v", 1000, 3) in topics
    assert task.stream_time == 1000
    assert task.stores["last"].get("k") == "v"
    assert not task.commit_needed


def test_stream_time_punctuation_is_explicit() -> None:
    task, collector = make_task()
    task.process("in", 3, 0, 150, b"k", b"v")
    assert task.punctuate_stream_time()
    assert any(r[1] == b"tick" and r[2] == b"150" for r in collector.records)
    assert not task.punctuate_stream_time()  # next one is due at 200


def test_processing_error_carries_location() -> None:
    task, _ = make_task()
    with pytest.raises(ProcessingError) as info:
        task.process("in", 3, 9, 5, b"key", b"boom")
    assert (info.value.node, info.value.topic, info.value.partition, info.value.offset) == (
        "upper",
        "in",
        3,
        9,
    )


def test_subtopology_grouping_by_edges_and_shared_stores() -> None:
    topo = Topology()
    topo.add_source("b-src", "b")
    topo.add_source("a-src", "a")
    topo.add_processor("pa", Upper, "a-src")
    topo.add_processor("pb", Upper, "b-src")
    topo.add_state_store(Stores.key_value("last", S, S), "pa", "pb")
    topo.add_source("c-src", "c")
    subs = topo.subtopologies()
    assert [sorted(s.nodes) for s in subs] == [["a-src", "b-src", "pa", "pb"], ["c-src"]]
    assert subs[0].stores == ["last"]
