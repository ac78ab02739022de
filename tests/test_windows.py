"""Window specifications and instances, checked against Kafka Streams' rules (named per test)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstreamy.windows import (
    MAX_TIMESTAMP,
    JoinWindows,
    SessionWindow,
    SessionWindows,
    SlidingWindows,
    TimeWindow,
    TimeWindows,
    Window,
    Windowed,
)

# --------------------------------------------------------------------------- TimeWindows


def test_tumbling_windows_are_epoch_aligned() -> None:
    # Kafka TimeWindows: "the N-th window is [N * size, N * size + size)", aligned to the epoch
    assert TimeWindows.of(5000).windows_for(7342) == {5000: TimeWindow(5000, 10000)}


def test_tumbling_window_start_is_inclusive_end_exclusive() -> None:
    # Kafka TimeWindow: start inclusive, end exclusive
    tw = TimeWindows.of(10)
    assert tw.windows_for(10) == {10: TimeWindow(10, 20)}
    assert tw.windows_for(9) == {0: TimeWindow(0, 10)}
    assert tw.windows_for(0) == {0: TimeWindow(0, 10)}


def test_hopping_windows_for_returns_every_window_containing_the_timestamp() -> None:
    # Kafka TimeWindows.windowsFor: size 5000, advance 3000 -> [0;5000), [3000;8000), ...
    tw = TimeWindows.of(5000).advance_by(3000)
    assert tw.windows_for(4000) == {0: TimeWindow(0, 5000), 3000: TimeWindow(3000, 8000)}
    assert list(tw.windows_for(6000)) == [3000, 6000]
    assert tw.windows_for(5000) == {3000: TimeWindow(3000, 8000)}  # 5000 is outside [0;5000)


def test_windows_for_near_zero_never_creates_negative_starts() -> None:
    # Kafka: windowStart = max(0, t - size + advance) / advance * advance
    tw = TimeWindows.of(10).advance_by(2)
    assert list(tw.windows_for(3)) == [0, 2]


def test_negative_timestamps_get_no_window() -> None:
    assert TimeWindows.of(10).windows_for(-1) == {}


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.integers(0, 10**12))
def test_windows_for_matches_the_definition(size: int, advance_seed: int, t: int) -> None:
    # every window [s, s + size) with s a multiple of advance and s <= t < s + size, no others
    advance = 1 + (advance_seed - 1) % size
    windows = TimeWindows.of(size).advance_by(advance).windows_for(t)
    assert windows, "a non-negative timestamp is in at least one window"
    for start, window in windows.items():
        assert start % advance == 0
        assert window == TimeWindow(start, start + size)
        assert start <= t < start + size
    lowest = max(0, t - size + 1)
    first_start = -(-lowest // advance) * advance  # the smallest multiple of advance >= lowest
    assert list(windows) == list(range(first_start, t + 1, advance))


def test_windows_for_caps_the_end_at_long_max() -> None:
    tw = TimeWindows.of(10)
    (window,) = tw.windows_for(MAX_TIMESTAMP - 3).values()
    assert window.end == MAX_TIMESTAMP


def test_time_windows_expose_size_grace_and_retention() -> None:
    tw = TimeWindows.of(100, grace_ms=20).advance_by(10)
    assert (tw.size_ms, tw.advance_ms, tw.grace_ms) == (100, 10, 20)
    assert tw.default_retention_ms == 120  # Kafka: retention >= size + grace
    assert not tw.is_tumbling and TimeWindows.of(5).is_tumbling
    assert tw.grace(0) == TimeWindows.of(100).advance_by(10)
    assert hash(TimeWindows.of(5)) == hash(TimeWindows.of(5))


@pytest.mark.parametrize("size", [0, -1])
def test_time_window_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="must be larger than zero"):
        TimeWindows.of(size)


@pytest.mark.parametrize("advance", [0, -5, 11])
def test_advance_must_lie_within_zero_and_size(advance: int) -> None:
    # Kafka: "advancement interval should be more than zero and less than window duration"
    with pytest.raises(ValueError, match="advancement interval"):
        TimeWindows.of(10).advance_by(advance)


def test_grace_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        TimeWindows.of(10, grace_ms=-1)


def test_sizes_must_be_ints() -> None:
    with pytest.raises(TypeError):
        TimeWindows.of(1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- other specs


def test_sliding_windows_carry_time_difference_and_grace() -> None:
    sw = SlidingWindows.of(50, grace_ms=10)
    assert (sw.time_difference_ms, sw.size_ms, sw.grace_ms) == (50, 50, 10)
    assert sw.default_retention_ms == 2 * 50 + 10  # Kafka: timeDifference * 2 + grace
    with pytest.raises(ValueError, match="must not be negative"):
        SlidingWindows.of(-1)
    with pytest.raises(ValueError, match="must not be negative"):
        SlidingWindows.of(10, grace_ms=-1)


def test_session_windows_gap_must_be_positive() -> None:
    sw = SessionWindows.with_inactivity_gap(300, grace_ms=5)
    assert (sw.inactivity_gap_ms, sw.grace_ms, sw.default_retention_ms) == (300, 5, 305)
    with pytest.raises(ValueError, match="Gap time cannot be zero or negative"):
        SessionWindows.with_inactivity_gap(0)


def test_join_windows_are_symmetric_and_sized_before_plus_after() -> None:
    jw = JoinWindows.of(100, grace_ms=7)
    assert (jw.before_ms, jw.after_ms, jw.grace_ms) == (100, 100, 7)
    assert jw.size_ms == 200  # Kafka JoinWindows.size() = before + after
    assert jw.default_retention_ms == 207
    assert jw.window_for(1000) == (900, 1100)


def test_join_windows_before_and_after_change_one_side() -> None:
    # Kafka: before(d) / after(d) keep the other side; either side may be negative
    jw = JoinWindows.of(100).before(20)
    assert (jw.before_ms, jw.after_ms) == (20, 100)
    jw = JoinWindows.of(100).after(-50)
    assert (jw.before_ms, jw.after_ms) == (100, -50)
    assert jw.window_for(1000) == (900, 950)
    assert JoinWindows.of(5).before(5) == JoinWindows.of(5)


def test_join_window_interval_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match=r"before_ms \+ after_ms\) must not be negative"):
        JoinWindows.of(10).after(-11)
    with pytest.raises(ValueError):
        JoinWindows.of(-1)


# --------------------------------------------------------------------------- instances


def test_time_window_overlap_is_half_open() -> None:
    # Kafka TimeWindow.overlap: start < other.end && other.start < end
    assert TimeWindow(0, 10).overlap(TimeWindow(9, 19))
    assert not TimeWindow(0, 10).overlap(TimeWindow(10, 20))


def test_session_window_overlap_is_inclusive() -> None:
    # Kafka SessionWindow.overlap: !(other.end < start || end < other.start)
    assert SessionWindow(0, 10).overlap(SessionWindow(10, 20))
    assert not SessionWindow(0, 10).overlap(SessionWindow(11, 20))


def test_overlap_of_different_window_types_is_an_error() -> None:
    with pytest.raises(ValueError, match="different type"):
        TimeWindow(0, 10).overlap(SessionWindow(0, 10))


def test_window_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        TimeWindow(-1, 5)
    with pytest.raises(ValueError, match="cannot be smaller"):
        SessionWindow(5, 4)
    with pytest.raises(ValueError, match="greater than"):
        TimeWindow(5, 5)
    assert SessionWindow(5, 5).end == 5  # a one-record session


def test_windows_of_different_types_are_not_equal() -> None:
    assert TimeWindow(0, 10) != SessionWindow(0, 10)
    assert TimeWindow(0, 10) == TimeWindow(0, 10)
    assert isinstance(TimeWindow(0, 1), Window)


def test_windowed_is_frozen_hashable_ordered_and_prints_like_kafka() -> None:
    a = Windowed("a", TimeWindow(0, 10))
    b = Windowed("a", TimeWindow(10, 20))
    c = Windowed("b", TimeWindow(0, 10))
    assert sorted([c, b, a]) == [a, b, c]
    assert {a: 1}[Windowed("a", TimeWindow(0, 10))] == 1
    assert str(a) == "[a@0/10]"
    with pytest.raises(AttributeError):
        a.key = "z"


def test_windows_are_immutable_and_pickle() -> None:
    import pickle

    window = TimeWindow(0, 10)
    with pytest.raises(AttributeError):
        window.start = 5
    windowed = Windowed(("composite", 1), SessionWindow(3, 9))
    assert pickle.loads(pickle.dumps(windowed)) == windowed
    assert pickle.loads(pickle.dumps(window)) == window
    assert type(pickle.loads(pickle.dumps(window))) is TimeWindow


def test_window_ordering_is_by_start_then_end() -> None:
    assert sorted([TimeWindow(5, 9), TimeWindow(0, 20), TimeWindow(0, 10)]) == [
        TimeWindow(0, 10),
        TimeWindow(0, 20),
        TimeWindow(5, 9),
    ]
    with pytest.raises(TypeError):
        _ = TimeWindow(0, 1) < SessionWindow(0, 1)
