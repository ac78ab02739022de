"""Stream-stream joins through the driver (scenarios from Kafka's KStreamKStreamJoinTest,
KStreamKStreamLeftJoinTest and KStreamKStreamOuterJoinTest, Kafka >= 3.1 semantics).

Calls `kstreamy.dsl_windowed.stream_stream_join(left, right, joiner, windows, kind=...)` (what
`KStream.join/left_join/outer_join(other, joiner, windows=JoinWindows...)` delegate to).
"""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.dsl_windowed import stream_stream_join
from kstreamy.processors.windowed._common import dropped_records
from kstreamy.processors.windowed.stream_stream_join import EMIT_INTERVAL_CONFIG
from kstreamy.serdes import Integer, String
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.windows import JoinWindows

INT, S = Integer(), String()
CONFIG = {"statestore.cache.max.bytes": 0, EMIT_INTERVAL_CONFIG: 0}


def joiner(a: Any, b: Any) -> str:
    return f"{a}+{b}"


def build(kind: str, windows: JoinWindows, name: str | None = None) -> StreamsBuilder:
    b = StreamsBuilder()
    left = b.stream("left", INT, S)
    right = b.stream("right", INT, S)
    stream_stream_join(left, right, joiner, windows, kind=kind, name=name).to("out", INT, S)
    return b


class Harness:
    def __init__(self, d: TopologyTestDriver, right: bool = True) -> None:
        self.d = d
        self.left = d.create_input_topic("left", INT, S)
        if right:
            self.right = d.create_input_topic("right", INT, S)
        self.out = d.create_output_topic("out", INT, S)

    def take(self) -> list[tuple[Any, Any, int | None]]:
        return [(r.key, r.value, r.timestamp) for r in self.out.read_records_to_list()]


def test_inner_join_matches_both_directions() -> None:
    """KStreamKStreamJoinTest.testJoin: every record joins all other-side records of its key in
    the window (all at time 0 here), in store order; nothing is emitted without a partner."""
    with TopologyTestDriver(build("inner", JoinWindows.of(100)).build(), CONFIG) as d:
        h = Harness(d)
        for k in (0, 1):
            h.left.pipe_input(k, f"A{k}", 0)
        assert h.take() == []
        for k in (0, 1):
            h.right.pipe_input(k, f"a{k}", 0)
        assert h.take() == [(0, "A0+a0", 0), (1, "A1+a1", 0)]
        for k in (0, 1, 2, 3):
            h.left.pipe_input(k, f"B{k}", 0)
        assert h.take() == [(0, "B0+a0", 0), (1, "B1+a1", 0)]
        for k in (0, 1, 2, 3):
            h.right.pipe_input(k, f"b{k}", 0)
        assert h.take() == [
            (0, "A0+b0", 0), (0, "B0+b0", 0), (1, "A1+b1", 0), (1, "B1+b1", 0),
            (2, "B2+b2", 0), (3, "B3+b3", 0),
        ]  # fmt: skip


def test_window_bounds_are_inclusive_and_result_time_is_the_max() -> None:
    """KStreamKStreamJoinTest.testWindowing: left records at 1000..1003 join right records in
    [t - 100, t + 100] (both inclusive); the result's timestamp is max(left, right)."""
    with TopologyTestDriver(build("inner", JoinWindows.of(100)).build(), CONFIG) as d:
        h = Harness(d)
        for i in range(4):
            h.left.pipe_input(i, f"A{i}", 1000 + i)
        expected_upper = {1100: [0, 1, 2, 3], 1101: [1, 2, 3], 1102: [2, 3], 1103: [3], 1104: []}
        for ts, keys in expected_upper.items():
            for k in range(4):
                h.right.pipe_input(k, f"b{k}", ts)
            assert h.take() == [(k, f"A{k}+b{k}", ts) for k in keys], ts
        expected_lower = {899: [], 900: [0], 901: [0, 1], 902: [0, 1, 2], 903: [0, 1, 2, 3]}
        for ts, keys in expected_lower.items():
            for k in range(4):
                h.right.pipe_input(k, f"c{k}", ts)
            assert h.take() == [(k, f"A{k}+c{k}", 1000 + k) for k in keys], ts


