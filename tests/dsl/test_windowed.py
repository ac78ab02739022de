"""Windowed aggregations through the driver; each test names the Kafka rule it checks.

Expected outputs are ported from Kafka Streams' KStreamWindowAggregateTest,
KStreamSessionWindowAggregateProcessorTest and KStreamSlidingWindowAggregateTest scenarios.
The tests call `kstreamy.dsl_windowed.windowed_by(grouped, windows)` (what
`KGroupedStream.windowed_by` delegates to).
"""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.dsl_windowed import windowed_by
from kstreamy.processors.windowed._common import dropped_records
from kstreamy.serdes import Long, SessionWindowed, String, TimeWindowed
from kstreamy.state.windowed_stores import session_store_view, window_store_view
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.windows import SessionWindows, SlidingWindows, TimeWindows

S, L = String(), Long()
NO_CACHE = {"statestore.cache.max.bytes": 0}


def rows(d: TopologyTestDriver, key_serde: Any, value_serde: Any = S) -> list[tuple[Any, ...]]:
    """Output records as (key, start, end, value, timestamp)."""
    out = d.create_output_topic("out", key_serde, value_serde)
    return [
        (r.key.key, r.key.window.start, r.key.window.end, r.value, r.timestamp)
        for r in out.read_records_to_list()
    ]


def string_agg(windows: Any, grace_ok: bool = True) -> StreamsBuilder:
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    table = windowed_by(grouped, windows).aggregate(
        lambda: "0", lambda k, v, agg: f"{agg}+{v}", store="agg", value_serde=S
    )
    table.to_stream().to("out", TimeWindowed(S, windows.size_ms), S)
    return b


def test_hopping_windows_agg_basic() -> None:
    """KStreamWindowAggregateTest.testAggBasic: size 10 advance 5; a record updates every window
    [start, start + 10) containing it, starts are epoch-aligned multiples of 5."""
    b = string_agg(TimeWindows.of(10).advance_by(5))
    inputs = [("A", "1", 0), ("B", "2", 1), ("C", "3", 2), ("D", "4", 3), ("A", "1", 4),
              ("A", "1", 5), ("B", "2", 6), ("D", "4", 7), ("B", "2", 8), ("C", "3", 9),
              ("A", "1", 10), ("B", "2", 11), ("D", "4", 12), ("B", "2", 13),
              ("C", "3", 14)]  # fmt: skip
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        for k, v, ts in inputs:
            inp.pipe_input(k, v, ts)
        assert rows(d, TimeWindowed(S, 10)) == [
            ("A", 0, 10, "0+1", 0),
            ("B", 0, 10, "0+2", 1),
            ("C", 0, 10, "0+3", 2),
            ("D", 0, 10, "0+4", 3),
            ("A", 0, 10, "0+1+1", 4),
            ("A", 0, 10, "0+1+1+1", 5),
            ("A", 5, 15, "0+1", 5),
            ("B", 0, 10, "0+2+2", 6),
            ("B", 5, 15, "0+2", 6),
            ("D", 0, 10, "0+4+4", 7),
            ("D", 5, 15, "0+4", 7),
            ("B", 0, 10, "0+2+2+2", 8),
            ("B", 5, 15, "0+2+2", 8),
            ("C", 0, 10, "0+3+3", 9),
            ("C", 5, 15, "0+3", 9),
            ("A", 5, 15, "0+1+1", 10),
            ("A", 10, 20, "0+1", 10),
            ("B", 5, 15, "0+2+2+2", 11),
            ("B", 10, 20, "0+2", 11),
            ("D", 5, 15, "0+4+4", 12),
            ("D", 10, 20, "0+4", 12),
            ("B", 5, 15, "0+2+2+2+2", 13),
            ("B", 10, 20, "0+2+2", 13),
            ("C", 5, 15, "0+3+3", 14),
            ("C", 10, 20, "0+3", 14),
        ]
        # the store keeps windows starting after (latest start - retention); retention defaults
        # to size + grace = 10, so [0, 10) has expired once a window starting at 10 exists
        store = window_store_view(d.get_window_store("agg"))
        assert store.fetch("B", 0, 20) == [
            (5, "0+2+2+2+2"),
            (10, "0+2+2"),
        ]


