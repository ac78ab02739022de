"""Internal topics: derive the repartition and changelog topics a topology needs, create them.

Partition counts follow Kafka Streams' rules:
- a sub-topology has as many tasks as the largest partition count among its source topics;
- a repartition topic without an explicit count gets the task count of the sub-topologies that
  write into it (resolved to a fixed point, since those may read repartition topics themselves);
- repartition topics in a co-partition group (join inputs) are forced to the group's count;
- a changelog topic has one partition per task of the sub-topology that owns the store and
  `cleanup.policy=compact` unless the store's logging config says otherwise.

`plan_internal_topics` is pure (unit-testable without a broker); `ensure_internal_topics` creates
what is missing through an AdminClient and fails clearly when an existing topic has the wrong shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kstreamy.errors import StreamsError, TopologyError
from kstreamy.topology import Topology

log = logging.getLogger(__name__)

REPARTITION_TOPIC_CONFIG: dict[str, str] = {
    "cleanup.policy": "delete",
    "segment.bytes": "52428800",
    "retention.ms": "-1",  # Kafka Streams purges consumed repartition records itself
}
CHANGELOG_TOPIC_CONFIG: dict[str, str] = {"cleanup.policy": "compact"}


class MissingSourceTopicError(StreamsError):
    """A source topic of the topology does not exist on the cluster."""


class InternalTopicShapeError(StreamsError):
    """An existing internal topic has a partition count or cleanup policy the topology can't use."""


