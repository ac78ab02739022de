"""The commit protocol, as numbered steps in one function so its order can be reviewed.

1. flush every task's caches and stores: cached updates are forwarded downstream and written to
   the changelogs (LMDB commits its batch);
2. flush the producer: every output, repartition and changelog record is acknowledged;
3. commit the input offsets — at-least-once: `consumer.commit`, asynchronous for the periodic
   commits (their outputs are acknowledged already; a lost commit only means re-processing) and
   synchronous for the final one before partitions are revoked or the worker stops;
   exactly_once_v2: send them to the open transaction with the consumer's group metadata and
   commit the transaction;
4. write the store checkpoints — at-least-once only, and only once the changelog offsets moved
   by `CHECKPOINT_DELTA` records (under exactly-once they are written on a clean close only, so
   a crash always restores from the changelog).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstreamy.runtime.worker import Worker, _TaskEntry

log = logging.getLogger(__name__)


def commit_tasks(worker: Worker, entries: list[_TaskEntry], final: bool = False) -> list[Any]:
    """Commit every task of `worker` (see the module docstring for the steps); returns the
    committed positions (TopicPartitions), which the worker reuses for lag and purging. `final`:
    the last commit before a revocation or shutdown (at-least-once waits for the broker)."""
    producer = worker.producer
    collector = worker.collector
    assert producer is not None and collector is not None
    # 1. flush caches and stores (emits downstream and to the changelogs)
    for entry in entries:
        entry.task.flush_stores()
    # 2. flush the producer: everything sent so far is acknowledged (or the failure raised)
    collector.flush()
    # 3. commit the consumed offsets
    offsets: list[Any] = worker.committable_offsets()
    if producer.eos:
        producer.commit_transaction(offsets, worker.consumer.consumer_group_metadata())
    elif offsets:
        commit_offsets(worker, offsets, asynchronous=not final)
    # 4. checkpoints (at-least-once only)
    if not producer.eos:
        for entry in entries:
            worker.write_checkpoint(entry, force=False)
    for entry in entries:
        entry.task.commit_needed = False
        entry.task.commit_requested = False
    return offsets


_RETRY_LATER = {"_TRANSPORT", "_TIMED_OUT", "_WAIT_COORD", "COORDINATOR_NOT_AVAILABLE",
                "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "REQUEST_TIMED_OUT",
                "_ALL_BROKERS_DOWN", "REBALANCE_IN_PROGRESS", "ILLEGAL_GENERATION",
                "UNKNOWN_MEMBER_ID", "_NO_OFFSET"}  # fmt: skip


def commit_offsets(worker: Worker, offsets: list[Any], asynchronous: bool = False) -> None:
    """At-least-once step 3. A commit that fails because the broker is away or the group is
    rebalancing is only logged: the next commit carries the same (or later) offsets, and records
    processed since the last successful commit are re-processed at worst (at-least-once). An
    asynchronous commit's failure is logged by the worker's `on_commit` callback."""
    from confluent_kafka import KafkaException

    if asynchronous:
        worker.async_commits += 1
    try:
        worker.consumer.commit(offsets=offsets, asynchronous=asynchronous)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        name = err.name() if err is not None else ""
        if err is not None and (err.retriable() or name in _RETRY_LATER):
            log.warning("%s: offset commit failed (%s); retrying at the next commit",
                        worker.name, err.str())  # fmt: skip
            return
        raise