def test_late_records_for_closed_windows_are_dropped_and_counted() -> None:
    """KStreamWindowAggregateTest.shouldLogAndMeterWhenSkippingExpiredWindowByGrace: size 10,
    advance 5, grace 90; a window closes once `end + grace <= stream time`, records for it are
    dropped and counted in dropped-records (7 here), other windows of the record still update."""
    b = string_agg(TimeWindows.of(10, grace_ms=90).advance_by(5))
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "100", 100)
        for ts in range(7):
            inp.pipe_input("k", str(ts), ts)
        assert rows(d, TimeWindowed(S, 10)) == [
            ("k", 95, 105, "0+100", 100),
            ("k", 100, 110, "0+100", 100),
            ("k", 5, 15, "0+5", 5),
            ("k", 5, 15, "0+5+6", 6),
        ]
        assert dropped_records(d.tasks[0]) == 7


def test_window_close_boundary_is_end_plus_grace() -> None:
    """Kafka's rule `windowEnd > streamTime - grace` keeps a window open: with size 10 and grace 5
    the window [0, 10) takes records until stream time 14 and closes at stream time 15."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(10, grace_ms=5)).count(store="c").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 14)  # stream time 14: [0,10) still open (10 > 14 - 5)
        inp.pipe_input("k", "b", 3)
        inp.pipe_input("k", "c", 15)  # stream time 15: [0,10) closes (10 <= 15 - 5)
        inp.pipe_input("k", "d", 4)
        assert rows(d, TimeWindowed(S, 10), L) == [
            ("k", 10, 20, 1, 14),
            ("k", 0, 10, 1, 3),
            ("k", 10, 20, 2, 15),
        ]
        assert dropped_records(d.tasks[0]) == 1


def test_tumbling_windows_start_inclusive_end_exclusive_epoch_aligned() -> None:
    """TimeWindows rules: windows are [start, end) aligned to the epoch; a record at exactly 10
    belongs to [10, 20), not [0, 10); hopping starts are multiples of the advance."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(10)).count(store="tumbling").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    hop = windowed_by(grouped, TimeWindows.of(10).advance_by(3)).count(store="hopping")
    hop.to_stream().to("hop", TimeWindowed(S, 10), L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 9)
        inp.pipe_input("k", "b", 10)
        assert rows(d, TimeWindowed(S, 10), L) == [("k", 0, 10, 1, 9), ("k", 10, 20, 1, 10)]
        hops = d.create_output_topic("hop", TimeWindowed(S, 10), L).read_records_to_list()
        assert [(r.key.window.start, r.value) for r in hops] == [
            (0, 1), (3, 1), (6, 1), (9, 1),  # record at 9: starts 0, 3, 6, 9
            (3, 2), (6, 2), (9, 2),  # record at 10: starts 3, 6, 9 (0 ends at 10, exclusive)
        ]  # fmt: skip


