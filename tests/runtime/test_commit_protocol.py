"""The commit protocol's order and its at-least-once offset commits (kstreamy/runtime/commit.py):
stores flush before the producer, the producer before the offsets, checkpoints last; periodic
at-least-once commits do not wait for the broker, the final one (revocation, shutdown) does."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kstreamy.runtime.commit import commit_tasks


def fake_worker(log: list[Any], eos: bool = False) -> Any:
    producer = SimpleNamespace(
        eos=eos,
        commit_transaction=lambda offsets, meta: log.append(("transaction", offsets)),
    )
    consumer = SimpleNamespace(
        commit=lambda offsets, asynchronous: log.append(("offsets", offsets, asynchronous)),
        consumer_group_metadata=lambda: "meta",
    )
    return SimpleNamespace(
        producer=producer,
        collector=SimpleNamespace(flush=lambda: log.append(("producer-flush",))),
        consumer=consumer,
        committable_offsets=lambda: ["tp@5"],
        write_checkpoint=lambda entry, force: log.append(("checkpoint", entry.name)),
        async_commits=0,
    )


def entry(name: str, log: list[Any]) -> Any:
    task = SimpleNamespace(commit_needed=True, commit_requested=True)
    task.flush_stores = lambda: log.append(("flush-stores", name))
    return SimpleNamespace(name=name, task=task)


@pytest.mark.parametrize("final", [False, True])
def test_at_least_once_order_and_waiting(final: bool) -> None:
    log: list[Any] = []
    worker = fake_worker(log)
    entries = [entry("0_0", log), entry("0_1", log)]
    assert commit_tasks(worker, entries, final=final) == ["tp@5"]
    assert log == [
        ("flush-stores", "0_0"),
        ("flush-stores", "0_1"),
        ("producer-flush",),
        ("offsets", ["tp@5"], not final),  # periodic: asynchronous; final: synchronous
        ("checkpoint", "0_0"),
        ("checkpoint", "0_1"),
    ]
    assert worker.async_commits == (0 if final else 1)
    assert not any(e.task.commit_needed or e.task.commit_requested for e in entries)


def test_exactly_once_commits_the_transaction_and_writes_no_checkpoint() -> None:
    log: list[Any] = []
    worker = fake_worker(log, eos=True)
    commit_tasks(worker, [entry("0_0", log)])
    assert log == [("flush-stores", "0_0"), ("producer-flush",), ("transaction", ["tp@5"])]