def test_asymmetric_windows_before_after() -> None:
    """JoinWindows.before/after: a left record at t joins right records in [t - before,
    t + after]; from the right side the bounds swap."""
    windows = JoinWindows.of(0).after(10).before(0)
    with TopologyTestDriver(build("inner", windows).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(1, "A", 100)
        h.right.pipe_input(1, "early", 99)
        h.right.pipe_input(1, "late", 110)
        h.right.pipe_input(1, "too-late", 111)
        assert h.take() == [(1, "A+late", 110)]


def test_left_join_emits_unmatched_records_after_window_close() -> None:
    """Kafka >= 3.1 left join: an unmatched left record is emitted joined with None only once
    stream time passes its time + after + grace; a later match removes it instead."""
    with TopologyTestDriver(build("left", JoinWindows.of(100)).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(0, "A0", 0)
        h.left.pipe_input(1, "A1", 0)
        assert h.take() == []
        h.right.pipe_input(0, "a0", 0)
        assert h.take() == [(0, "A0+a0", 0)]
        h.left.pipe_input(3, "A3", 100)  # stream time 100: 0 + 100 + 0 >= 100, still open
        assert h.take() == []
        h.left.pipe_input(2, "A2", 101)  # 0 + 100 < 101: A1's window closed
        assert h.take() == [(1, "A1+None", 0)]
        h.right.pipe_input(3, "a3", 150)  # matches A3 (held) -> no null result for it later
        assert h.take() == [(3, "A3+a3", 150)]
        h.right.pipe_input(9, "x", 500)  # closes everything still held: only A2 is left
        assert h.take() == [(2, "A2+None", 101)]


def test_left_join_late_record_without_partner_is_emitted_at_once() -> None:
    """A left record whose window is already behind stream time (t + after < stream time) is not
    held: it is emitted joined with None immediately (KStreamKStreamLeftJoinTest lower bound)."""
    with TopologyTestDriver(build("left", JoinWindows.of(10, grace_ms=100)).build(), CONFIG) as d:
        h = Harness(d)
        h.right.pipe_input(5, "r", 200)
        h.left.pipe_input(1, "late", 50)  # 50 + 10 < 200
        assert h.take() == [(1, "late+None", 50)]


def test_outer_join_emits_both_sides_after_close_with_grace() -> None:
    """Outer join: unmatched records of both sides come out joined with None after
    time + lookback + grace (lookback: after for left records, before for right ones); held
    records are emitted in time order, right before left at equal times."""
    with TopologyTestDriver(build("outer", JoinWindows.of(10, grace_ms=5)).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(1, "A", 0)
        h.right.pipe_input(2, "b", 0)
        h.right.pipe_input(3, "c", 3)
        h.left.pipe_input(9, "tick", 15)  # 0 + 10 + 5 >= 15: still open
        assert h.take() == []
        h.left.pipe_input(9, "tick2", 16)
        assert h.take() == [(2, "None+b", 0), (1, "A+None", 0)]
        # Kafka's scan keeps the time of the last held record it looked at (16) as the earliest
        # held time, so the next scan waits for 16 + 10 + 5 < stream time
        h.right.pipe_input(8, "tock", 19)
        assert h.take() == []
        h.left.pipe_input(7, "t3", 32)
        assert h.take() == [(3, "None+c", 3), (9, "tick+None", 15), (9, "tick2+None", 16)]


def test_outer_join_result_timestamp_is_max() -> None:
    with TopologyTestDriver(build("outer", JoinWindows.of(10)).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(1, "A", 5)
        h.right.pipe_input(1, "a", 3)
        assert h.take() == [(1, "A+a", 5)]


def test_null_values_are_dropped_and_null_keys_follow_kip_962() -> None:
    """Null values are always dropped (and counted); a null key is dropped on an inner side and
    emitted at once joined with None on an outer side (KIP-962)."""
    with TopologyTestDriver(build("left", JoinWindows.of(10)).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(None, "nk", 7)
        h.left.pipe_input(1, None, 7)
        h.right.pipe_input(None, "rk", 7)
        h.right.pipe_input(1, None, 7)
        assert h.take() == [(None, "nk+None", 7)]
        assert dropped_records(d.tasks[0]) == 3
    with TopologyTestDriver(build("inner", JoinWindows.of(10)).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(None, "nk", 7)
        assert h.take() == []


def test_repartitioned_left_join_keeps_null_keys() -> None:
    """A key-changing left side is repartitioned before the join; its null-key records still
    reach the join and come out joined with None (KIP-962, repartitioned joins included)."""
    b = StreamsBuilder()
    left = b.stream("left", INT, S).select_key(lambda k, v: None if v == "drop-key" else k * 10)
    right = b.stream("right", INT, S)
    stream_stream_join(left, right, joiner, JoinWindows.of(5), kind="left", name="j").to(
        "out", INT, S
    )
    topology = b.build()
    assert "j-left-repartition" in topology.internal_topics
    with TopologyTestDriver(topology, CONFIG) as d:
        h = Harness(d)
        h.right.pipe_input(10, "r", 0)
        h.left.pipe_input(1, "v", 1)
        h.left.pipe_input(2, "drop-key", 2)
        assert h.take() == [(10, "v+r", 1), (None, "drop-key+None", 2)]


def test_self_join() -> None:
    """A stream joined with itself: each record joins itself and earlier records both ways."""
    b = StreamsBuilder()
    s = b.stream("left", INT, S)
    stream_stream_join(s, s, joiner, JoinWindows.of(10)).to("out", INT, S)
    with TopologyTestDriver(b.build(), CONFIG) as d:
        h = Harness(d, right=False)
        h.left.pipe_input(1, "A", 0)
        h.left.pipe_input(1, "B", 1)
        assert h.take() == [(1, "A+A", 0), (1, "B+A", 1), (1, "A+B", 1), (1, "B+B", 1)]


def test_emission_of_held_records_is_throttled_by_wall_clock() -> None:
    """Kafka throttles the scan of held records to once per emit interval of wall-clock time
    (internal config, default 1000 ms; Kafka's TopologyTestDriver defaults it to 0, so it is
    set explicitly here)."""
    b = build("left", JoinWindows.of(10))
    config = {"statestore.cache.max.bytes": 0, EMIT_INTERVAL_CONFIG: 1000}
    with TopologyTestDriver(b.build(), config, initial_wall_clock_ms=0) as d:
        h = Harness(d)
        h.left.pipe_input(1, "A", 0)
        h.left.pipe_input(2, "B", 20)  # closes A: first scan allowed
        assert h.take() == [(1, "A+None", 0)]
        h.left.pipe_input(3, "C", 40)  # closes B, but the next scan is 1000 ms away
        assert h.take() == []
        d.advance_wall_clock_time(1000)
        h.left.pipe_input(4, "D", 60)
        assert h.take() == [(2, "B+None", 20), (3, "C+None", 40)]


def test_names_and_stores_follow_kafka() -> None:
    """Named joins name their nodes and stores `<name>-this-join`, `<name>-outer-other-join`,
    `<name>-left-shared-join-store`, ... as Kafka does."""
    topology = build("left", JoinWindows.of(10), name="j").build()
    assert {"j-this-join-store", "j-outer-other-join-store", "j-left-shared-join-store"} <= set(
        topology.store_builders
    )
    generated = build("outer", JoinWindows.of(10)).build()
    names = set(generated.store_builders)
    assert any(n.startswith("KSTREAM-OUTERSHARED-") for n in names), names


def test_generated_shared_store_names_and_store_order_follow_kafka() -> None:
    """Kafka names the shared store of a left join KSTREAM-OUTERSHARED-<n>-store too, and
    describe() lists a processor's stores in Java HashSet order."""
    text = str(build("left", JoinWindows.of(10)).build().describe())
    assert (
        "Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, "
        "KSTREAM-OUTERSHARED-0000000004-store])"
    ) in text
    text = str(build("outer", JoinWindows.of(10)).build().describe())
    assert (
        "Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-OUTERTHIS-0000000004-store, "
        "KSTREAM-OUTERSHARED-0000000004-store])"
    ) in text


def test_null_value_advances_its_sides_store_time() -> None:
    """A null-value record is not joined, but (Kafka's KStreamJoinWindow) its side's window
    store still sees its time, expiring records the other side could otherwise have joined."""
    windows = JoinWindows.of(10, grace_ms=5)  # retention: before + after + grace = 25
    with TopologyTestDriver(build("outer", windows).build(), CONFIG) as d:
        h = Harness(d)
        h.left.pipe_input(3, "1", 12)
        h.left.pipe_input(3, None, 37)  # left store time 37: 12 <= 37 - 25 expires
        h.right.pipe_input(3, "2", 9)
        assert h.take() == [(3, "None+2", 9)]


def test_arguments_are_checked() -> None:
    b = StreamsBuilder()
    s = b.stream("left", INT, S)
    with pytest.raises(ValueError, match="kind"):
        stream_stream_join(s, s, joiner, JoinWindows.of(1), kind="right")
    with pytest.raises(TypeError, match="JoinWindows"):
        stream_stream_join(s, s, joiner, 10)  # type: ignore[arg-type]


def test_left_join_with_zero_after_emits_records_as_soon_as_time_passes() -> None:
    """KStreamKStreamLeftJoinTest.testLeftJoinedRecordsWithZeroAfterAreEmitted: with after = 0
    a left record's window closes as soon as stream time moves past it; right records join left
    records in [t, t + 100] (the right side sees the bounds swapped)."""
    windows = JoinWindows.of(100).after(0)
    with TopologyTestDriver(build("left", windows).build(), CONFIG) as d:
        h = Harness(d)
        for k in range(4):
            h.left.pipe_input(k, f"A{k}", 1000 + k)
        assert h.take() == [(0, "A0+None", 1000), (1, "A1+None", 1001), (2, "A2+None", 1002)]
        expected = {
            999: [0, 1, 2, 3], 1000: [0, 1, 2, 3], 1001: [1, 2, 3], 1002: [2, 3], 1003: [3],
        }  # fmt: skip
        for (ts, keys), prefix in zip(expected.items(), "abcde", strict=True):
            for k in range(4):
                h.right.pipe_input(k, f"{prefix}{k}", ts)
            assert h.take() == [(k, f"A{k}+{prefix}{k}", 1000 + k) for k in keys], ts
        for k in range(4):
            h.right.pipe_input(k, f"f{k}", 1100)
        assert h.take() == []


def test_outer_join_on_lmdb_stores(tmp_path: Any) -> None:
    """With a state.dir the join window stores and the shared outer store are LMDB-backed."""
    config = {**CONFIG, "state.dir": str(tmp_path)}
    with TopologyTestDriver(build("outer", JoinWindows.of(10), name="j").build(), config) as d:
        assert d.get_state_store("j-outer-shared-join-store").persistent
        h = Harness(d)
        h.left.pipe_input(1, "A", 0)
        h.right.pipe_input(2, "b", 3)
        h.right.pipe_input(1, "a", 5)
        h.left.pipe_input(9, "tick", 30)
        assert h.take() == [(1, "A+a", 5), (2, "None+b", 3)]