def test_windowed_count_reduce_and_null_records() -> None:
    """Windowed aggregations drop records with a null key (counted as dropped) but, like Kafka
    4.4, aggregate null values (the reducer sees them); the window's timestamp is the max of its
    records'."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(100)).reduce(
        lambda a, v: a + ("-" if v is None else v), store="r", value_serde=S
    ).to_stream().to("out", TimeWindowed(S, 100), S)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 50)
        inp.pipe_input(None, "x", 51)
        inp.pipe_input("k", None, 52)
        inp.pipe_input("k", "b", 20)
        assert rows(d, TimeWindowed(S, 100)) == [
            ("k", 0, 100, "a", 50),
            ("k", 0, 100, "a-", 52),
            ("k", 0, 100, "a-b", 52),
        ]
        assert dropped_records(d.tasks[0]) == 1


def test_windowed_reduce_of_a_null_first_value() -> None:
    """A null first value is the window's (null) aggregate: with caching off it goes downstream
    as a tombstone and the window stays empty; with caching on nothing is emitted (Kafka's
    caching window store drops a null update of an absent window)."""
    for config, expected in ((NO_CACHE, [("k", 0, 100, None, 5)]), ({}, [])):
        b = StreamsBuilder()
        grouped = b.stream("in", S, S).group_by_key()
        windowed_by(grouped, TimeWindows.of(100)).reduce(
            lambda a, v: a + v, store="r", value_serde=S
        ).to_stream().to("out", TimeWindowed(S, 100), S)
        with TopologyTestDriver(b.build(), config) as d:
            inp = d.create_input_topic("in", S, S)
            inp.pipe_input("k", None, 5)
            assert rows(d, TimeWindowed(S, 100)) == expected
            inp.pipe_input("k", "a", 6)
            assert rows(d, TimeWindowed(S, 100)) == [("k", 0, 100, "a", 6)]


def test_windowed_table_with_repartition_and_default_key_serde() -> None:
    """group_by repartitions before the windowed aggregate; the windowed table's key serde wraps
    the grouped key serde (TimeWindowed, Kafka's layout: key bytes + 8-byte start)."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by(lambda k, v: v, key_serde=S)
    windowed_by(grouped, TimeWindows.of(10)).count(store="c").to_stream().to("out")
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("x", "red", 1)
        inp.pipe_input("y", "red", 2)
        raw_keys = [key for key, _, _, _ in d._outputs["out"]]
        assert raw_keys == [b"red" + (0).to_bytes(8, "big")] * 2  # UTF-8 key + 8-byte start
        out = d.create_output_topic("out", TimeWindowed(S, 10), L).read_records_to_list()
        assert [(r.key.key, r.key.window.start, r.value) for r in out] == [
            ("red", 0, 1),
            ("red", 0, 2),
        ]


def sessions(d: TopologyTestDriver, value_serde: Any = L) -> list[tuple[Any, ...]]:
    return rows(d, SessionWindowed(S), value_serde)


def session_count(gap: int, grace: int = 0) -> StreamsBuilder:
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    table = windowed_by(grouped, SessionWindows.with_inactivity_gap(gap, grace)).count(
        store="sessions"
    )
    table.to_stream().to("out", SessionWindowed(S), L)
    return b


def test_session_merging_retracts_merged_sessions() -> None:
    """Session rules (KStreamSessionWindowAggregateProcessorTest.shouldMergeSessions): a record
    within the gap of sessions merges them into one; each merged-away session is retracted with
    a null value at its own end time, then the merged session is emitted at its end. (The grace
    keeps [0, 0] in the store: retention is gap + grace, by session end.)"""
    b = session_count(gap=5, grace=10)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "1", 0)
        inp.pipe_input("a", "2", 10)  # 10 - 0 > gap: a new session
        inp.pipe_input("a", "3", 5)  # within the gap of both: merges [0,0] and [10,10]
        inp.pipe_input("b", "4", 5)
        assert sessions(d) == [
            ("a", 0, 0, 1, 0),
            ("a", 10, 10, 1, 10),
            ("a", 0, 0, None, 0),
            ("a", 10, 10, None, 10),
            ("a", 0, 10, 3, 10),
            ("b", 5, 5, 1, 5),
        ]
        store = session_store_view(d.get_session_store("sessions"))
        assert [(w.window.start, w.window.end, v) for w, v in store.fetch("a")] == [(0, 10, 3)]


def test_session_gap_is_inclusive() -> None:
    """A record exactly `gap` after a session's end still joins it (findSessions uses
    end >= t - gap and start <= t + gap)."""
    b = session_count(gap=5)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "1", 0)
        inp.pipe_input("a", "2", 5)
        inp.pipe_input("a", "3", 11)
        assert sessions(d) == [
            ("a", 0, 0, 1, 0),
            ("a", 0, 0, None, 0),
            ("a", 0, 5, 2, 5),
            ("a", 11, 11, 1, 11),
        ]


