"""The driver's window/session store views return API.md's shapes (Kafka's
`TopologyTestDriver.getWindowStore` / `getSessionStore` fetch results)."""

from kstreamy import SessionWindows, StreamsBuilder, String, TimeWindows, TopologyTestDriver
from kstreamy.windows import Windowed


def test_window_store_fetch_returns_window_starts_and_values() -> None:
    b = StreamsBuilder()
    (
        b.stream("in", key_serde=String(), value_serde=String())
        .group_by_key()
        .windowed_by(TimeWindows.of(10, grace_ms=100))
        .count(store="wcounts")
    )
    with TopologyTestDriver(b.build()) as driver:
        inp = driver.create_input_topic("in", String(), String())
        inp.pipe_input("a", "x", timestamp=1)
        inp.pipe_input("a", "x", timestamp=5)
        inp.pipe_input("a", "x", timestamp=12)
        fetched = driver.get_window_store("wcounts").fetch("a", 0, 100)
    assert fetched == [(0, 2), (10, 1)]


def test_session_store_fetch_returns_windowed_keys() -> None:
    b = StreamsBuilder()
    (
        b.stream("in", key_serde=String(), value_serde=String())
        .group_by_key()
        .windowed_by(SessionWindows.with_inactivity_gap(5, grace_ms=100))
        .count(store="scounts")
    )
    with TopologyTestDriver(b.build()) as driver:
        inp = driver.create_input_topic("in", String(), String())
        inp.pipe_input("a", "x", timestamp=1)
        inp.pipe_input("a", "x", timestamp=4)
        inp.pipe_input("a", "x", timestamp=20)
        fetched = driver.get_session_store("scounts").fetch("a")
    keys = [(w.key, w.window.start, w.window.end) for w, _ in fetched]
    assert keys == [("a", 1, 4), ("a", 20, 20)]
    assert [v for _, v in fetched] == [2, 1]
    assert all(isinstance(w, Windowed) for w, _ in fetched)