@dataclass(frozen=True)
class InternalTopicSpec:
    """One internal topic: its real (prefixed) name, partition count and topic configs."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    kind: str = "repartition"  # or "changelog"


@dataclass
class TopicPlan:
    """Everything the runtime needs to know about topics before it subscribes."""

    internal: dict[str, InternalTopicSpec]
    """Real name -> spec for every repartition and changelog topic."""
    task_partitions: dict[int, int]
    """Sub-topology id -> number of tasks (partitions)."""
    source_topics: dict[int, list[str]]
    """Sub-topology id -> real source topic names (repartition topics prefixed)."""
    store_changelogs: dict[str, str]
    """Store name -> real changelog topic name (logged, non-global stores only)."""
    global_topics: dict[str, str]
    """Global store name -> source topic."""

    def all_source_topics(self) -> list[str]:
        return sorted({t for ts in self.source_topics.values() for t in ts})

    def subtopology_of(self, topic: str) -> int:
        for sid, topics in self.source_topics.items():
            if topic in topics:
                return sid
        raise KeyError(topic)


def changelog_topic_name(application_id: str, store: str) -> str:
    return f"{application_id}-{store}-changelog"


def plan_internal_topics(
    topology: Topology, application_id: str, external_counts: Mapping[str, int]
) -> TopicPlan:
    """Derive internal topics from `topology`; `external_counts` has every non-internal source.

    Raises `MissingSourceTopicError` naming any missing source or global topic, `TopologyError`
    when join inputs are not co-partitioned or a repartition topic's size can't be derived.
    """
    subs = topology.task_subtopologies()
    internal = set(topology.internal_topics)
    needed = {t for s in subs for t in s.source_topics if t not in internal}
    needed |= {g.topic for g in topology.global_stores.values()}
    missing = sorted(t for t in needed if t not in external_counts)
    if missing:
        raise MissingSourceTopicError(
            f"Source topic(s) {', '.join(missing)} not found on the cluster (application.id "
            f"'{application_id}'); create them before starting the application"
        )
    counts: dict[str, int] = {t: external_counts[t] for t in needed}
    for topic, fixed in topology.repartition_topics.items():
        if fixed is not None:
            counts[topic] = fixed
    _resolve_repartition_counts(topology, counts)
    _enforce_copartitioning(topology, counts)
    unresolved = sorted(t for t in topology.repartition_topics if t not in counts)
    if unresolved:
        raise TopologyError(
            f"Cannot derive the partition count of repartition topic(s) {', '.join(unresolved)}; "
            "give it explicitly with repartition(num_partitions=...)"
        )
    topology.validate_copartitioning(counts)

    specs: dict[str, InternalTopicSpec] = {}
    for topic in sorted(topology.repartition_topics):
        real = topology.decorate(topic, application_id)
        specs[real] = InternalTopicSpec(real, counts[topic], dict(REPARTITION_TOPIC_CONFIG))
    task_partitions: dict[int, int] = {}
    source_topics: dict[int, list[str]] = {}
    store_changelogs: dict[str, str] = {}
    logged = set(topology.changelog_stores())
    for sub in subs:
        n = max(counts[t] for t in sub.source_topics)
        task_partitions[sub.id] = n
        source_topics[sub.id] = [topology.decorate(t, application_id) for t in sub.source_topics]
        for store in sub.stores:
            if store not in logged:
                continue
            name = changelog_topic_name(application_id, store)
            config = {**CHANGELOG_TOPIC_CONFIG, **topology.store_builders[store].logging_config}
            specs[name] = InternalTopicSpec(name, n, config, "changelog")
            store_changelogs[store] = name
    global_topics = {name: g.topic for name, g in topology.global_stores.items()}
    return TopicPlan(specs, task_partitions, source_topics, store_changelogs, global_topics)


def _resolve_repartition_counts(topology: Topology, counts: dict[str, int]) -> None:
    """Give each unsized repartition topic the task count of the sub-topologies writing to it."""
    subs = topology.task_subtopologies()
    changed = True
    while changed:
        changed = False
        for topic in topology.repartition_topics:
            if topic in counts:
                continue
            writers = [s for s in subs if topic in s.sink_topics]
            sizes = [
                max(counts[t] for t in s.source_topics)
                for s in writers
                if all(t in counts for t in s.source_topics)
            ]
            if sizes and len(sizes) == len(writers):
                counts[topic] = max(sizes)
                changed = True


def _enforce_copartitioning(topology: Topology, counts: dict[str, int]) -> None:
    """Repartition topics (not explicitly sized) in a co-partition group follow the group."""
    for group in topology.copartition_groups:
        flexible = {
            t
            for t in group
            if t in topology.repartition_topics and topology.repartition_topics[t] is None
        }
        fixed = [counts[t] for t in group if t not in flexible and t in counts]
        target = (
            max(fixed) if fixed else max((counts[t] for t in flexible if t in counts), default=0)
        )
        if target:
            for t in flexible:
                counts[t] = target


# -- AdminClient side ----------------------------------------------------------------------------


def fetch_partition_counts(
    admin: Any, topics: Iterable[str], timeout: float = 10.0, require_leaders: bool = False
) -> dict[str, int]:
    """Partition counts of the `topics` that exist (missing ones, and with `require_leaders`
    those with a leaderless partition, are left out)."""
    wanted = set(topics)
    metadata = admin.list_topics(timeout=timeout)
    result: dict[str, int] = {}
    for name, tmeta in metadata.topics.items():
        if name in wanted and tmeta.error is None and tmeta.partitions:
            if require_leaders and any(
                getattr(p, "leader", 0) < 0 or getattr(p, "error", None) is not None
                for p in tmeta.partitions.values()
            ):
                continue
            result[name] = len(tmeta.partitions)
    return result


def ensure_internal_topics(
    admin: Any,
    specs: Mapping[str, InternalTopicSpec],
    replication_factor: int = -1,
    timeout: float = 30.0,
) -> list[str]:
    """Create missing internal topics and validate existing ones; returns the names created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    existing = fetch_partition_counts(admin, specs, timeout)
    for name, count in existing.items():
        _check_shape(specs[name], count)
    _check_cleanup_policies(admin, [specs[n] for n in sorted(existing)], timeout)
    to_create = [s for n, s in sorted(specs.items()) if n not in existing]
    if not to_create:
        return []
    futures = admin.create_topics(
        [
            NewTopic(s.name, s.partitions, replication_factor, config=dict(s.config))
            for s in to_create
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    for name, fut in futures.items():
        try:
            fut.result()
            created.append(name)
            log.info("created internal topic %s (%d partitions)", name, specs[name].partitions)
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StreamsError(
                    f"Could not create internal topic {name} ({specs[name].partitions} "
                    f"partitions): {err.str()}; check the broker and the ACLs of the principal"
                ) from exc
    # A concurrent instance may have won the race: validate what is there now, and wait until
    # every partition has a leader (a fresh topic's metadata takes a moment to propagate).
    deadline = time.monotonic() + timeout
    while True:
        after = fetch_partition_counts(admin, specs, timeout, require_leaders=True)
        if all(name in after for name in specs) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for name in specs:
        if name not in after:
            raise StreamsError(
                f"Internal topic {name} has no leader for every partition {timeout:.0f}s after "
                "being created; check the broker"
            )
        _check_shape(specs[name], after[name])
    return sorted(created)


def _check_shape(spec: InternalTopicSpec, actual: int) -> None:
    if actual != spec.partitions:
        raise InternalTopicShapeError(
            f"Internal {spec.kind} topic {spec.name} has {actual} partitions but the topology "
            f"needs {spec.partitions}; stop every instance, run `kstreamy reset` for this "
            "application (it deletes internal topics and local state) and start again"
        )


def _check_cleanup_policies(admin: Any, specs: list[InternalTopicSpec], timeout: float) -> None:
    """A changelog must be compacted (else restoration replays, or misses, history); a
    repartition topic must not be (compaction would drop records not yet processed)."""
    if not specs:
        return
    from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]

    resources = [ConfigResource("TOPIC", spec.name) for spec in specs]
    futures = admin.describe_configs(resources, request_timeout=timeout)
    by_name = {spec.name: spec for spec in specs}
    for resource, fut in futures.items():
        spec = by_name[resource.name]
        entry = fut.result().get("cleanup.policy")
        actual = set(str(entry.value).split(",")) if entry is not None else {"delete"}
        wanted = set(str(spec.config.get("cleanup.policy", "delete")).split(","))
        if ("compact" in actual) != ("compact" in wanted):
            raise InternalTopicShapeError(
                f"Internal {spec.kind} topic {spec.name} has cleanup.policy="
                f"{','.join(sorted(actual))} but needs {','.join(sorted(wanted))}; fix it with "
                "kafka-configs, or stop every instance and run `kstreamy reset`"
            )
