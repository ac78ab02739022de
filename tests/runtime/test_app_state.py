"""KafkaStreams without a broker: topology resolution, state machine, argument checks."""

from __future__ import annotations

import pytest

from kstreamy.errors import ConfigError, InvalidStateStoreError, StreamsError
from kstreamy.runtime.app import _TRANSITIONS, KafkaStreams, State, resolve_topology
from kstreamy.topology import Topology

from .topologies import word_count


def make_topology() -> Topology:
    return word_count("in", "out")


def test_resolve_topology_from_instance_factory_and_name() -> None:
    t = make_topology()
    assert resolve_topology(t) is t
    assert isinstance(resolve_topology(make_topology), Topology)
    assert isinstance(resolve_topology("kstreamy.topology:Topology"), Topology)
    with pytest.raises(ConfigError, match="module:func"):
        resolve_topology("no_colon_here")
    with pytest.raises(ConfigError, match="returned int"):
        resolve_topology(lambda: 3)


def test_transitions_follow_kafka() -> None:
    assert State.RUNNING in _TRANSITIONS[State.REBALANCING]
    assert State.REBALANCING in _TRANSITIONS[State.RUNNING]
    assert _TRANSITIONS[State.PENDING_SHUTDOWN] == {State.NOT_RUNNING}
    assert _TRANSITIONS[State.PENDING_ERROR] == {State.ERROR}
    assert not _TRANSITIONS[State.NOT_RUNNING] and not _TRANSITIONS[State.ERROR]


def test_listener_sees_each_transition_once_and_invalid_ones_are_ignored() -> None:
    app = KafkaStreams(make_topology(), {"application.id": "a", "bootstrap.servers": "x:1"})
    seen: list[tuple[State, State]] = []
    app.set_state_listener(lambda new, old: seen.append((new, old)))
    assert app._set_state(State.REBALANCING)
    assert app._set_state(State.RUNNING)
    assert not app._set_state(State.NOT_RUNNING)  # must pass through PENDING_SHUTDOWN
    assert app._set_state(State.PENDING_SHUTDOWN)
    assert app._set_state(State.NOT_RUNNING)
    assert seen == [
        (State.REBALANCING, State.CREATED),
        (State.RUNNING, State.REBALANCING),
        (State.PENDING_SHUTDOWN, State.RUNNING),
        (State.NOT_RUNNING, State.PENDING_SHUTDOWN),
    ]


def test_start_requires_kafka_settings_and_close_before_start_is_clean() -> None:
    app = KafkaStreams(make_topology(), {"application.id": "a"})
    with pytest.raises(ConfigError, match=r"bootstrap\.servers"):
        app.start()
    app2 = KafkaStreams(make_topology(), {"application.id": "a", "bootstrap.servers": "x:1"})
    assert app2.close(timeout=1)
    assert app2.state is State.NOT_RUNNING
    with pytest.raises(StreamsError, match="starts once"):
        app2.start()


def test_store_queries_need_a_running_client_and_a_known_store() -> None:
    app = KafkaStreams(make_topology(), {"application.id": "a", "bootstrap.servers": "x:1"})
    with pytest.raises(InvalidStateStoreError, match="not part of the topology"):
        app.store("nope")
    with pytest.raises(InvalidStateStoreError, match="RUNNING or REBALANCING"):
        app.store("counts")


def test_multiple_threads_need_a_topology_factory() -> None:
    app = KafkaStreams(
        make_topology(),
        {"application.id": "a", "bootstrap.servers": "x:1", "num.stream.threads": 2},
    )
    with pytest.raises(ConfigError, match="topology factory"):
        app._start_processes(2)
