"""The windowed operators through the public DSL methods (KGroupedStream.windowed_by,
KStream.join/left_join/outer_join with windows=, KTable.suppress) and the driver's
get_window_store / get_session_store."""

from __future__ import annotations

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.processors.windowed.stream_stream_join import EMIT_INTERVAL_CONFIG
from kstreamy.serdes import Long, String, TimeWindowed
from kstreamy.state.windowed_stores import session_store_view, window_store_view
from kstreamy.suppressed import Suppressed
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.windows import JoinWindows, SessionWindows, SlidingWindows, TimeWindows

S, L = String(), Long()
CONFIG = {"statestore.cache.max.bytes": 0, EMIT_INTERVAL_CONFIG: 0}


def test_windowed_by_count_and_suppress() -> None:
    b = StreamsBuilder()
    grouped = b.stream("in", S, S).group_by_key()
    counts = grouped.windowed_by(TimeWindows.of(10, grace_ms=5)).count(store="counts")
    counts.suppress(Suppressed.until_window_closes()).to_stream().to(
        "final", TimeWindowed(S, 10), L
    )
    grouped.windowed_by(SessionWindows.with_inactivity_gap(5, grace_ms=20)).count(store="sessions")
    grouped.windowed_by(SlidingWindows.of(5)).count(store="sliding")
    with TopologyTestDriver(b.build(), CONFIG) as d:
        inp = d.create_input_topic("in", S, S)
        for ts in (1, 4, 12, 15):
            inp.pipe_input("k", "v", ts)
        out = d.create_output_topic("final", TimeWindowed(S, 10), L).read_records_to_list()
        assert [(r.key.key, r.key.window.start, r.value) for r in out] == [("k", 0, 2)]
        assert window_store_view(d.get_window_store("counts")).fetch("k", 0, 20) == [
            (0, 2),
            (10, 2),
        ]
        sessions = session_store_view(d.get_session_store("sessions")).fetch("k")
        assert [(w.window.start, w.window.end, v) for w, v in sessions] == [(1, 4, 2), (12, 15, 2)]


def test_stream_stream_joins() -> None:
    b = StreamsBuilder()
    left, right = b.stream("l", S, S), b.stream("r", S, S)

    def joiner(a: object, c: object) -> str:
        return f"{a}+{c}"

    left.join(right, joiner, windows=JoinWindows.of(5)).to("inner", S, S)
    left.left_join(right, joiner, windows=JoinWindows.of(5)).to("left", S, S)
    left.outer_join(right, joiner, windows=JoinWindows.of(5), name="outer").to("outer", S, S)
    with TopologyTestDriver(b.build(), CONFIG) as d:
        d.create_input_topic("l", S, S).pipe_input("a", "A", 0)
        d.create_input_topic("r", S, S).pipe_input("b", "B", 1)
        d.create_input_topic("r", S, S).pipe_input("a", "x", 20)
        values = {t: d.create_output_topic(t, S, S).read_values_to_list() for t in
                  ("inner", "left", "outer")}  # fmt: skip
        assert values == {"inner": [], "left": ["A+None"], "outer": ["A+None", "None+B"]}
    with pytest.raises(TypeError, match="JoinWindows"):
        left.outer_join(right, joiner)
