"""Table-table joins: step-by-step expected outputs ported (as data) from Kafka Streams'
KTableKTableInnerJoinTest / KTableKTableLeftJoinTest / KTableKTableOuterJoinTest (doTestJoin):
keys 0..3, joiner "left+right", result timestamp = max of both sides' timestamps."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.processor import Processor, Record
from kstreamy.serdes import Integer, String
from kstreamy.testing.driver import TopologyTestDriver

INT, S = Integer(), String()
KEYS = [0, 1, 2, 3]


def joiner(a: Any, b: Any) -> str:
    return f"{'null' if a is None else a}+{'null' if b is None else b}"


# Each step: (topic, [(key, value, ts), ...]) and the expected output [(key, value, ts), ...].
STEPS: list[tuple[str, list[tuple[Any, Any, int]]]] = [
    ("t1", [(0, "X0", 5), (1, "X1", 6), (None, "SomeVal", 42)]),
    ("t2", [(0, "Y0", 0), (1, "Y1", 10), (None, "AnotherVal", 73)]),
    ("t1", [(k, f"XX{k}", 7) for k in KEYS]),
    ("t2", [(k, f"YY{k}", k * 5) for k in KEYS]),
    ("t1", [(k, f"XXX{k}", 6) for k in KEYS]),
    ("t2", [(0, None, 5), (1, None, 7)]),
    ("t1", [(k, f"XXXX{k}", 13) for k in KEYS]),
    ("t1", [(0, None, 0), (1, None, 42), (2, None, 5), (3, None, 20)]),
]

EXPECTED = {
    "inner": [
        [],
        [(0, "X0+Y0", 5), (1, "X1+Y1", 10)],
        [(0, "XX0+Y0", 7), (1, "XX1+Y1", 10)],
        [(0, "XX0+YY0", 7), (1, "XX1+YY1", 7), (2, "XX2+YY2", 10), (3, "XX3+YY3", 15)],
        [(0, "XXX0+YY0", 6), (1, "XXX1+YY1", 6), (2, "XXX2+YY2", 10), (3, "XXX3+YY3", 15)],
        [(0, None, 6), (1, None, 7)],
        [(2, "XXXX2+YY2", 13), (3, "XXXX3+YY3", 15)],
        [(2, None, 10), (3, None, 20)],
    ],
    "left": [
        [(0, "X0+null", 5), (1, "X1+null", 6)],
        [(0, "X0+Y0", 5), (1, "X1+Y1", 10)],
        [(0, "XX0+Y0", 7), (1, "XX1+Y1", 10), (2, "XX2+null", 7), (3, "XX3+null", 7)],
        [(0, "XX0+YY0", 7), (1, "XX1+YY1", 7), (2, "XX2+YY2", 10), (3, "XX3+YY3", 15)],
        [(0, "XXX0+YY0", 6), (1, "XXX1+YY1", 6), (2, "XXX2+YY2", 10), (3, "XXX3+YY3", 15)],
        [(0, "XXX0+null", 6), (1, "XXX1+null", 7)],
        [(0, "XXXX0+null", 13), (1, "XXXX1+null", 13), (2, "XXXX2+YY2", 13), (3, "XXXX3+YY3", 15)],
        [(0, None, 0), (1, None, 42), (2, None, 10), (3, None, 20)],
    ],
    "outer": [
        [(0, "X0+null", 5), (1, "X1+null", 6)],
        [(0, "X0+Y0", 5), (1, "X1+Y1", 10)],
        [(0, "XX0+Y0", 7), (1, "XX1+Y1", 10), (2, "XX2+null", 7), (3, "XX3+null", 7)],
        [(0, "XX0+YY0", 7), (1, "XX1+YY1", 7), (2, "XX2+YY2", 10), (3, "XX3+YY3", 15)],
        [(0, "XXX0+YY0", 6), (1, "XXX1+YY1", 6), (2, "XXX2+YY2", 10), (3, "XXX3+YY3", 15)],
        [(0, "XXX0+null", 6), (1, "XXX1+null", 7)],
        [(0, "XXXX0+null", 13), (1, "XXXX1+null", 13), (2, "XXXX2+YY2", 13), (3, "XXXX3+YY3", 15)],
        [(0, None, 0), (1, None, 42), (2, "null+YY2", 10), (3, "null+YY3", 20)],
    ],
}


def build(kind: str, store: str | None = None) -> StreamsBuilder:
    b = StreamsBuilder()
    t1 = b.table("t1", INT, S)
    t2 = b.table("t2", INT, S)
    op = {"inner": t1.join, "left": t1.left_join, "outer": t1.outer_join}[kind]
    op(t2, joiner, store=store, value_serde=S).to_stream().to("out", INT, S)
    return b


@pytest.mark.parametrize("kind", ["inner", "left", "outer"])
@pytest.mark.parametrize("store", [None, "joined"])
@pytest.mark.parametrize("cache", [0, 10_000_000])
def test_table_table_join_step_by_step(kind: str, store: str | None, cache: int) -> None:
    """Kafka rule: table-table joins emit on both sides; inner emits only when both exist (a
    delete of either side becomes a tombstone), left/outer emit with null for the missing side;
    result timestamp = max(left ts, right ts); null keys are dropped."""
    b = build(kind, store)
    with TopologyTestDriver(b.build(), {"statestore.cache.max.bytes": cache}) as d:
        inputs = {t: d.create_input_topic(t, INT, S) for t in ("t1", "t2")}
        out = d.create_output_topic("out", INT, S)
        for (topic, records), expected in zip(STEPS, EXPECTED[kind], strict=True):
            for key, value, ts in records:
                inputs[topic].pipe_input(key, value, ts)
            got = [(r.key, r.value, r.timestamp) for r in out.read_records_to_list()]
            assert got == expected, (topic, records)
        if store is not None:
            view = d.get_key_value_store("joined")
            expected_final = {"inner": {}, "left": {}, "outer": {2: "null+YY2", 3: "null+YY3"}}[
                kind
            ]
            assert dict(view.all()) == expected_final


def test_table_table_join_is_copartitioned() -> None:
    """Kafka rule: both join inputs form one co-partition group."""
    topo = build("inner").build()
    assert topo.copartition_groups == [{"t1", "t2"}]


class Capture(Processor[Any, Any, Any, Any]):
    seen: list[tuple[Any, Any, int]] = []

    def process(self, record: Record[Any, Any]) -> None:
        Capture.seen.append((record.key, (record.value.new, record.value.old), record.timestamp))


def test_inner_join_sending_old_values() -> None:
    """KTableKTableInnerJoinTest.testSendingOldValues: with old values enabled the join emits
    Change(new, old) pairs, i.e. retractions of the previous join result."""
    b = StreamsBuilder()
    t1, t2 = b.table("t1", INT, S), b.table("t2", INT, S)
    joined = t1.join(t2, joiner)
    joined.enable_send_old_values()
    topo = b.build()
    topo.add_processor("proc", Capture, joined.name)
    Capture.seen = []
    expected = [
        [],
        [(0, ("X0+Y0", None), 5), (1, ("X1+Y1", None), 10)],
        [(0, ("XX0+Y0", "X0+Y0"), 7), (1, ("XX1+Y1", "X1+Y1"), 10)],
        [
            (0, ("XX0+YY0", "XX0+Y0"), 7),
            (1, ("XX1+YY1", "XX1+Y1"), 7),
            (2, ("XX2+YY2", None), 10),
            (3, ("XX3+YY3", None), 15),
        ],
        [
            (0, ("XXX0+YY0", "XX0+YY0"), 6),
            (1, ("XXX1+YY1", "XX1+YY1"), 6),
            (2, ("XXX2+YY2", "XX2+YY2"), 10),
            (3, ("XXX3+YY3", "XX3+YY3"), 15),
        ],
        [(0, (None, "XXX0+YY0"), 6), (1, (None, "XXX1+YY1"), 7)],
        [(2, ("XXXX2+YY2", "XXX2+YY2"), 13), (3, ("XXXX3+YY3", "XXX3+YY3"), 15)],
        [(2, (None, "XXXX2+YY2"), 10), (3, (None, "XXXX3+YY3"), 20)],
    ]
    with TopologyTestDriver(topo, {"statestore.cache.max.bytes": 0}) as d:
        inputs = {t: d.create_input_topic(t, INT, S) for t in ("t1", "t2")}
        for (topic, records), exp in zip(STEPS, expected, strict=True):
            for key, value, ts in records:
                inputs[topic].pipe_input(key, value, ts)
            assert Capture.seen == exp, (topic, records)
            Capture.seen = []
