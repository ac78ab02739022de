"""`num.stream.threads` = N > 1: N worker processes, each a one-worker instance of the app.

Python threads share one GIL, so parallelism comes from processes. They are started with the
`spawn` method (no librdkafka thread state is ever inherited) and rebuild the topology from a
factory importable by name: `"package.module:function"` or a module-level function (a
`functools.partial` of one works too). Each child is an independent group member with its own
state directory `<state.dir>/process-<i>/<application.id>/` (so its process id, and under
exactly-once its `transactional.id`, is stable across restarts). Children exit when the parent
dies (Linux `PR_SET_PDEATHSIG`, plus a watchdog on the parent pid elsewhere).

The parent learns each child's state (and metrics snapshots) through a queue; the app is RUNNING
when every child is, ERROR as soon as one fails.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

_METRICS_EVERY_S = 2.0


def _die_with_parent(parent_pid: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watchdog() -> None:
        while True:
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(1.0)

    threading.Thread(target=watchdog, name="kstreamy-parent-watchdog", daemon=True).start()


def _child_main(
    topology_source: Any,
    config: dict[str, Any],
    index: int,
    events: Any,
    stop: Any,
    parent_pid: int,
) -> None:
    """Body of one worker process: run a one-worker app until told to stop."""
    from kstreamy.runtime.app import KafkaStreams, State

    _die_with_parent(parent_pid)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C reaches it
    base = str(config.get("state.dir") or "")
    child_config = dict(config)
    child_config["num.stream.threads"] = 1
    if base:
        child_config["state.dir"] = os.path.join(base, f"process-{index}")
    try:
        app = KafkaStreams(topology_source, child_config)
        app.set_state_listener(lambda new, old: events.put(("state", index, new.value, None)))
        app.start()
    except BaseException as exc:
        events.put(("state", index, "ERROR", f"{type(exc).__name__}: {exc}"))
        return
    last_metrics = 0.0
    while not stop.is_set() and not stopping.is_set():
        if app.state in (State.ERROR, State.NOT_RUNNING):
            break
        now = time.monotonic()
        if now - last_metrics >= _METRICS_EVERY_S:
            last_metrics = now
            events.put(("metrics", index, app.metrics(), None))
        time.sleep(0.1)
    clean = app.close(timeout=30)
    events.put(("metrics", index, app.metrics(), None))
    events.put(("closed", index, "NOT_RUNNING" if clean else "ERROR", None))


class WorkerProcesses:
    """Starts, watches and stops the worker processes of one app."""

    def __init__(
        self,
        topology_source: Any,
        config: Mapping[str, Any],
        count: int,
        on_state: Callable[[bool, BaseException | None], None],
    ) -> None:
        self._source = topology_source
        self._config = dict(config)
        self._count = count
        self._on_state = on_state
        self._ctx = multiprocessing.get_context("spawn")
        self._events: Any = self._ctx.Queue()
        self._stop: Any = self._ctx.Event()
        self._procs: list[Any] = []
        self.states: dict[int, str] = {}
        self.metrics: dict[int, dict[str, Any]] = {}
        self.error: str | None = None
        self._monitor: threading.Thread | None = None
        self._done = threading.Event()

    def start(self) -> None:
        for index in range(self._count):
            proc = self._ctx.Process(
                target=_child_main,
                args=(self._source, self._config, index, self._events, self._stop, os.getpid()),
                name=f"kstreamy-worker-{index}",
                daemon=True,
            )
            proc.start()
            self._procs.append(proc)
            self.states[index] = "CREATED"
        self._monitor = threading.Thread(
            target=self._watch, name="kstreamy-worker-monitor", daemon=True
        )
        self._monitor.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                kind, index, payload, error = self._events.get(timeout=0.2)
            except queue.Empty:
                if (
                    any(p.exitcode not in (None, 0) for p in self._procs)
                    and not self._stop.is_set()
                ):
                    self._fail("a worker process died unexpectedly")
                continue
            if kind == "metrics":
                self.metrics[index] = payload
                continue
            self.states[index] = payload
            if error is not None or (payload == "ERROR" and not self._stop.is_set()):
                self._fail(error or f"worker process {index} failed")
            elif not self._stop.is_set():
                running = all(s == "RUNNING" for s in self.states.values())
                self._on_state(running, None)

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
            log.error("worker processes: %s", message)
            self._on_state(False, RuntimeError(message))

    def stop(self, timeout: float | None) -> bool:
        """Ask every child to close cleanly; terminate those still alive after `timeout`."""
        self._stop.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        clean = True
        for proc in self._procs:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            proc.join(remaining)
            if proc.is_alive():
                clean = False
                proc.terminate()
                proc.join(5)
            clean = clean and proc.exitcode == 0
        time.sleep(0.3)  # let the monitor drain the last events
        self._done.set()
        if self._monitor is not None:
            self._monitor.join(2)
        with contextlib.suppress(Exception):
            self._events.close()
        return clean and all(s == "NOT_RUNNING" for s in self.states.values())
