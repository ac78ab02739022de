"""Checkpoint files, state directory layout, flock task locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kstreamy.processor import TaskId
from kstreamy.state.checkpoint import CHECKPOINT_FILE_NAME, OffsetCheckpoint
from kstreamy.state.directory import StateDirectory, TaskLock
from kstreamy.state.errors import CheckpointError, LockTimeoutError, StateDirectoryError


def test_checkpoint_round_trip_in_kafka_format(tmp_path: Path) -> None:
    checkpoint = OffsetCheckpoint.for_task_dir(tmp_path)
    assert checkpoint.read() == {}
    offsets = {("app-a-changelog", 3): 1200, ("app-b-changelog", 3): 0}
    checkpoint.write(offsets)
    assert checkpoint.read() == offsets
    assert (tmp_path / CHECKPOINT_FILE_NAME).read_text() == (
        "0\n2\napp-a-changelog 3 1200\napp-b-changelog 3 0\n"
    )
    assert not (tmp_path / (CHECKPOINT_FILE_NAME + ".tmp")).exists()
    checkpoint.write({})
    assert not checkpoint.path.exists()


@pytest.mark.parametrize(
    "content",
    ["", "1\n1\nt 0 5\n", "0\n2\nt 0 5\n", "0\nx\n", "0\n1\nt zero 5\n", "0\n1\nt 0\n", "\xff\xfe"],
)
def test_corrupt_checkpoint_names_the_path(tmp_path: Path, content: str) -> None:
    path = tmp_path / CHECKPOINT_FILE_NAME
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(CheckpointError) as info:
        OffsetCheckpoint(path).read()
    assert str(path) in str(info.value)
    assert "restores its stores from the changelogs" in str(info.value)
    OffsetCheckpoint(path).delete()
    assert OffsetCheckpoint(path).read() == {}


def test_task_dirs_wipe_and_process_id(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path, "app")
    task_dir = directory.task_dir(TaskId(0, 1))
    assert task_dir == tmp_path / "app" / "0_1"
    (task_dir / "store").mkdir()
    (task_dir / "store" / "data.mdb").write_bytes(b"x")
    directory.checkpoint(TaskId(0, 1)).write({("t", 1): 5})
    with directory.lock(TaskId(0, 1)):
        directory.wipe(TaskId(0, 1))
        assert [p.name for p in task_dir.iterdir()] == [".lock"]
    assert directory.task_dirs() == ["0_1"]
    pid = directory.process_id()
    assert StateDirectory(tmp_path, "app").process_id() == pid


def test_foreign_or_corrupt_state_dir_is_refused(tmp_path: Path) -> None:
    StateDirectory(tmp_path, "app")
    marker = tmp_path / "app" / "kstreamy-state.json"
    marker.write_text('{"application.id": "other", "layout": 1}')
    with pytest.raises(StateDirectoryError, match="belongs to") as info:
        StateDirectory(tmp_path, "app")
    assert str(tmp_path / "app") in str(info.value) and "delete" in str(info.value)
    marker.write_text("{not json")
    with pytest.raises(StateDirectoryError, match="corrupt marker"):
        StateDirectory(tmp_path, "app")
    (tmp_path / "java-app" / "0_0").mkdir(parents=True)
    with pytest.raises(StateDirectoryError, match="not written by kstreamy"):
        StateDirectory(tmp_path, "java-app")


HOLDER = """
import sys, time
from pathlib import Path
from kstreamy.state.directory import StateDirectory, TaskLock
directory = StateDirectory(Path(sys.argv[1]), "app")
lock = directory.lock("0_0", timeout_s=5)
print("locked", flush=True)
time.sleep(60)
"""


def start_holder(tmp_path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_lock_held_by_live_process_fails_naming_pid(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path, "app")
    with start_holder(tmp_path) as holder:
        try:
            with pytest.raises(LockTimeoutError, match=f"pid {holder.pid}"):
                directory.lock("0_0", timeout_s=0.3)
            with pytest.raises(LockTimeoutError, match=f"pid {holder.pid}"):
                directory.lock("0_0", timeout_s=0)
        finally:
            directory.close()
            holder.kill()
            holder.wait(timeout=10)


def test_sigkilled_holder_never_blocks_its_successor(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path, "app")
    with start_holder(tmp_path) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    started = time.monotonic()
    lock = directory.lock("0_0", timeout_s=0)  # no waiting: the OS released the lock
    assert lock.held and time.monotonic() - started < 5
    assert (tmp_path / "app" / "0_0" / ".lock").read_text().strip() == str(os.getpid())
    directory.close()
    assert not lock.held


def test_lock_waits_for_a_holder_in_the_same_instance(tmp_path: Path) -> None:
    first = StateDirectory(tmp_path, "app")
    second = StateDirectory(tmp_path, "app")
    lock = first.lock("0_0")
    with pytest.raises(LockTimeoutError, match=f"pid {os.getpid()}"):
        second.lock("0_0", timeout_s=0.1)
    lock.release()
    assert second.lock("0_0", timeout_s=1).held
    second.close()


def test_instance_lock_fails_fast(tmp_path: Path) -> None:
    first = StateDirectory(tmp_path, "app").lock_instance()
    with pytest.raises(LockTimeoutError, match="in use by another instance"):
        StateDirectory(tmp_path, "app").lock_instance()
    first.release()
    StateDirectory(tmp_path, "app").lock_instance().release()


def test_task_moving_between_worker_threads_waits_for_the_release(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path, "app")
    first = directory.lock("0_0")
    assert directory.lock("0_0") is first  # re-entrant for the holding thread
    outcome: list[object] = []

    def other_worker() -> None:
        try:
            outcome.append(directory.lock("0_0", timeout_s=10))
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=other_worker)
    worker.start()
    time.sleep(0.3)
    assert outcome == [], "the other worker must wait while the task is held"
    directory.unlock("0_0")
    worker.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], TaskLock) and outcome[0].held
    assert not first.held
    directory.close()
    assert not outcome[0].held


def test_other_worker_thread_times_out_naming_this_pid(tmp_path: Path) -> None:
    directory = StateDirectory(tmp_path, "app")
    directory.lock("0_0")
    errors: list[BaseException] = []

    def other_worker() -> None:
        try:
            directory.lock("0_0", timeout_s=0.2)
        except LockTimeoutError as exc:
            errors.append(exc)

    worker = threading.Thread(target=other_worker)
    worker.start()
    worker.join(timeout=10)
    assert len(errors) == 1 and f"pid {os.getpid()}" in str(errors[0])
    directory.close()
