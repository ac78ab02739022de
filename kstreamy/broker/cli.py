"""``kstreamy broker start|stop|status|fetch|exec``: the dev broker from the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from kstreamy.broker.errors import BrokerError

NAME = "broker"
HELP = "run a local Apache Kafka broker for development and tests"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``broker`` and its sub-commands to the top-level ``kstreamy`` parser."""
    parser = subparsers.add_parser(
        NAME,
        help=HELP,
        description="A real single-node Apache Kafka (KRaft) broker on 127.0.0.1, fetched "
        "with Maven once and cached. Needs Java >= 17 (and Maven for the first fetch).",
    )
    actions = parser.add_subparsers(dest="broker_command", required=True, metavar="COMMAND")

    start = actions.add_parser("start", help="start a broker in --dir, return once it is ready")
    _add_dir(start)
    start.add_argument("--port", type=int, default=9092, help="broker port (default 9092)")
    start.add_argument(
        "--controller-port", type=int, default=None, help="KRaft controller port (default: free)"
    )
    start.add_argument(
        "--timeout", type=float, default=90.0, help="seconds to wait for readiness (default 90)"
    )
    start.set_defaults(func=_friendly(_start))

    stop = actions.add_parser("stop", help="stop the broker recorded in --dir")
    _add_dir(stop)
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(func=_friendly(_stop))

    status = actions.add_parser("status", help="say whether the broker in --dir runs")
    _add_dir(status)
    status.set_defaults(func=_friendly(_status))

    fetch = actions.add_parser("fetch", help="fetch and cache Kafka's jars now (no broker)")
    fetch.set_defaults(func=_friendly(_fetch))

    run = actions.add_parser(
        "exec",
        help="run a command with KSTREAMY_BOOTSTRAP set, starting a throwaway broker if unset",
        description="Run COMMAND with KSTREAMY_BOOTSTRAP in its environment. When "
        "KSTREAMY_BOOTSTRAP is already set it is used as is; otherwise a broker starts on a "
        "free port in a temporary directory and stops when COMMAND ends.",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command (after --)")
    run.set_defaults(func=_friendly(_exec))


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="the broker's directory (default: build/broker under the project root)",
    )


def _start(args: argparse.Namespace) -> int:
    from kstreamy.broker.dev import DevBroker, default_dir

    broker = DevBroker(args.dir or default_dir(), args.port, controller_port=args.controller_port)
    bootstrap = broker.start(timeout=args.timeout)
    print(f"Kafka broker ready at {bootstrap} (dir {broker.directory}, log {broker.log_file})")
    print(bootstrap)
    return 0


def _stop(args: argparse.Namespace) -> int:
    from kstreamy.broker.dev import DevBroker, default_dir

    broker = DevBroker(args.dir or default_dir())
    if broker.stop(timeout=args.timeout):
        print(f"Kafka broker in {broker.directory} stopped")
    else:
        print(f"No Kafka broker was running in {broker.directory}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from kstreamy.broker.dev import DevBroker, default_dir

    state = DevBroker(args.dir or default_dir()).status()
    if state.running:
        print(f"running: pid {state.pid} at {state.bootstrap} (dir {state.directory})")
        return 0
    print(f"not running (dir {state.directory})")
    return 3  # like `systemctl status`/LSB: 3 means "not running"


def _fetch(_args: argparse.Namespace) -> int:
    from kstreamy.broker.toolchain import ensure_kafka, find_java

    find_java()
    jars = ensure_kafka()
    print(f"Apache Kafka {jars.version} is cached in {jars.libs}")
    return 0


def _exec(args: argparse.Namespace) -> int:
    from kstreamy.broker.config import free_port
    from kstreamy.broker.dev import DevBroker

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise BrokerError("`kstreamy broker exec` needs a command, e.g. `-- python app.py`.")
    if os.environ.get("KSTREAMY_BOOTSTRAP"):
        return _call(command, dict(os.environ))
    directory = Path(tempfile.mkdtemp(prefix="kstreamy-broker-"))
    broker = DevBroker(directory, free_port())
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        bootstrap = broker.start(tie_to_parent=True, any_port=True)
        print(f"[kstreamy] Kafka broker ready at {bootstrap}", flush=True)
        return _call(command, {**os.environ, "KSTREAMY_BOOTSTRAP": bootstrap})
    finally:
        broker.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(directory, ignore_errors=True)


def _call(command: list[str], env: dict[str, str]) -> int:
    try:
        return subprocess.call(command, env=env)
    except OSError as exc:
        raise BrokerError(f"cannot run {command[0]!r}: {exc.strerror or exc}.") from exc


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _friendly(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so a :class:`BrokerError` prints as a paragraph (no traceback), exit 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except BrokerError as error:
            print(f"kstreamy broker: error: {error}", file=sys.stderr)
            return 1

    return run
