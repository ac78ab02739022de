"""Key -> partition as Kafka computes it, and host discovery (active and standby hosts) from the
group description."""

from __future__ import annotations

from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import pytest

from kstreamy.processor import TaskId
from kstreamy.runtime.queries import (
    UNAVAILABLE,
    HostInfo,
    KeyQueryMetadata,
    default_partition,
    find_owner,
    murmur2,
    standby_hosts_in,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_kafka(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_default_partition_is_positive_murmur2_modulo() -> None:
    assert default_partition(b"21", 7) == (-973932308 & 0x7FFFFFFF) % 7
    assert {default_partition(str(i).encode(), 4) for i in range(100)} == {0, 1, 2, 3}


class _Admin:
    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def describe_consumer_groups(self, groups: list[str], **kwargs: Any) -> dict[str, Any]:
        result = SimpleNamespace(members=self.members)
        return {groups[0]: SimpleNamespace(result=lambda: result)}


def _member(client_id: str, tps: list[tuple[str, int]]) -> Any:
    parts = [SimpleNamespace(topic=t, partition=p) for t, p in tps]
    return SimpleNamespace(client_id=client_id, assignment=SimpleNamespace(topic_partitions=parts))


def test_find_owner_reads_application_server_from_client_id() -> None:
    admin = _Admin([_member("a-worker-0-consumer|h1:8080", [("t", 0)]),
                    _member("a-worker-0-consumer|h2:9090", [("t", 1)])])  # fmt: skip
    assert find_owner(admin, "a", "t", 1, 1) == HostInfo("h2", 9090)
    assert find_owner(admin, "a", "t", 5, 1) is UNAVAILABLE
    with pytest.raises(ValueError, match="host:port"):
        HostInfo.parse("nonsense")


def _described(state: str, members: list[tuple[str, str, list[tuple[str, int]]]]) -> Any:
    """A group description: (member id, client id, assigned partitions) per member."""
    described = []
    for member_id, client_id, tps in members:
        member = _member(client_id, tps)
        member.member_id = member_id
        described.append(member)
    return SimpleNamespace(state=state, members=described)


def _task_of(topic: str, partition: int) -> TaskId | None:
    return TaskId(0, partition) if topic == "in" else None


def _stateful(task: TaskId) -> bool:
    return task.subtopology == 0


THREE = [
    ("m-b", "app-worker-0-consumer|hb:2", [("in", 1)]),
    ("m-a", "app-worker-0-consumer|ha:1", [("in", 0)]),
    ("m-c", "app-worker-0-consumer|hc:3", [("in", 2)]),
]


def test_standby_hosts_follow_the_runtime_placement_ring() -> None:
    stable = _described("ConsumerGroupState.STABLE", THREE)

    def hosts(partition: int, replicas: int) -> frozenset[HostInfo]:
        return standby_hosts_in(stable, TaskId(0, partition), _task_of, _stateful, replicas)

    # ring by member id: m-a (0), m-b (1), m-c (2); a task's standby is on the next member
    assert hosts(0, 1) == {HostInfo("hb", 2)}
    assert hosts(1, 1) == {HostInfo("hc", 3)}
    assert hosts(2, 1) == {HostInfo("ha", 1)}
    assert hosts(0, 2) == {HostInfo("hb", 2), HostInfo("hc", 3)}
    assert hosts(0, 9) == hosts(0, 2)  # capped by the other members
    assert hosts(0, 0) == frozenset()
    assert standby_hosts_in(stable, TaskId(0, 0), _task_of, lambda t: False, 1) == frozenset()


def test_standby_hosts_are_empty_unless_the_group_is_stable() -> None:
    for state in ("ConsumerGroupState.PREPARING_REBALANCE", "ConsumerGroupState.EMPTY", ""):
        described = _described(state, THREE)
        assert standby_hosts_in(described, TaskId(0, 0), _task_of, _stateful, 1) == frozenset()


def test_standby_hosts_skip_members_without_a_server_and_the_active_host() -> None:
    # two worker processes of one instance (same application.server), one without a server
    members = [
        ("m-a", "app-worker-0-consumer|h:1", [("in", 0)]),
        ("m-b", "app-worker-1-consumer|h:1", [("in", 1)]),
        ("m-c", "app-worker-0-consumer", [("in", 2)]),
    ]
    stable = _described("STABLE", members)
    assert standby_hosts_in(stable, TaskId(0, 0), _task_of, _stateful, 1) == frozenset()
    assert standby_hosts_in(stable, TaskId(0, 1), _task_of, _stateful, 1) == frozenset()
    assert standby_hosts_in(stable, TaskId(0, 2), _task_of, _stateful, 1) == {HostInfo("h", 1)}


def test_key_query_metadata_only_gained_a_defaulted_field() -> None:
    metadata = KeyQueryMetadata(HostInfo("h", 1), 3)
    assert (metadata.active_host, metadata.partition) == (HostInfo("h", 1), 3)
    assert metadata.standby_hosts == frozenset()
    assert [f.name for f in fields(KeyQueryMetadata)] == [
        "active_host",
        "partition",
        "standby_hosts",
    ]
