"""`kstreamy reset`: start an application over (Kafka's application reset tool).

1. refuse while any member of the group `<application.id>` is alive;
2. move the group's committed offsets on its input topics back to the earliest offset;
3. delete the internal topics (`<application.id>-...-repartition` / `-changelog`);
4. delete the local state directory `<state.dir>/<application.id>` (when given or default).

Run it with every instance stopped; the next start re-processes the input from the beginning.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kstreamy.errors import StreamsError

_INTERNAL_SUFFIXES = ("-repartition", "-changelog")


class ActiveMembersError(StreamsError):
    """The group still has live members: stop every instance before resetting."""


@dataclass
class ResetResult:
    input_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    deleted_topics: list[str] = field(default_factory=list)
    deleted_state_dir: str | None = None


def internal_topics_of(application_id: str, topics: list[str]) -> list[str]:
    prefix = f"{application_id}-"
    return sorted(t for t in topics if t.startswith(prefix) and t.endswith(_INTERNAL_SUFFIXES))


def reset_application(
    application_id: str,
    bootstrap: str,
    state_dir: str | None = None,
    client_config: dict[str, Any] | None = None,
    timeout: float = 30.0,
    input_topics: list[str] | None = None,
) -> ResetResult:
    """Reset `application_id` as described in the module docstring; returns what was done.

    Input topics are those the group has committed offsets on plus `input_topics`; every
    partition of each is moved to its earliest offset.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    base = {"bootstrap.servers": bootstrap, **(client_config or {})}
    admin = AdminClient(base)
    _check_no_active_members(admin, application_id, timeout)
    result = ResetResult()

    metadata = admin.list_topics(timeout=timeout).topics
    internal = set(internal_topics_of(application_id, list(metadata)))
    committed = _committed_offsets(admin, application_id, timeout)
    missing = sorted(set(input_topics or ()) - set(metadata))
    if missing:
        raise StreamsError(f"Input topic(s) {', '.join(missing)} do not exist")
    input_names = {t for t, _ in committed if t not in internal and t in metadata}
    input_names |= set(input_topics or ())
    inputs = [(t, p) for t in sorted(input_names) for p in sorted(metadata[t].partitions)]
    if inputs:
        earliest = _earliest_offsets(base, application_id, inputs, timeout)
        request = ConsumerGroupTopicPartitions(
            application_id, [TopicPartition(t, p, earliest[(t, p)]) for t, p in sorted(earliest)]
        )
        for fut in admin.alter_consumer_group_offsets([request]).values():
            fut.result()
        result.input_offsets = earliest
    if internal:
        for name, fut in admin.delete_topics(sorted(internal), operation_timeout=timeout).items():
            fut.result()
            result.deleted_topics.append(name)
    if state_dir is not None:
        app_dir = Path(state_dir) / application_id
        if app_dir.exists():
            shutil.rmtree(app_dir)
            result.deleted_state_dir = str(app_dir)
    return result


def _check_no_active_members(admin: Any, group: str, timeout: float) -> None:
    futures = admin.describe_consumer_groups([group], request_timeout=timeout)
    try:
        description = futures[group].result()
    except Exception as exc:  # an unknown group is fine: nothing to check
        if "GROUP_ID_NOT_FOUND" in str(exc) or "does not exist" in str(exc).lower():
            return
        raise StreamsError(f"Could not describe consumer group {group}: {exc}") from exc
    if description.members:
        hosts = ", ".join(sorted({f"{m.client_id}@{m.host}" for m in description.members}))
        raise ActiveMembersError(
            f"Consumer group {group} still has {len(description.members)} active member(s) "
            f"({hosts}); stop every instance of the application, wait for the session timeout, "
            "and run the reset again"
        )


def _committed_offsets(admin: Any, group: str, timeout: float) -> dict[tuple[str, int], int]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    futures = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
    )
    result: dict[tuple[str, int], int] = {}
    for fut in futures.values():
        for tp in fut.result().topic_partitions:
            result[(tp.topic, tp.partition)] = tp.offset
    return result


def _earliest_offsets(
    base: dict[str, Any], group: str, tps: list[tuple[str, int]], timeout: float
) -> dict[tuple[str, int], int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**base, "group.id": f"{group}-reset", "enable.auto.commit": False})
    try:
        return {
            (t, p): consumer.get_watermark_offsets(TopicPartition(t, p), timeout=timeout)[0]
            for t, p in tps
        }
    finally:
        consumer.close()


# -- CLI -------------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add `kstreamy reset` to the CLI dispatcher."""
    parser = subparsers.add_parser(
        "reset",
        help="reset an application: input offsets to the start, internal topics and state gone",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--application-id", required=True, help="the application.id")
    parser.add_argument("--bootstrap", "--bootstrap-server", required=True, dest="bootstrap")
    parser.add_argument(
        "--state-dir",
        default=None,
        help="the app's state.dir, whose <application.id> directory is deleted "
        "(default: kstreamy's default state.dir)",
    )
    parser.add_argument(
        "--input-topics",
        default="",
        help="comma-separated input topics to rewind (besides those with committed offsets)",
    )
    parser.add_argument("--keep-state", action="store_true", help="leave local state alone")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from kstreamy.config import StreamsConfig

    state_dir = None
    if not args.keep_state:
        state_dir = args.state_dir or StreamsConfig({}).state_dir
    try:
        inputs = [t for t in args.input_topics.split(",") if t]
        result = reset_application(
            args.application_id, args.bootstrap, state_dir, input_topics=inputs
        )
    except StreamsError as exc:
        print(f"kstreamy reset: {exc}", file=sys.stderr)
        return 1
    print(f"reset input offsets of {len(result.input_offsets)} partition(s) to the earliest")
    for name in result.deleted_topics:
        print(f"deleted internal topic {name}")
    if result.deleted_state_dir:
        print(f"deleted local state {result.deleted_state_dir}")
    return 0
