"""KTable.suppress through the driver (scenarios ported from Kafka's SuppressScenarioTest).

Calls `kstreamy.dsl_windowed.suppress(table, suppressed)` (what `KTable.suppress` delegates to).
"""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.dsl_windowed import suppress, windowed_by
from kstreamy.errors import StreamsError, TopologyError
from kstreamy.serdes import Long, SessionWindowed, String, TimeWindowed
from kstreamy.suppressed import Suppressed
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.windows import SessionWindows, TimeWindows

S, L = String(), Long()
NO_CACHE = {"statestore.cache.max.bytes": 0}


def windowed_rows(d: TopologyTestDriver, topic: str, ks: Any) -> list[tuple[Any, ...]]:
    out = d.create_output_topic(topic, ks, L).read_records_to_list()
    return [(r.key.key, r.key.window.start, r.key.window.end, r.value, r.timestamp) for r in out]


def test_final_results_for_time_windows() -> None:
    """SuppressScenarioTest.shouldSupportFinalResultsForTimeWindows: size 2, grace 1; each
    window's final count is emitted once stream time reaches window end + grace, with the
    timestamp of the window's latest update; a record too late for its window never arrives."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by(lambda k, v: k, key_serde=S)
    counts = windowed_by(grouped, TimeWindows.of(2, grace_ms=1)).count(store="counts")
    suppress(counts, Suppressed.until_window_closes()).to_stream().to(
        "suppressed", TimeWindowed(S, 2), L
    )
    counts.to_stream().to("raw", TimeWindowed(S, 2), L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        for ts in (0, 1, 2, 1, 0, 5, 0):
            inp.pipe_input("k1", "v1", ts)
        assert windowed_rows(d, "raw", TimeWindowed(S, 2)) == [
            ("k1", 0, 2, 1, 0),
            ("k1", 0, 2, 2, 1),
            ("k1", 2, 4, 1, 2),
            ("k1", 0, 2, 3, 1),
            ("k1", 0, 2, 4, 1),
            ("k1", 4, 6, 1, 5),
        ]
        assert windowed_rows(d, "suppressed", TimeWindowed(S, 2)) == [
            ("k1", 0, 2, 4, 1),
            ("k1", 2, 4, 1, 2),
        ]


def test_exactly_one_final_result_per_window_after_it_closes() -> None:
    """Acceptance: suppressed windowed counts emit exactly one final result per window, and only
    after the window closed (stream time >= end + grace); ties in close time come out in
    serialized-key order."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    counts = windowed_by(grouped, TimeWindows.of(10, grace_ms=5)).count(store="c")
    suppress(counts, Suppressed.until_window_closes()).to_stream().to("out", TimeWindowed(S, 10), L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        out = d.create_output_topic("out", TimeWindowed(S, 10), L)
        for i in range(30):
            inp.pipe_input(["b", "a", "c"][i % 3], "x", i % 14)
        assert out.is_empty()  # stream time 13 < 10 + 5: nothing has closed
        inp.pipe_input("b", "x", 14)
        assert out.is_empty()
        inp.pipe_input("z", "x", 15)  # [0, 10) closes
        finals = [(r.key.key, r.key.window.start, r.value) for r in out.read_records_to_list()]
        assert finals == [("a", 0, 7), ("b", 0, 7), ("c", 0, 8)]
        inp.pipe_input("z", "x", 40)  # [10, 20) closes: one more final per key
        finals = [(r.key.key, r.key.window.start, r.value) for r in out.read_records_to_list()]
        assert finals == [("a", 10, 3), ("b", 10, 4), ("c", 10, 2), ("z", 10, 1)]
        inp.pipe_input("a", "x", 12)  # late for [10, 20): dropped upstream, nothing emitted
        assert out.is_empty()


def test_final_results_for_session_windows_use_gap_plus_grace() -> None:
    """SuppressScenarioTest.shouldSupportFinalResultsForSessionWindows: a session closes at its
    end + gap + grace; sessions merged away before they closed never emit."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    counts = windowed_by(grouped, SessionWindows.with_inactivity_gap(5, grace_ms=0)).count(
        store="s"
    )
    suppress(counts, Suppressed.until_window_closes()).to_stream().to("out", SessionWindowed(S), L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k1", "v1", 0)
        inp.pipe_input("k1", "v1", 5)  # merges into [0, 5]
        inp.pipe_input("k2", "v1", 10)  # stream time 10 = 5 + 5 + 0: [0, 5] closes
        assert windowed_rows(d, "out", SessionWindowed(S)) == [("k1", 0, 5, 2, 5)]
        inp.pipe_input("k1", "v1", 30)
        assert windowed_rows(d, "out", SessionWindowed(S)) == [("k2", 10, 10, 1, 10)]


def table_counts(b: StreamsBuilder) -> Any:
    return b.table("in", S, S).group_by(lambda k, v: (v, k), key_serde=S, value_serde=S).count()


def test_time_limit_holds_each_key_from_its_first_update() -> None:
    """SuppressScenarioTest.shouldSuppressIntermediateEventsWithTimeLimit: time limit 2; a key's
    buffer time is its first held update (non-resetting); the latest value is emitted."""
    b = StreamsBuilder()
    counts = table_counts(b)
    suppress(counts, Suppressed.until_time_limit(2)).to_stream().to("out", S, L)
    counts.to_stream().to("raw", S, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k1", "v1", 0)
        inp.pipe_input("k1", "v2", 1)
        inp.pipe_input("k2", "v1", 2)
        inp.pipe_input("tick", "tick", 5)
        raw = d.create_output_topic("raw", S, L).read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in raw] == [
            ("v1", 1, 0), ("v1", 0, 1), ("v2", 1, 1), ("v1", 1, 2), ("tick", 1, 5),
        ]  # fmt: skip
        out = d.create_output_topic("out", S, L).read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in out] == [("v1", 1, 2), ("v2", 1, 1)]


def test_time_limit_zero_emits_immediately() -> None:
    """SuppressScenarioTest.shouldImmediatelyEmitEventsWithZeroEmitAfter."""
    b = StreamsBuilder()
    suppress(table_counts(b), Suppressed.until_time_limit(0)).to_stream().to("out", S, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k1", "v1", 0)
        inp.pipe_input("k1", "v2", 1)
        out = d.create_output_topic("out", S, L).read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in out] == [
            ("v1", 1, 0), ("v1", 0, 1), ("v2", 1, 1),
        ]  # fmt: skip


def test_record_limit_emits_early_when_full() -> None:
    """SuppressScenarioTest.shouldSuppressIntermediateEventsWithRecordLimit: max_records=1 with
    emit_early evicts the oldest key when a second key arrives."""
    b = StreamsBuilder()
    suppress(table_counts(b), Suppressed.until_time_limit(1 << 62, max_records=1)).to_stream().to(
        "out", S, L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k1", "v1", 0)
        inp.pipe_input("k1", "v2", 1)
        inp.pipe_input("k2", "v1", 2)
        inp.pipe_input("x", "x", 3)
        out = d.create_output_topic("out", S, L).read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in out] == [
            ("v1", 0, 1), ("v2", 1, 1), ("v1", 1, 2),
        ]  # fmt: skip


def test_byte_limit_emits_early_when_full() -> None:
    """max_bytes bounds the buffer by the (approximate) serialized size of its entries."""
    b = StreamsBuilder()
    suppress(table_counts(b), Suppressed.until_time_limit(1 << 62, max_bytes=60)).to_stream().to(
        "out", S, L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        for i in range(5):
            inp.pipe_input(f"k{i}", f"v{i}", i)
        out = d.create_output_topic("out", S, L).read_records_to_list()
        assert 0 < len(out) < 5
        assert [r.key for r in out] == [f"v{i}" for i in range(len(out))]


def test_shut_down_when_full() -> None:
    """until_window_closes with bounds is strict: a full buffer stops processing with an error
    naming the suppress node."""
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    counts = windowed_by(grouped, TimeWindows.of(100)).count(store="c")
    suppress(counts, Suppressed.until_window_closes(max_records=1), name="final").to_stream().to(
        "out", TimeWindowed(S, 100), L
    )
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("a", "x", 1)
        with pytest.raises(StreamsError, match="final"):
            inp.pipe_input("b", "x", 2)


def test_final_results_need_a_windowed_table() -> None:
    """Kafka: window close time is only defined for windowed computations."""
    b = StreamsBuilder()
    with pytest.raises(TopologyError, match="windowed"):
        suppress(table_counts(b), Suppressed.until_window_closes())


def test_suppressed_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="when_full"):
        Suppressed.until_time_limit(10, when_full="spill")
    with pytest.raises(ValueError, match="max_records"):
        Suppressed.until_window_closes(max_records=-1)
    with pytest.raises(ValueError, match="time_ms"):
        Suppressed.until_time_limit(-5)


def test_suppress_buffer_is_changelogged_and_rebuilt_from_its_store() -> None:
    """Kafka changelogs the suppression buffer (store `<name>-store`): a processor created over
    the restored store holds the same keys, times, prior and latest values, and emits them."""
    from kstreamy.processors.windowed.suppress import KTableSuppress

    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    counts = windowed_by(grouped, TimeWindows.of(10, grace_ms=5)).count(store="c")
    suppress(counts, Suppressed.until_window_closes(), name="final").to_stream().to(
        "out", TimeWindowed(S, 10), L
    )
    topology = b.build()
    assert "final-store" in topology.store_builders
    with TopologyTestDriver(topology, NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        for key, ts in (("a", 1), ("b", 2), ("a", 3), ("a", 12)):
            inp.pipe_input(key, "x", ts)
        task = d.tasks[0]
        proc: Any = task.processors["final"]
        assert len(list(d.get_state_store("final-store").all())) == 3
        clone = KTableSuppress(proc.flags, proc.suppressed, 5, proc.key_serde, proc.value_serde,
                               "final-store")  # fmt: skip
        clone.init(task.contexts["final"])

        def held(p: Any) -> dict[Any, Any]:
            return {k: (e.time, e.prior, e.new, e.timestamp) for k, e in p.entries.items()}

        assert held(clone) == held(proc)
        assert {(k.key, k.window.start) for k in held(clone)} == {("a", 0), ("b", 0), ("a", 10)}
        task.processors["final"] = clone
        for ctx in task.contexts.values():
            ctx.children = [(n, clone.process if n == "final" else f) for n, f in ctx.children]
        inp.pipe_input("z", "x", 15)  # closes [0, 10): emitted by the rebuilt buffer
        out = d.create_output_topic("out", TimeWindowed(S, 10), L).read_records_to_list()
        assert [(r.key.key, r.key.window.start, r.value, r.timestamp) for r in out] == [
            ("a", 0, 2, 3),
            ("b", 0, 1, 2),
        ]


def test_time_limit_on_a_table_without_serdes() -> None:
    """Without serdes the buffer (and its changelog) falls back to the internal serde."""
    b = StreamsBuilder()
    table = b.table("in", S, S).group_by(lambda k, v: (v, k)).count()
    suppress(table, Suppressed.until_time_limit(5)).to_stream().to("out", S, L)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        inp = d.create_input_topic("in", S, S)
        inp.pipe_input("k1", "v1", 0)
        inp.pipe_input("k2", "v1", 1)
        inp.pipe_input("k3", "v2", 7)
        out = d.create_output_topic("out", S, L).read_records_to_list()
        assert [(r.key, r.value, r.timestamp) for r in out] == [("v1", 2, 1)]


def test_suppressed_table_lookups_see_what_downstream_has_seen() -> None:
    """Kafka's suppress view: joining against a suppressed table reads a buffered key's prior
    value (the last one emitted downstream), other keys the parent table's value."""
    b = StreamsBuilder()
    held = suppress(b.table("t", S, S), Suppressed.until_time_limit(10))
    b.stream("s", S, S).left_join(held, lambda v, t: f"{v}:{t}").to("out", S, S)
    with TopologyTestDriver(b.build(), NO_CACHE) as d:
        table, stream = d.create_input_topic("t", S, S), d.create_input_topic("s", S, S)
        table.pipe_input("k", "one", 0)
        stream.pipe_input("k", "a", 1)  # "one" is still held back: nothing emitted yet
        table.pipe_input("x", "other", 20)  # stream time 20: "one" is emitted
        stream.pipe_input("k", "b", 21)
        table.pipe_input("k", "two", 22)  # held back again; its prior value is "one"
        stream.pipe_input("k", "c", 23)
        assert d.create_output_topic("out", S, S).read_values_to_list() == [
            "a:None",
            "b:one",
            "c:one",
        ]


def test_named_suppress_takes_no_generated_name_index() -> None:
    """Kafka's suppress(Suppressed.withName(...)) does not consume a generated-name index (most
    named operators do): the next node after a named suppress keeps the next number; its
    buffer store is `<name>-store`."""
    b = StreamsBuilder()
    counts = b.stream("in", S, S).group_by_key().count(store="c")
    suppress(counts, Suppressed.until_time_limit(10), name="final").to_stream().to("out")
    topology = b.build()
    text = str(topology.describe())
    assert "Processor: final (stores: [final-store])" in text
    nodes = {line.split()[1] for line in text.splitlines() if line.strip().startswith(
        ("Source:", "Processor:", "Sink:"))}  # fmt: skip
    assert "KTABLE-TOSTREAM-0000000002" in nodes, nodes
    unnamed = StreamsBuilder()
    counts = unnamed.stream("in", S, S).group_by_key().count(store="c")
    suppress(counts, Suppressed.until_time_limit(10)).to_stream().to("out")
    text = str(unnamed.build().describe())  # the suppress node and its store take 2 and 3
    assert "KTABLE-SUPPRESS-0000000002" in text and "KTABLE-TOSTREAM-0000000004" in text
