"""The state directory: `<state.dir>/<application.id>/<task-id>/`, task locks, process id.

- A marker file `<app dir>/kstreamy-state.json` records the application id and the layout
  version; a directory without it (but not empty), or with another id/version, is refused with
  an error naming the path and how to reset it.
- Task directories are locked with `flock` on `<task dir>/.lock`: the OS releases the lock when
  the holder dies, so a SIGKILLed process never blocks its successor. `lock()` waits up to a
  timeout (a task moving between workers of one instance) and then fails naming the holder's
  pid. `lock_instance()` locks the whole application directory and fails at once if another
  instance holds it (two instances must not share a state directory).
- `process_id()` is a UUID kept in `<app dir>/kstreamy-process-file`, stable across restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from kstreamy.processor import TaskId
from kstreamy.state.checkpoint import OffsetCheckpoint
from kstreamy.state.errors import LockTimeoutError, StateDirectoryError

LAYOUT_VERSION = 1
MARKER_FILE = "kstreamy-state.json"
PROCESS_FILE = "kstreamy-process-file"
LOCK_FILE = ".lock"
_POLL_S = 0.05


class TaskLock:
    """A held flock on a task (or application) directory; `release()` or use as a context."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> TaskLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_flock(path: Path) -> TaskLock | None:
    handle = open(path, "a+")  # noqa: SIM115 - kept open while the lock is held
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return TaskLock(path, handle)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid else "an unknown process"


class StateDirectory:
    """The state of one application on this machine."""

    def __init__(self, state_dir: Path | str, application_id: str) -> None:
        if not application_id or "/" in application_id:
            raise ValueError(f"invalid application.id {application_id!r} for a state directory")
        self.state_dir = Path(state_dir)
        self.application_id = application_id
        self.app_dir = self.state_dir / application_id
        self._check_or_create_marker()
        self._locks: dict[str, tuple[TaskLock, int]] = {}
        self._guard = threading.Lock()

    # --- layout -------------------------------------------------------------------------------
    def _reset_hint(self) -> str:
        return (
            f"If this directory belongs to this application, delete {self.app_dir} (its state "
            "is restored from the changelogs); otherwise choose another state.dir."
        )

    def _check_or_create_marker(self) -> None:
        marker = self.app_dir / MARKER_FILE
        expected = {"application.id": self.application_id, "layout": LAYOUT_VERSION}
        if marker.exists():
            try:
                found = json.loads(marker.read_text())
            except (OSError, ValueError) as exc:
                raise StateDirectoryError(
                    f"State directory {self.app_dir} has a corrupt marker {marker} ({exc}). "
                    + self._reset_hint()
                ) from exc
            if found != expected:
                raise StateDirectoryError(
                    f"State directory {self.app_dir} belongs to {found!r}, not {expected!r} "
                    "(another application or an incompatible kstreamy layout). "
                    + self._reset_hint()
                )
            return
        if self.app_dir.exists() and any(self.app_dir.iterdir()):
            raise StateDirectoryError(
                f"State directory {self.app_dir} is not empty but has no {MARKER_FILE}: it was "
                "not written by kstreamy (or is from an older layout). " + self._reset_hint()
            )
        self.app_dir.mkdir(parents=True, exist_ok=True)
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(expected))
        os.replace(tmp, marker)

    def process_id(self) -> uuid.UUID:
        """This instance's stable id (kept across restarts in the process file)."""
        path = self.app_dir / PROCESS_FILE
        try:
            return uuid.UUID(path.read_text().strip())
        except (OSError, ValueError):
            pid = uuid.uuid4()
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"{pid}\n")
            os.replace(tmp, path)
            return pid

    def task_dir(self, task_id: TaskId | str) -> Path:
        """The directory of `task_id` (created if missing)."""
        path = self.app_dir / str(task_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def task_dirs(self) -> list[str]:
        """The ids of the tasks that have a directory here."""
        return sorted(
            p.name
            for p in self.app_dir.iterdir()
            if p.is_dir() and "_" in p.name and p.name.replace("_", "").isdigit()
        )

    def checkpoint(self, task_id: TaskId | str) -> OffsetCheckpoint:
        return OffsetCheckpoint.for_task_dir(self.task_dir(task_id))

    def wipe(self, task_id: TaskId | str) -> None:
        """Delete a task's stores and checkpoint (keeping its lock file, which may be held)."""
        path = self.app_dir / str(task_id)
        if not path.exists():
            return
        for child in path.iterdir():
            if child.name == LOCK_FILE:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    # --- locks --------------------------------------------------------------------------------
    def lock(self, task_id: TaskId | str, timeout_s: float = 5.0) -> TaskLock:
        """Lock a task directory, waiting up to `timeout_s` for the current holder.

        Re-entrant for the thread holding it; another thread (a worker the task moves to)
        or process waits, since each attempt takes a new flock that conflicts with the held one.
        """
        key = str(task_id)
        me = threading.get_ident()
        with self._guard:
            held = self._locks.get(key)
            if held is not None and held[0].held and held[1] == me:
                return held[0]
        path = self.task_dir(key) / LOCK_FILE
        deadline = time.monotonic() + timeout_s
        while True:
            acquired = _try_flock(path)
            if acquired is not None:
                with self._guard:
                    self._locks[key] = (acquired, me)
                return acquired
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"Task directory {path.parent} is still locked by {_holder(path)} after "
                    f"{timeout_s:g}s. If that is another instance using this state.dir, stop it "
                    "or give each instance its own state.dir; if it is this process, the task's "
                    "previous worker has not released it yet."
                )
            time.sleep(_POLL_S)

    def unlock(self, task_id: TaskId | str) -> None:
        """Release the task's lock (whichever thread of this instance holds it)."""
        with self._guard:
            held = self._locks.pop(str(task_id), None)
        if held is not None:
            held[0].release()

    def lock_instance(self) -> TaskLock:
        """Lock the application directory for this instance; fail at once if another has it."""
        path = self.app_dir / LOCK_FILE
        acquired = _try_flock(path)
        if acquired is None:
            raise LockTimeoutError(
                f"State directory {self.app_dir} is in use by another instance ({_holder(path)}). "
                "Two instances cannot share a state.dir: stop the other one or set another "
                "state.dir."
            )
        return acquired

    def close(self) -> None:
        """Release every task lock this object holds."""
        for key in list(self._locks):
            self.unlock(key)