def test_session_late_records_dropped_after_gap_plus_grace() -> None:
    """KStreamSessionWindowAggregate: a record whose session ends before
    `stream time - grace - gap` is dropped and counted."""
    b = session_count(gap=5, grace=3)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "1", 20)
        inp.pipe_input("b", "2", 11)  # close time 20 - 3 - 5 = 12: 11 < 12, dropped
        inp.pipe_input("b", "3", 12)  # 12 is not < 12: kept
        assert sessions(d) == [("a", 20, 20, 1, 20), ("b", 12, 12, 1, 12)]
        assert dropped_records(d.tasks[0]) == 1


def test_session_reduce_and_aggregate_with_merger() -> None:
    """reduce merges sessions with the reducer; aggregate uses the session merger."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    sw = windowed_by(grouped, SessionWindows.with_inactivity_gap(15, grace_ms=20))
    sw.reduce(lambda a, v: a + v, store="r", value_serde=S).to_stream().to(
        "out", SessionWindowed(S), S
    )
    sw.aggregate(
        lambda: "", lambda k, v, agg: agg + v, lambda k, a, b2: f"({a}|{b2})", store="g",
        value_serde=S,
    ).to_stream().to("agg", SessionWindowed(S), S)  # fmt: skip
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 0)
        inp.pipe_input("k", "b", 30)
        inp.pipe_input("k", "c", 15)
        assert sessions(d, S)[-1] == ("k", 0, 30, "abc", 30)
        agg = d.create_output_topic("agg", SessionWindowed(S), S).read_values_to_list()
        assert agg[-1] == "((|a)|b)c"


@pytest.mark.parametrize("kind", ["time", "session"])
def test_windowed_table_filter_and_old_values(kind: str) -> None:
    """Windowed tables forward Change(new, old) like any KTable: filter works on them, and
    to_stream emits the new values."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windows: Any = TimeWindows.of(10) if kind == "time" else SessionWindows.with_inactivity_gap(3)
    serde: Any = TimeWindowed(S, 10) if kind == "time" else SessionWindowed(S)
    table = windowed_by(grouped, windows).count(store="c")
    table.filter(lambda k, v: v >= 2).to_stream().to("out", serde, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 1)
        inp.pipe_input("k", "b", 2)
        out = [(r.key.key, r.value) for r in d.create_output_topic("out", serde, L)
               .read_records_to_list()]  # fmt: skip
        # filtered-out first update: a tombstone for time windows; session merge retractions
        # are tombstones too
        assert out[-1] == ("k", 2)
        assert all(v in (None, 2) for _, v in out)


