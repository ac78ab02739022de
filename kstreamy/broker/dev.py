"""DevBroker: one real Apache Kafka node (KRaft, broker + controller) in a directory.

Files in the directory: ``server.properties``, ``log4j2.xml``, ``broker.log`` (log4j2 and the
JVM's stdout/stderr), ``broker.pid``, ``broker.json`` (ports, pid, version) and ``data/``
(the Kafka log dirs, formatted once and kept across restarts).
"""

from __future__ import annotations

import base64
import ctypes
import json
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kstreamy.broker import config as cfg
from kstreamy.broker import process as proc
from kstreamy.broker.errors import BrokerError, with_alternatives
from kstreamy.broker.toolchain import KafkaJars, ensure_kafka, find_java

DEFAULT_PORT = 9092
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
DEFAULT_HEAP = "512m"
_BIND_ATTEMPTS = 3
_PROBE_LOGGER = logging.getLogger("kstreamy.broker.probe")
_PROBE_LOGGER.addHandler(logging.NullHandler())
_PROBE_LOGGER.propagate = False


class _PortTakenError(BrokerError):
    """Kafka could not bind a port we had checked free: someone took it in between."""


@dataclass(frozen=True)
class BrokerStatus:
    """What ``kstreamy broker status`` reports about one directory."""

    directory: Path
    running: bool
    pid: int | None
    bootstrap: str | None
    log_file: Path


