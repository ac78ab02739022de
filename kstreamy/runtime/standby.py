"""Standby replicas (`num.standby.replicas`): where they go, and learning the group's membership.

Kafka Streams' assignor places standbys; librdkafka offers no custom assignor, so every worker
derives the placement itself from the group's description (`describe_consumer_groups`: each
member with its member id and assigned partitions), with a rule every member computes alike:

    Order the group's members by member id into a ring. A member's *active* tasks are those of
    the source partitions assigned to it. Each active **stateful** task (one whose sub-topology
    has a changelogged store) of the member at ring position i gets a standby on the members at
    positions i+1, ..., i+N (mod the ring size), N = min(num.standby.replicas, members - 1).

So a standby is never on the member that has the task active, two standbys of a task are never
on the same member, and with two instances each one keeps warm copies of the other's tasks.
A member is one worker's consumer (an instance with `num.stream.threads` = 1, or one worker
process, which has its own state directory). The description is fetched asynchronously (the
poll loop only checks whether the answer arrived) after every rebalance and every
`STANDBY_REFRESH_S` (members come and go), and used only when the group is Stable
(mid-rebalance assignments are stale); a worker opens or closes standbys only when its share
of the placement changed, so an unchanged group costs one small request per refresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kstreamy.processor import TaskId

log = logging.getLogger(__name__)

STANDBY_REFRESH_S = 5.0
"""How often the group is described again when nothing triggered it (members come and go)."""
RETRY_S = 0.5
"""How soon to describe again when the group was rebalancing or the request failed."""


@dataclass(frozen=True)
class Member:
    """A group member: its id and the source partitions it is assigned."""

    member_id: str
    partitions: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TaskRules:
    """How the placement rule sees the application's tasks: the task of a source partition, and
    which tasks are stateful (their sub-topology has a changelogged store). Built alike by every
    worker and by `KafkaStreams.query_metadata_for_key`, so both see one placement."""

    subtopology_of_topic: Mapping[str, int]
    stateful_subtopologies: frozenset[int]

    @classmethod
    def of(cls, plan: Any, subtopologies: Iterable[Any]) -> TaskRules:
        """From a `TopicPlan` and the topology's task sub-topologies."""
        changelogs = plan.store_changelogs
        by_topic = {t: sid for sid, topics in plan.source_topics.items() for t in topics}
        stateful = frozenset(s.id for s in subtopologies if any(n in changelogs for n in s.stores))
        return cls(by_topic, stateful)

    def task_of(self, topic: str, partition: int) -> TaskId | None:
        """None for a topic that is no source topic of this application."""
        sub = self.subtopology_of_topic.get(topic)
        return None if sub is None else TaskId(sub, partition)

    def stateful(self, task: TaskId) -> bool:
        return task.subtopology in self.stateful_subtopologies


def standby_placement(
    members: Iterable[Member],
    task_of: Callable[[str, int], TaskId | None],
    stateful: Callable[[TaskId], bool],
    replicas: int,
) -> dict[str, set[TaskId]]:
    """member id -> the standby tasks it keeps (see the module docstring for the rule)."""
    ring = sorted(members, key=lambda m: m.member_id)
    result: dict[str, set[TaskId]] = {m.member_id: set() for m in ring}
    copies = min(replicas, len(ring) - 1)
    if copies <= 0:
        return result
    actives: list[set[TaskId]] = []
    for member in ring:
        found = (task_of(topic, part) for topic, part in member.partitions)
        actives.append({t for t in found if t is not None})
    for i, tasks in enumerate(actives):
        for task in tasks:
            if not stateful(task):
                continue
            for k in range(1, copies + 1):
                j = (i + k) % len(ring)
                if task not in actives[j]:
                    result[ring[j].member_id].add(task)
    return result


class MembershipWatcher:
    """Describes the consumer group in the background; `poll()` returns a new member list when
    one arrived from a Stable group, else None. Never blocks the caller."""

    def __init__(self, admin_factory: Callable[[], Any], group: str) -> None:
        self._admin_factory = admin_factory
        self._admin: Any = None
        self.group = group
        self._future: Any = None
        self._next = time.monotonic()

    def request_soon(self, delay: float = 0.0) -> None:
        """Describe the group after `delay` seconds (a rebalance just happened)."""
        self._next = min(self._next, time.monotonic() + delay)

    def poll(self) -> list[Member] | None:
        now = time.monotonic()
        future = self._future
        if future is None:
            if now >= self._next:
                self._start()
            return None
        if not future.done():
            return None
        self._future = None
        try:
            description = future.result()
        except Exception as exc:  # the broker away, the coordinator moving: try again soon
            log.debug("describing group %s failed: %s; retrying", self.group, exc)
            self._next = now + RETRY_S
            return None
        state = str(getattr(description, "state", "")).upper()
        if "STABLE" not in state:
            self._next = now + RETRY_S
            return None
        self._next = now + STANDBY_REFRESH_S
        return members_of(description)

    def _start(self) -> None:
        if self._admin is None:
            self._admin = self._admin_factory()
        try:
            futures: Mapping[str, Any] = self._admin.describe_consumer_groups(
                [self.group], request_timeout=10
            )
        except Exception as exc:
            log.debug("describing group %s failed: %s", self.group, exc)
            self._next = time.monotonic() + RETRY_S
            return
        self._future = futures[self.group]


def members_of(description: Any) -> list[Member]:
    """The members of a `ConsumerGroupDescription` with their assigned partitions."""
    result: list[Member] = []
    for member in description.members:
        assignment = getattr(member, "assignment", None)
        tps = getattr(assignment, "topic_partitions", None) or []
        parts = tuple(sorted((tp.topic, tp.partition) for tp in tps))
        result.append(Member(str(member.member_id), parts))
    return result