def sliding_finals(timestamps: list[int], diff: int, grace: int = 1000) -> dict[int, Any]:
    """Run a sliding-window aggregate collecting the values of each window; return the last
    (value tuple, timestamp) per window start."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, SlidingWindows.of(diff, grace_ms=grace)).aggregate(
        lambda: "", lambda k, v, agg: f"{agg},{v}" if agg else v, store="s", value_serde=S
    ).to_stream().to("out", TimeWindowed(S, diff), S)
    finals: dict[int, Any] = {}
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        for ts in timestamps:
            inp.pipe_input("k", str(ts), ts)
        for _, start, end, value, ts in rows(d, TimeWindowed(S, diff)):
            assert end == start + diff
            finals[start] = (tuple(sorted(value.split(","), key=int)), ts)
    return finals


def sliding_reference(timestamps: list[int], diff: int) -> dict[int, Any]:
    """Kafka's sliding-window rules as a model: each record has its left window [t - d, t]
    (records before d share [0, d]) and, when a later record falls within d, its right window
    [t + 1, t + 1 + d]; a window holds every record inside it (both ends inclusive)."""
    starts: set[int] = set()
    for t in timestamps:
        starts.add(max(0, t - diff))
        if any(t < u <= t + 1 + diff for u in timestamps):
            starts.add(t + 1)
    result = {}
    for s in starts:
        inside = sorted(u for u in timestamps if s <= u <= s + diff)
        result[s] = (tuple(str(u) for u in inside), max(inside))
    return result


def test_sliding_windows_small_input() -> None:
    """KStreamSlidingWindowAggregateTest.testAggregateSmallInput (time difference 10): left
    windows [t - 10, t] for every record, right windows [t + 1, t + 11] only when not empty."""
    finals = sliding_finals([10, 15, 20, 22, 30], 10)
    assert {s: v[0] for s, v in finals.items()} == {
        0: ("10",),
        5: ("10", "15"),
        10: ("10", "15", "20"),
        11: ("15", "20"),
        12: ("15", "20", "22"),
        16: ("20", "22"),
        20: ("20", "22", "30"),
        21: ("22", "30"),
        23: ("30",),
    }
    assert finals == sliding_reference([10, 15, 20, 22, 30], 10)


@pytest.mark.parametrize("seed", range(6))
def test_sliding_windows_match_the_model_out_of_order(seed: int) -> None:
    """Out-of-order records (within grace) end in the same windows as the model, including
    early records (before the time difference) that share [0, d]."""
    import random

    rng = random.Random(seed)
    timestamps = rng.sample(range(0, 60), 12)
    assert sliding_finals(timestamps, 10) == sliding_reference(timestamps, 10)


def test_sliding_windows_drop_late_records() -> None:
    """A record is dropped when t + 1 + d <= stream time - grace (no window of it can be open)."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, SlidingWindows.of(10, grace_ms=5)).count(store="s").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 100)
        inp.pipe_input("k", "late", 84)  # 84 + 1 + 10 = 95 <= 100 - 5: dropped
        inp.pipe_input("k", "old", 85)  # 96 > 95 passes, but its left window [75, 85] ends
        # before the close time 95: dropped too
        assert dropped_records(d.tasks[0]) == 2
        assert rows(d, TimeWindowed(S, 10), L) == [("k", 90, 100, 1, 100)]
        inp.pipe_input("k", "edge", 95)  # left window [85, 95]: end 95 >= 95 is still open
        assert rows(d, TimeWindowed(S, 10), L) == [
            ("k", 90, 100, 2, 100),
            ("k", 85, 95, 1, 95),
            ("k", 96, 106, 1, 100),  # its right window: the later record at 100
        ]


def test_windowed_aggregations_on_lmdb_stores(tmp_path: Any) -> None:
    """With a state.dir the window and session stores are LMDB-backed; results are the same."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(10).advance_by(5)).count(store="w").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    windowed_by(grouped, SessionWindows.with_inactivity_gap(5, grace_ms=10)).count(
        store="s"
    ).to_stream().to("sessions", SessionWindowed(S), L)
    config = {**NO_CACHE, "state.dir": str(tmp_path)}
    with TopologyTestDriver(b.build(), config) as d:
        assert d.get_state_store("w").persistent
        inp = d.create_input_topic("in", S, S)
        for ts in (0, 3, 7, 12):
            inp.pipe_input("k", "x", ts)
        assert [(s, v) for _, s, _, v, _ in rows(d, TimeWindowed(S, 10), L)] == [
            (0, 1), (0, 2), (0, 3), (5, 1), (5, 2), (10, 1),
        ]  # fmt: skip
        assert window_store_view(d.get_window_store("w")).fetch("k", 0, 20) == [(5, 2), (10, 1)]
        sessions = session_store_view(d.get_session_store("s")).fetch("k")
        assert [(w.window.start, w.window.end, v) for w, v in sessions] == [(0, 12, 4)]


def test_store_reads_of_mutable_aggregates_are_fresh_copies() -> None:
    """The window store hands out a fresh object per read for mutable aggregates, so an
    aggregator mutating its input cannot change what the store holds before it is written."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(100)).aggregate(
        list, lambda k, v, agg: agg.append(v) or agg, store="lists"
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k", "a", 1)
        inp.pipe_input("k", "b", 2)
        store = d.get_state_store("lists")
        first = store.get("k", 0).value
        first.append("not stored")
        assert store.get("k", 0).value == ["a", "b"]


