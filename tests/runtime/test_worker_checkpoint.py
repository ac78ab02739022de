"""At-least-once commits rewrite a task's checkpoint only once its changelog offsets moved by
CHECKPOINT_DELTA records; closing (force) always writes it; the stores are made durable before
the checkpoint that names their data (a checkpoint is never ahead of the stores)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kstreamy.runtime.worker import CHECKPOINT_DELTA, Worker, _TaskEntry
from kstreamy.state.checkpoint import OffsetCheckpoint


def _worker(offsets: dict[tuple[str, int], int]) -> Worker:
    worker = Worker.__new__(Worker)  # only write_checkpoint is exercised: no clients
    collector: Any = SimpleNamespace(offsets=offsets)
    worker.collector = collector
    return worker


def test_checkpoint_is_written_once_offsets_moved_enough(tmp_path: Path) -> None:
    tp = ("app-store-changelog", 0)
    acked: dict[tuple[str, int], int] = {}
    worker = _worker(acked)
    checkpoint = OffsetCheckpoint.for_task_dir(tmp_path)
    synced_before: list[dict[tuple[str, int], int]] = []  # the checkpoint file at each sync
    task = SimpleNamespace(sync_stores=lambda: synced_before.append(checkpoint.read()))
    entry = _TaskEntry(task, tmp_path, True, {tp: 0}, [("in", 0)])  # type: ignore[arg-type]

    acked[tp] = 99
    worker.write_checkpoint(entry, force=False)
    assert checkpoint.read() == {}, "100 records is below the threshold"
    assert entry.changelog_next == {tp: 100}
    assert synced_before == [], "no checkpoint, no sync"

    acked[tp] = CHECKPOINT_DELTA - 1
    worker.write_checkpoint(entry, force=False)
    assert checkpoint.read() == {tp: CHECKPOINT_DELTA}
    assert synced_before == [{}], "the stores were synced before the checkpoint was written"

    acked[tp] = CHECKPOINT_DELTA + 5
    worker.write_checkpoint(entry, force=False)
    assert checkpoint.read() == {tp: CHECKPOINT_DELTA}
    worker.write_checkpoint(entry)  # a close always writes
    assert checkpoint.read() == {tp: CHECKPOINT_DELTA + 6}
    assert synced_before == [{}, {tp: CHECKPOINT_DELTA}]


def test_in_memory_task_writes_no_checkpoint(tmp_path: Path) -> None:
    worker = _worker({("c", 0): 50_000})
    entry = _TaskEntry(None, tmp_path, False, {("c", 0): 0}, [])  # type: ignore[arg-type]
    worker.write_checkpoint(entry)
    assert not (tmp_path / ".checkpoint").exists()
