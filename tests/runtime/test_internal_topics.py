"""Internal topic planning: partition counts and configs derived as Kafka Streams derives them."""

from __future__ import annotations

from typing import Any

import pytest

from kstreamy.errors import TopologyError
from kstreamy.processor import Processor, Record
from kstreamy.runtime.internal_topics import (
    InternalTopicShapeError,
    InternalTopicSpec,
    MissingSourceTopicError,
    ensure_internal_topics,
    plan_internal_topics,
)
from kstreamy.state.stores import Stores
from kstreamy.topology import Topology

from .topologies import word_count


class _Noop(Processor[Any, Any, Any, Any]):
    def process(self, record: Record[Any, Any]) -> None:
        self.context.forward(record)


def test_word_count_plan() -> None:
    plan = plan_internal_topics(word_count("in", "out"), "app", {"in": 3})
    rep = plan.internal["app-words-repartition"]
    assert (rep.partitions, rep.kind, rep.config["cleanup.policy"]) == (3, "repartition", "delete")
    log = plan.internal["app-counts-changelog"]
    assert (log.partitions, log.kind, log.config["cleanup.policy"]) == (3, "changelog", "compact")
    assert plan.task_partitions == {0: 3, 1: 3}
    assert plan.source_topics == {0: ["in"], 1: ["app-words-repartition"]}
    assert plan.store_changelogs == {"counts": "app-counts-changelog"}
    assert plan.subtopology_of("app-words-repartition") == 1
    assert plan.all_source_topics() == ["app-words-repartition", "in"]


def test_repartition_count_is_max_of_upstream_sources_and_explicit_count_wins() -> None:
    t = Topology()
    t.add_source("a", "a", "b")
    t.add_processor("p", _Noop, "a")
    t.add_repartition_topic("r1", None)
    t.add_repartition_topic("r2", 7)
    t.add_sink("s1", "r1", "p")
    t.add_sink("s2", "r2", "p")
    t.add_source("r1src", "r1")
    t.add_processor("q", _Noop, "r1src")
    t.add_repartition_topic("r3", None)  # fed by a sub-topology reading a repartition topic
    t.add_sink("s3", "r3", "q")
    t.add_source("r3src", "r3")
    t.add_source("r2src", "r2")
    plan = plan_internal_topics(t, "x", {"a": 2, "b": 5})
    assert plan.internal["x-r1"].partitions == 5
    assert plan.internal["x-r2"].partitions == 7
    assert plan.internal["x-r3"].partitions == 5


def test_copartitioned_repartition_topic_follows_the_external_topic() -> None:
    t = Topology()
    t.add_source("a", "a")
    t.add_processor("p", _Noop, "a")
    t.add_repartition_topic("r", None)
    t.add_sink("s", "r", "p")
    t.add_source("rs", "r")
    t.add_source("bs", "b")
    t.add_processor("join", _Noop, "rs", "bs")
    t.add_copartition_group(["r", "b"])
    plan = plan_internal_topics(t, "x", {"a": 2, "b": 4})
    assert plan.internal["x-r"].partitions == 4


def test_not_copartitioned_external_topics_fail() -> None:
    t = Topology()
    t.add_source("a", "a")
    t.add_source("b", "b")
    t.add_processor("join", _Noop, "a", "b")
    t.add_copartition_group(["a", "b"])
    with pytest.raises(TopologyError, match="not co-partitioned"):
        plan_internal_topics(t, "x", {"a": 2, "b": 3})


def test_missing_source_topic_is_named() -> None:
    with pytest.raises(MissingSourceTopicError, match=r"Source topic\(s\) in not found"):
        plan_internal_topics(word_count("in", "out"), "app", {})


def test_changelog_config_from_store_builder() -> None:
    t = Topology()
    t.add_source("a", "a")
    t.add_processor("p", _Noop, "a")
    t.add_state_store(
        Stores.key_value("w", logging_config={"cleanup.policy": "compact,delete"}), "p"
    )
    t.add_state_store(Stores.key_value("nolog", logging=False), "p")
    plan = plan_internal_topics(t, "x", {"a": 2})
    assert plan.internal["x-w-changelog"].config["cleanup.policy"] == "compact,delete"
    assert "x-nolog-changelog" not in plan.internal


class _Future:
    def __init__(self, exc: Exception | None = None) -> None:
        self.exc = exc

    def result(self) -> None:
        if self.exc:
            raise self.exc


class _Meta:
    def __init__(self, partitions: int) -> None:
        self.partitions = dict.fromkeys(range(partitions))
        self.error = None


class _Entry:
    def __init__(self, value: str) -> None:
        self.value = value


class _ConfigFuture:
    def __init__(self, policy: str) -> None:
        self.policy = policy

    def result(self) -> dict[str, _Entry]:
        return {"cleanup.policy": _Entry(self.policy)}


class _FakeAdmin:
    def __init__(self, existing: dict[str, int], policies: dict[str, str] | None = None) -> None:
        self.topics = dict(existing)
        self.policies = policies or {}
        self.created: list[Any] = []

    def describe_configs(self, resources: list[Any], **kwargs: Any) -> dict[Any, _ConfigFuture]:
        return {r: _ConfigFuture(self.policies.get(r.name, "delete")) for r in resources}

    def list_topics(self, timeout: float) -> Any:
        class M:
            topics = {n: _Meta(c) for n, c in self.topics.items()}

        return M()

    def create_topics(self, new: list[Any], **kwargs: Any) -> dict[str, _Future]:
        for nt in new:
            self.created.append(nt)
            self.topics[nt.topic] = nt.num_partitions
        return {nt.topic: _Future() for nt in new}


def test_ensure_creates_missing_and_validates_existing() -> None:
    specs = {
        "x-r": InternalTopicSpec("x-r", 3, {"cleanup.policy": "delete"}),
        "x-c-changelog": InternalTopicSpec("x-c-changelog", 3, {"cleanup.policy": "compact"}),
    }
    admin = _FakeAdmin({"x-r": 3})
    assert ensure_internal_topics(admin, specs) == ["x-c-changelog"]
    created = admin.created[0]
    assert (created.topic, created.num_partitions) == ("x-c-changelog", 3)
    assert created.config == {"cleanup.policy": "compact"}


def test_ensure_rejects_wrong_partition_count() -> None:
    specs = {"x-c-changelog": InternalTopicSpec("x-c-changelog", 3, {}, "changelog")}
    with pytest.raises(InternalTopicShapeError, match=r"x-c-changelog has 2 partitions.*needs 3"):
        ensure_internal_topics(_FakeAdmin({"x-c-changelog": 2}), specs)


def test_ensure_rejects_a_changelog_that_is_not_compacted() -> None:
    specs = {
        "x-c-changelog": InternalTopicSpec(
            "x-c-changelog", 2, {"cleanup.policy": "compact"}, "changelog"
        )
    }
    with pytest.raises(InternalTopicShapeError, match=r"cleanup\.policy=delete but needs compact"):
        ensure_internal_topics(_FakeAdmin({"x-c-changelog": 2}), specs)
    ok = _FakeAdmin({"x-c-changelog": 2}, {"x-c-changelog": "compact"})
    assert ensure_internal_topics(ok, specs) == []
