"""Run one system as a subprocess and measure it: throughput, CPU per 1k records, peak RSS.

The interval starts at the system's ``first_consumed`` message (see :mod:`benchmarks.protocol`)
and ends when the harness sees the application's consumer group commit the input's end offsets
on every partition: by then all input is processed and its output flushed (at-least-once) or
in a committed transaction (exactly-once). CPU time and memory come from ``/proc`` for the
process and its descendants, sampled every :data:`SAMPLE_S`; the peak RSS is the larger of the
kernel's own high-water mark (``VmHWM``) of the main process and the largest sampled tree sum.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from benchmarks import protocol

SAMPLE_S = 0.1
COMMIT_CHECK_S = 0.25
STOP_GRACE_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class RunResult:
    """One measured run of one system on one workload."""

    system: str
    workload: str
    run: int
    records: int
    status: str = "failed"
    """``ok``, ``failed`` or ``timeout``."""
    error: str | None = None
    wall_s: float | None = None
    records_per_s: float | None = None
    cpu_s: float | None = None
    cpu_s_per_1k: float | None = None
    peak_rss_mb: float | None = None
    first_consumed_from: str = "system"
    """``system`` (its protocol message) or ``process-start`` (fallback: it never said)."""
    log: str | None = None
    app_id: str | None = None
    output_topic: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- /proc sampling ---------------------------------------------------------------------------


def _read_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of ``pid``, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def vm_hwm_bytes(pid: int) -> int:
    """The kernel's peak resident set size of ``pid`` (``VmHWM``), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and all its living descendants."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read_stat(int(entry))
        if stat is not None:
            parents.setdefault(stat[0], []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, ()))
    return tree


@dataclass
class Sample:
    t: float
    cpu_s: float
    rss: int


class TreeSampler:
    """Samples CPU seconds and RSS of a process tree; interpolates CPU at any time."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: list[Sample] = []
        self._cpu_of_gone: dict[int, float] = {}
        self._tree_refresh = 0.0
        self._tree: list[int] = [root]

    def sample(self) -> Sample:
        now = time.time()
        if now >= self._tree_refresh:
            self._tree = process_tree(self.root)
            self._tree_refresh = now + 1.0
        cpu, rss = 0.0, 0
        for pid in self._tree:
            stat = _read_stat(pid)
            if stat is None:
                cpu += self._cpu_of_gone.get(pid, 0.0)
                continue
            self._cpu_of_gone[pid] = stat[1]
            cpu += stat[1]
            rss += _rss_bytes(pid)
        s = Sample(now, cpu, rss)
        self.samples.append(s)
        return s

    def cpu_at(self, t: float) -> float:
        """CPU seconds used by time ``t`` (linear between the two nearest samples)."""
        return interpolate([(s.t, s.cpu_s) for s in self.samples], t)

    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=0)


def interpolate(points: Sequence[tuple[float, float]], t: float) -> float:
    """Piecewise-linear value at ``t`` of time-sorted ``points`` (clamped at both ends)."""
    if not points:
        return 0.0
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


# --- completion -------------------------------------------------------------------------------


class CommitWatcher:
    """Asks the broker for a consumer group's committed offsets (without joining the group)."""

    def __init__(self, bootstrap: str, group: str, topic: str, end: dict[int, int]) -> None:
        self.end = end
        self.partitions = [TopicPartition(topic, p) for p in sorted(end)]
        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )

    def lag(self) -> int | None:
        """Records not yet committed (None when the broker did not answer in time)."""
        try:
            committed = self.consumer.committed(self.partitions, timeout=5.0)
        except Exception:
            return None
        lag = 0
        for tp in committed:
            done = tp.offset if tp.offset >= 0 else 0
            lag += max(self.end[tp.partition] - done, 0)
        return lag

    def close(self) -> None:
        self.consumer.close()


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Launch:
    """What to run: argv, environment additions, working directory."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


def run_system(
    launch: Launch,
    result: RunResult,
    *,
    bootstrap: str,
    group: str,
    watch_topic: str,
    end: dict[int, int],
    timeout_s: float,
    log_path: Path,
) -> RunResult:
    """Run ``launch`` until ``group`` committed ``end`` on ``watch_topic``; fill ``result``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result.log = str(log_path)
    log = log_path.open("w", buffering=1)
    env = {**os.environ, **launch.env}
    started = time.time()
    proc = subprocess.Popen(
        launch.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=launch.cwd,
        env=env,
        text=True,
        start_new_session=True,
    )
    events: dict[str, dict[str, Any]] = {}
    reader = threading.Thread(target=_read_stdout, args=(proc, log, events), daemon=True)
    reader.start()
    sampler = TreeSampler(proc.pid)
    watcher = CommitWatcher(bootstrap, group, watch_topic, end)
    deadline = time.monotonic() + timeout_s
    next_check = 0.0
    t_done: float | None = None
    try:
        while True:
            sampler.sample()
            if protocol.ERROR in events:
                result.error = str(events[protocol.ERROR].get("message", "error reported"))
                break
            if proc.poll() is not None:
                result.error = f"exited early with code {proc.returncode}; see {log_path}"
                break
            if time.monotonic() >= deadline:
                result.status = "timeout"
                result.error = f"no full commit within {timeout_s:.0f} s; see {log_path}"
                break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + COMMIT_CHECK_S
                if watcher.lag() == 0:
                    t_done = time.time()
                    sampler.sample()
                    break
            time.sleep(SAMPLE_S)
        hwm = vm_hwm_bytes(proc.pid)
    finally:
        watcher.close()
        stop_process(proc)
        reader.join(timeout=5)
        log.close()
    if t_done is None:
        if result.error and "see " in result.error:
            result.error += f" (last line: {log_tail(log_path)})"
        return result
    first = events.get(protocol.FIRST_CONSUMED)
    if first is None:
        t_first = started
        result.first_consumed_from = "process-start"
    else:
        t_first = float(first["t"])
    fill_metrics(result, t_first, t_done, sampler.cpu_at(t_done) - sampler.cpu_at(t_first),
                 max(hwm, sampler.peak_rss()))  # fmt: skip
    return result


def log_tail(path: Path) -> str:
    """The last non-blank line of a run's log (usually the exception), shortened."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "?"
    return lines[-1][:300] if lines else "(empty log)"


def fill_metrics(
    result: RunResult, t_first: float, t_done: float, cpu_s: float, peak_rss: int
) -> None:
    """Derive the reported numbers of an ``ok`` run from the raw measurements."""
    wall = max(t_done - t_first, 1e-6)
    result.status = "ok"
    result.wall_s = round(wall, 3)
    result.records_per_s = round(result.records / wall, 1)
    result.cpu_s = round(cpu_s, 3)
    result.cpu_s_per_1k = round(cpu_s / result.records * 1000, 5)
    result.peak_rss_mb = round(peak_rss / 2**20, 1)


def _read_stdout(proc: subprocess.Popen[str], log: Any, events: dict[str, dict[str, Any]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        msg = protocol.parse_line(line)
        if msg is not None:
            events.setdefault(msg["event"], msg)
        log.write(line)


def stop_process(proc: subprocess.Popen[str], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, then SIGKILL it after ``grace_s``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
