"""Process helpers: is a recorded pid still our broker, and ending it by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

BROKER_MAIN_CLASS = "kafka.Kafka"


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs (a zombie, dead but not yet reaped, counts as not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        # The state letter follows the parenthesised command name.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): os.kill succeeded, so it runs


def is_broker_process(pid: int, marker: str) -> bool:
    """True when ``pid`` runs Kafka's main class with ``marker`` (its config path) in its argv.

    Guards against ending an unrelated process that inherited a stale pid number.
    """
    if not pid_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # cannot inspect (not Linux): trust the pid file
    words = [a.decode(errors="replace") for a in argv]
    return BROKER_MAIN_CLASS in words and any(marker in w for w in words)


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid`` (its whole process group when it leads one), SIGKILL after ``timeout``.

    Returns True when the process stopped within the timeout after SIGTERM (a clean
    shutdown), False when it had to be killed.
    """
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return True
    _signal(pid, signal.SIGKILL)
    _wait_gone(pid, 10.0)
    return False


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        try:
            leads_group = os.getpgid(pid) == pid
        except ProcessLookupError:
            return
        if leads_group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    _reap(pid)
    return not pid_alive(pid)


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
