"""The standby placement rule: deterministic, never on the active member, N distinct copies,
stateful tasks only."""

from __future__ import annotations

from types import SimpleNamespace

from kstreamy.processor import TaskId
from kstreamy.runtime.standby import Member, TaskRules, members_of, standby_placement


def _task_of(topic: str, partition: int) -> TaskId | None:
    sub = {"in": 0, "rep": 1}.get(topic)
    return None if sub is None else TaskId(sub, partition)


def _stateful(task: TaskId) -> bool:
    return task.subtopology == 1


MEMBERS = [
    Member("m-c", (("in", 2), ("rep", 2))),
    Member("m-a", (("in", 0), ("rep", 0))),
    Member("m-b", (("in", 1), ("rep", 1), ("other", 1))),
]


def test_each_stateful_task_gets_standbys_on_other_members() -> None:
    placement = standby_placement(MEMBERS, _task_of, _stateful, replicas=1)
    # ring m-a, m-b, m-c: a task's standby goes to the next member
    assert placement == {
        "m-a": {TaskId(1, 2)},
        "m-b": {TaskId(1, 0)},
        "m-c": {TaskId(1, 1)},
    }
    assert standby_placement(list(reversed(MEMBERS)), _task_of, _stateful, 1) == placement


def test_replicas_are_capped_by_the_other_members_and_never_on_the_active() -> None:
    placement = standby_placement(MEMBERS, _task_of, _stateful, replicas=5)
    actives = {"m-a": TaskId(1, 0), "m-b": TaskId(1, 1), "m-c": TaskId(1, 2)}
    for member, standbys in placement.items():
        assert actives[member] not in standbys
        assert standbys == set(actives.values()) - {actives[member]}
    single = standby_placement(MEMBERS[:1], _task_of, _stateful, replicas=2)
    assert single == {"m-c": set()}
    assert standby_placement(MEMBERS, _task_of, _stateful, replicas=0) == {
        m.member_id: set() for m in MEMBERS
    }


def test_members_are_read_from_a_group_description() -> None:
    tp = SimpleNamespace
    description = SimpleNamespace(
        members=[
            SimpleNamespace(
                member_id="m-1",
                assignment=SimpleNamespace(
                    topic_partitions=[tp(topic="in", partition=1), tp(topic="in", partition=0)]
                ),
            ),
            SimpleNamespace(member_id="m-2", assignment=None),
        ]
    )
    assert members_of(description) == [
        Member("m-1", (("in", 0), ("in", 1))),
        Member("m-2", ()),
    ]


def test_task_rules_map_source_partitions_to_tasks_and_find_stateful_ones() -> None:
    plan = SimpleNamespace(
        source_topics={0: ["in"], 1: ["rep", "other-in"]},
        store_changelogs={"counts": "app-counts-changelog"},
    )
    subs = [SimpleNamespace(id=0, stores=[]), SimpleNamespace(id=1, stores=["counts", "plain"])]
    rules = TaskRules.of(plan, subs)
    assert rules.task_of("other-in", 3) == TaskId(1, 3)
    assert rules.task_of("in", 0) == TaskId(0, 0)
    assert rules.task_of("unknown", 0) is None
    assert rules.stateful(TaskId(1, 0)) and not rules.stateful(TaskId(0, 0))
    no_changelog = TaskRules.of(
        SimpleNamespace(source_topics={1: ["rep"]}, store_changelogs={}), subs
    )
    assert not no_changelog.stateful(TaskId(1, 0))
