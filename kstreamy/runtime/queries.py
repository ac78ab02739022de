"""Interactive-query discovery: which instance hosts the store partition that holds a key.

librdkafka has no custom assignor, so the group's assignment carries no user data; instead each
worker's consumer announces `application.server` in its `client.id` (`...|host:port`), and the
owner of a key is found from the group description: the member assigned the source partition
the key maps to (Kafka's default partitioner: murmur2 of the serialized key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """Where a key lives: the active host (UNAVAILABLE while rebalancing) and the partition."""

    active_host: HostInfo
    partition: int


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


def find_owner(admin: Any, group: str, topic: str, partition: int, timeout: float) -> HostInfo:
    """The application.server of the group member assigned `topic`/`partition`."""
    description = admin.describe_consumer_groups([group], request_timeout=timeout)[group].result()
    for member in description.members:
        assignment = getattr(member, "assignment", None)
        tps = getattr(assignment, "topic_partitions", None) or []
        if any(tp.topic == topic and tp.partition == partition for tp in tps):
            _, sep, server = str(member.client_id).rpartition(SERVER_SEPARATOR)
            return HostInfo.parse(server) if sep else UNAVAILABLE
    return UNAVAILABLE
