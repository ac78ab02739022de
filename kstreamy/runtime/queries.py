"""Interactive-query discovery: which instance hosts the store partition that holds a key.

librdkafka has no custom assignor, so the group's assignment carries no user data; instead each
worker's consumer announces `application.server` in its `client.id` (`...|host:port`), and the
owner of a key is found from the group description: the member assigned the source partition
the key maps to (Kafka's default partitioner: murmur2 of the serialized key). Its standby hosts
come from the same description through the runtime's own standby placement rule (`standby.py`),
so they are the instances that really keep the key's task warm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kstreamy.processor import TaskId
from kstreamy.runtime.standby import members_of, standby_placement

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995
SERVER_SEPARATOR = "|"


@dataclass(frozen=True)
class HostInfo:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HostInfo:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"application.server must be host:port, got {text!r}")
        return cls(host, int(port))


UNAVAILABLE = HostInfo("unavailable", -1)


@dataclass(frozen=True)
class KeyQueryMetadata:
    """Where a key lives: the active host (UNAVAILABLE while rebalancing), the partition, and
    the hosts keeping a standby copy of its task (`num.standby.replicas`; empty without standbys,
    while the group rebalances, or for a store without a changelog)."""

    active_host: HostInfo
    partition: int
    standby_hosts: frozenset[HostInfo] = frozenset()


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 (`Utils.murmur2`), as a signed int."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (and librdkafka's murmur2) picks for `key`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def describe_group(admin: Any, group: str, timeout: float) -> Any:
    """The group's `ConsumerGroupDescription` (members, assignments, state)."""
    return admin.describe_consumer_groups([group], request_timeout=timeout)[group].result()


def find_owner(admin: Any, group: str, topic: str, partition: int, timeout: float) -> HostInfo:
    """The application.server of the group member assigned `topic`/`partition`."""
    return owner_in(describe_group(admin, group, timeout), topic, partition)


def _server_of(member: Any) -> HostInfo | None:
    """The application.server a member announces in its client.id, None without one."""
    _, sep, server = str(member.client_id).rpartition(SERVER_SEPARATOR)
    return HostInfo.parse(server) if sep else None


def owner_in(description: Any, topic: str, partition: int) -> HostInfo:
    """The application.server of the member of `description` assigned `topic`/`partition`."""
    for member in description.members:
        assignment = getattr(member, "assignment", None)
        tps = getattr(assignment, "topic_partitions", None) or []
        if any(tp.topic == topic and tp.partition == partition for tp in tps):
            return _server_of(member) or UNAVAILABLE
    return UNAVAILABLE


def standby_hosts_in(
    description: Any,
    task: TaskId,
    task_of: Callable[[str, int], TaskId | None],
    stateful: Callable[[TaskId], bool],
    replicas: int,
) -> frozenset[HostInfo]:
    """The application.servers of the members that keep a standby of `task`, by the runtime's
    placement rule (`standby.standby_placement`). Empty unless the group is Stable (a
    rebalancing group's assignments are stale) and `replicas` > 0. A host that also has the
    task active (another worker process of the same instance) is not a standby host."""
    if replicas <= 0 or "STABLE" not in str(getattr(description, "state", "")).upper():
        return frozenset()
    members = members_of(description)
    placement = standby_placement(members, task_of, stateful, replicas)
    servers = {str(m.member_id): _server_of(m) for m in description.members}
    hosts = {servers[member] for member, tasks in placement.items() if task in tasks}
    actives = {
        servers[m.member_id] for m in members if any(task_of(*tp) == task for tp in m.partitions)
    }
    return frozenset(h for h in hosts - actives if h is not None)