def project_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` (default: cwd) holding a pyproject.toml, else cwd."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return here


def default_dir() -> Path:
    """The default broker directory: ``build/broker`` under the project root."""
    return project_root() / "build" / "broker"


class DevBroker:
    """A local single-node Kafka broker living in ``directory``.

    ``start()`` returns the bootstrap address once the broker answers metadata requests;
    ``stop()`` ends it by its recorded pid. The broker runs detached in its own session, so
    it outlives the starting process unless ``tie_to_parent=True`` is given to ``start``.
    """

    def __init__(
        self,
        directory: Path | str,
        port: int = DEFAULT_PORT,
        *,
        controller_port: int | None = None,
        heap: str | None = None,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap or os.environ.get("KSTREAMY_BROKER_HEAP") or DEFAULT_HEAP
        self._child: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- paths -------------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``, the address clients connect to."""
        return f"{cfg.HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "broker.pid"

    @property
    def _state_file(self) -> Path:
        return self.directory / "broker.json"

    @property
    def _properties(self) -> Path:
        return self.directory / "server.properties"

    @property
    def _data_dir(self) -> Path:
        return self.directory / "data"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(
        self,
        timeout: float = START_TIMEOUT_S,
        *,
        tie_to_parent: bool = False,
        any_port: bool = False,
    ) -> str:
        """Start the broker and wait until it answers metadata; return the bootstrap address.

        ``tie_to_parent`` makes the kernel stop the broker when the calling process dies
        (used by the pytest fixture so an interrupted session leaves no broker behind).
        ``any_port`` lets a busy port be replaced by a free one (``port``/``bootstrap`` then
        tell which) instead of failing; a controller port that is taken between our check and
        Kafka's bind is always replaced unless it was given explicitly.
        Raises :class:`BrokerError` with a human explanation on any failure.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        running = self.status()
        if running.running:
            raise BrokerError(
                f"A dev broker already runs from {self.directory} (pid {running.pid}) at "
                f"{running.bootstrap}. Use it as it is, or stop it first with "
                f"`kstreamy broker stop --dir {self.directory}`."
            )
        if any_port and not cfg.port_is_free(self.port):
            self.port = cfg.free_port()
        self._check_port(self.port, "--port")
        java = find_java()
        jars = ensure_kafka()
        deadline = time.monotonic() + timeout
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            controller_port = self.controller_port or cfg.free_port()
            self._check_port(controller_port, "the controller port")
            self._write_configs(controller_port)
            self._format_storage(java, jars)
            child = self._launch(java, jars, tie_to_parent=tie_to_parent)
            self._write_state(child.pid, controller_port, jars.version)
            try:
                self._wait_ready(child, max(1.0, deadline - time.monotonic()))
                return self.bootstrap
            except _PortTakenError:
                # Another process bound one of our ports after we checked it (a race with
                # other clients or brokers on a busy machine): pick again, or say which.
                if attempt == _BIND_ATTEMPTS or self.controller_port is not None:
                    raise
                if not cfg.port_is_free(self.port):
                    if not any_port:
                        self._check_port(self.port, "--port")
                    self.port = cfg.free_port()
            except BaseException:  # interrupted or failed: leave no half-started broker
                self.stop(timeout=10)
                raise
        raise AssertionError("unreachable: the last attempt raises")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """End the broker recorded in the directory; True if one was running.

        SIGTERM first (Kafka shuts down cleanly), SIGKILL if it has not ended in ``timeout``.
        """
        pid = self._recorded_pid()
        was_running = pid is not None and proc.is_broker_process(pid, str(self._properties))
        if pid is not None and was_running:
            proc.terminate(pid, timeout)
        if self._child is not None:
            self._child.wait(timeout=10)
            self._child = None
        self.pid_file.unlink(missing_ok=True)
        return was_running

    def status(self) -> BrokerStatus:
        """Whether the broker recorded in the directory runs, with its pid and address."""
        pid = self._recorded_pid()
        running = pid is not None and proc.is_broker_process(pid, str(self._properties))
        bootstrap: str | None = None
        if running:
            state = self._read_state()
            port = state.get("port", self.port)
            bootstrap = f"{cfg.HOST}:{port}"
        return BrokerStatus(
            self.directory, running, pid if running else None, bootstrap, self.log_file
        )

    def _log_since_launch(self) -> str:
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(self._log_offset)
                return handle.read(4 * 1024 * 1024).decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the broker log ('' when there is none yet)."""
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 64 * 1024))
                text = handle.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- steps of start ----------------------------------------------------------------------
    def _check_port(self, port: int, what: str) -> None:
        if cfg.port_is_free(port):
            return
        raise BrokerError(
            with_alternatives(
                f"Port {port} on {cfg.HOST} ({what}) is already in use, so the dev broker "
                f"cannot listen there. Choose a free port with --port, or stop what listens "
                f"on it (if that is another dev broker: `kstreamy broker stop --dir <its "
                f"directory>`; `ss -ltnp 'sport = :{port}'` shows the process)."
            )
        )

    def _write_configs(self, controller_port: int) -> None:
        self._properties.write_text(
            cfg.server_properties(
                port=self.port, controller_port=controller_port, data_dir=self._data_dir
            )
        )
        (self.directory / "log4j2.xml").write_text(cfg.log4j2_xml(self.log_file))

    def _format_storage(self, java: str, jars: KafkaJars) -> None:
        if (self._data_dir / "meta.properties").is_file():
            return  # formatted by an earlier start: keep topics and offsets
        cluster_id = new_cluster_id()
        cmd = [
            java, "-Xmx256m", *self._log_opts(), "-cp", jars.classpath,
            "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self._properties),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(f"Formatting KRaft storage in {self._data_dir} hung.") from exc
        if done.returncode != 0:
            raise BrokerError(
                f"Formatting KRaft storage in {self._data_dir} failed (exit code "
                f"{done.returncode}). Delete {self.directory} and retry.",
                log_tail="\n".join((done.stdout + done.stderr).splitlines()[-30:]),
            )

    def _log_opts(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.directory}",
        ]

    def _launch(
        self, java: str, jars: KafkaJars, *, tie_to_parent: bool
    ) -> subprocess.Popen[bytes]:
        cmd = [
            java, "-Xms64m", f"-Xmx{self.heap}", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", *self._log_opts(), "-cp", jars.classpath,
            proc.BROKER_MAIN_CLASS, str(self._properties),
        ]  # fmt: skip
        with self.log_file.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n[kstreamy] starting: {' '.join(cmd)}\n".encode())
            log.flush()
            # Own session, stdin from /dev/null, output to the log file and no inherited
            # descriptors: a caller capturing our output through pipes is never held open.
            self._child = subprocess.Popen(
                cmd,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent if tie_to_parent else None,
            )
        return self._child

    def _write_state(self, pid: int, controller_port: int, version: str) -> None:
        self.pid_file.write_text(f"{pid}\n")
        state = {
            "pid": pid,
            "port": self.port,
            "controller_port": controller_port,
            "bootstrap": self.bootstrap,
            "kafka_version": version,
            "started_at": time.time(),
        }
        self._state_file.write_text(json.dumps(state, indent=2) + "\n")

    def _wait_ready(self, child: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        admin: Any = None
        while time.monotonic() < deadline:
            code = child.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                error = (
                    _PortTakenError
                    if "Address already in use" in self._log_since_launch()
                    else BrokerError
                )
                raise error(
                    f"The Kafka broker in {self.directory} exited with code {code} while "
                    f"starting. Its log is {self.log_file}; the tail is below.",
                    log_tail=self.log_tail(),
                )
            if cfg.accepts_connections(self.port):
                admin = admin or _admin_client(self.bootstrap)
                if _answers_metadata(admin):
                    return
            time.sleep(0.2)
        self.stop(timeout=10)
        raise BrokerError(
            f"The Kafka broker in {self.directory} did not answer metadata requests on "
            f"{self.bootstrap} within {timeout:.0f} s, so it was stopped. Its log is "
            f"{self.log_file}; the tail is below.",
            log_tail=self.log_tail(),
        )

    # -- recorded state ----------------------------------------------------------------------
    def _recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}


def _admin_client(bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "logger": _PROBE_LOGGER,  # connection-refused noise while the broker boots
        "error_cb": lambda _err: None,
    }
    return AdminClient(conf)


def _answers_metadata(admin: Any) -> bool:
    from confluent_kafka import KafkaException

    try:
        metadata = admin.list_topics(timeout=2)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def _load_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the fixture's atexit handler still stops the broker


# Resolved in the parent: the child between fork and exec should only make the system call.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM us when the parent process dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def new_cluster_id() -> str:
    """A random KRaft cluster id (Kafka's Uuid text: URL-safe base64 of 16 bytes, no padding).
    Like Kafka's `Uuid.randomUuid()`, never one starting with '-': the storage tool's argument
    parser would take it for an option and fail (1 start in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