CACHE: dict[str, Any] = {}  # the driver's default cache: the DSL's windowed stores cache


def test_windowed_count_aggregates_null_values() -> None:
    """Kafka 4.4's windowed aggregations drop only null keys: a null value is counted, in
    tumbling, hopping and session windows alike."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(10).advance_by(5)).count(store="h").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        d.create_input_topic("in", S, S).pipe_input("c", None, 7)
        assert rows(d, TimeWindowed(S, 10), L) == [("c", 0, 10, 1, 7), ("c", 5, 15, 1, 7)]
    with TopologyTestDriver(session_count(gap=10, grace=5).build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", None, 60)
        inp.pipe_input(None, "x", 61)
        assert sessions(d) == [("a", 60, 60, 1, 60)]
        assert dropped_records(d.tasks[0]) == 1


def test_session_update_keeping_its_bounds_is_one_update_with_caching() -> None:
    """With caching, the removal and re-put of a session whose bounds do not change collapse
    into one update (Kafka's caching session store); without caching the removal is forwarded
    as a tombstone first."""
    for config, third in (
        (CACHE, [("c", 5, 8, 3, 8)]),
        (NO_CACHE, [("c", 5, 8, None, 8), ("c", 5, 8, 3, 8)]),
    ):
        with TopologyTestDriver(session_count(gap=10, grace=5).build(), config) as d:
            inp = d.create_input_topic("in", S, S)
            inp.pipe_input("c", "3", 5)
            inp.pipe_input("c", "4", 8)
            sessions(d)
            inp.pipe_input("c", "3", 8)
            assert sessions(d) == third


def test_late_record_merges_with_a_cached_session_the_store_expired() -> None:
    """Kafka's caching session store still returns a session the store below expired: a late
    record within the gap merges with it, and its removal (unknown below) is not forwarded."""
    for config, expected in ((CACHE, [("b", 98, 106, 2, 106)]), (NO_CACHE, [])):
        with TopologyTestDriver(session_count(gap=10, grace=5).build(), config) as d:
            inp = d.create_input_topic("in", S, S)
            inp.pipe_input("b", "5", 98)
            inp.pipe_input("a", "2", 118)
            sessions(d)
            inp.pipe_input("b", "5", 106)
            got = sessions(d)
            if expected:
                assert got == expected
            else:  # without the cache the store expired [98, 98]: a new session
                assert got == [("b", 106, 106, 1, 106)]


def sliding_count_rows(config: dict[str, Any], inputs: list[tuple[str, int]]) -> list[Any]:
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    windowed_by(grouped, SlidingWindows.of(10, grace_ms=5)).count(store="s").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    with TopologyTestDriver(b.build(), config) as d:
        inp = d.create_input_topic("in", S, S)
        steps = []
        for value, ts in inputs:
            inp.pipe_input("b", value, ts)
            steps.append([(r[1], r[2], r[3], r[4]) for r in rows(d, TimeWindowed(S, 10), L)])
        return steps


def test_sliding_window_updates_go_out_latest_window_first() -> None:
    """Kafka walks a key's sliding windows latest first (its reverse-iterator path), then
    creates the previous record's right window, the record's left and right windows."""
    steps = sliding_count_rows(NO_CACHE, [("2", 1013), ("3", 1010), ("2", 1011)])
    assert steps[2] == [
        (1011, 1021, 2, 1013),
        (1003, 1013, 3, 1013),
        (1001, 1011, 2, 1011),
        (1012, 1022, 1, 1013),
    ]


def test_sliding_window_created_twice_in_one_record_is_emitted_once_with_caching() -> None:
    """A record at 11 after one at 0 (d = 10) creates [1, 11] as the previous record's right
    window and again as its own left window: two updates, collapsed by the cache."""
    assert sliding_count_rows(CACHE, [("4", 0), ("5", 11)])[1] == [(1, 11, 1, 11)]
    assert sliding_count_rows(NO_CACHE, [("4", 0), ("5", 11)])[1] == [
        (1, 11, 1, 11),
        (1, 11, 1, 11),
    ]
