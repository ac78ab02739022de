"""Key -> partition as Kafka computes it, and host discovery from the group description."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kstreamy.runtime.queries import (
    UNAVAILABLE,
    HostInfo,
    default_partition,
    find_owner,
    murmur2,
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
