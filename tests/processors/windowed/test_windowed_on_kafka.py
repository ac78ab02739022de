"""Acceptance: a windowed topology gives the same final results on a real broker as through the
TopologyTestDriver (hopping windowed count, session count and a suppressed final count)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kstreamy.dsl import StreamsBuilder
from kstreamy.dsl_windowed import suppress, windowed_by
from kstreamy.serdes import Long, SessionWindowed, String, TimeWindowed
from kstreamy.suppressed import Suppressed
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic
from kstreamy.topology import Topology
from kstreamy.windows import SessionWindows, TimeWindows

S, L = String(), Long()
HOP = TimeWindowed(S, 100)
RECORDS = [(f"user{i % 3}", f"click{i}", 1_000 + i * 37) for i in range(40)]


def topology(source: str, hop: str, sessions: str, final: str) -> Topology:
    b = StreamsBuilder()
    grouped = b.stream(source, S, S).group_by_key()
    windowed_by(grouped, TimeWindows.of(100, grace_ms=1_000).advance_by(50)).count(
        store="hop"
    ).to_stream().to(hop, HOP, L)
    windowed_by(grouped, SessionWindows.with_inactivity_gap(60, grace_ms=1_000)).count(
        store="sessions"
    ).to_stream().to(sessions, SessionWindowed(S), L)
    counts = windowed_by(grouped, TimeWindows.of(200, grace_ms=0)).count(store="tumbling")
    suppress(counts, Suppressed.until_window_closes()).to_stream().to(
        final, TimeWindowed(S, 200), L
    )
    return b.build()


def finals(records: list[Any]) -> dict[Any, Any]:
    """The last value per windowed key; None (a merged-away session) removes the key."""
    result: dict[Any, Any] = {}
    for key, value in records:
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_windowed_topology_matches_driver(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    from kstreamy.runtime.app import KafkaStreams, State

    serdes = {"hop": HOP, "sessions": SessionWindowed(S), "final": TimeWindowed(S, 200)}
    with TopologyTestDriver(topology("in", "hop", "sessions", "final")) as driver:
        inp = driver.create_input_topic("in", S, S)
        for key, value, ts in RECORDS:
            inp.pipe_input(key, value, ts)
        expected = {
            name: finals(driver.create_output_topic(name, serde, L).read_key_values_to_list())
            for name, serde in serdes.items()
        }
        final_list = driver.create_output_topic("final", serdes["final"], L)
    assert final_list.is_empty() and expected["final"]
    topics = {name: unique_topic(f"w-{name}") for name in ("in", *serdes)}
    kafka_client.create_topic(topics["in"], partitions=1)
    for name in serdes:
        kafka_client.create_topic(topics[name])
    kafka_client.produce(topics["in"], RECORDS)
    config = {
        "application.id": unique_topic("windowed"),
        "bootstrap.servers": kafka_client.bootstrap,
        "state.dir": str(tmp_path),
        "commit.interval.ms": 200,
    }
    app = KafkaStreams(
        topology(topics["in"], topics["hop"], topics["sessions"], topics["final"]), config
    )
    seen: dict[str, list[Any]] = {name: [] for name in serdes}
    try:
        app.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, serde in serdes.items():  # consume() reads each topic from the start
                seen[name] = [
                    (r.key, r.value)
                    for r in consume(kafka_client.bootstrap, topics[name], None, timeout=2,
                                     key_serde=serde, value_serde=L)
                ]  # fmt: skip
            if all(finals(seen[n]) == expected[n] for n in serdes):
                break
        assert app.state is State.RUNNING
    finally:
        assert app.close(timeout=30)
    for name in serdes:
        assert finals(seen[name]) == expected[name], name
    # exactly one final result per closed window
    assert len(seen["final"]) == len(expected["final"])
