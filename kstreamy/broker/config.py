"""The dev broker's files: server.properties, the log4j2 configuration, and port checks.

One KRaft node is both broker and controller, with a static one-voter quorum
(``controller.quorum.voters``), so a restart may use a different controller port.
Everything is tuned for tests that must see real behaviour fast on a small machine.
"""

from __future__ import annotations

import errno
import random
import socket
from pathlib import Path
from xml.sax.saxutils import quoteattr

HOST = "127.0.0.1"
NODE_ID = 1

# Settings chosen so that tests see real Kafka behaviour quickly (see the module docstring).
TEST_FRIENDLY_SETTINGS: dict[str, str] = {
    "auto.create.topics.enable": "false",  # the library creates the topics it needs
    "num.partitions": "1",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",  # lets failover tests use short sessions
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "3",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "share.coordinator.state.topic.num.partitions": "1",
    # Abort transactions of crashed producers soon after their timeout (default: every 10 s).
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
    # Small thread pools and cleaner buffer: the machine has two cores and the heap is capped.
    "num.network.threads": "2",
    "num.io.threads": "4",
    "background.threads": "4",
    "log.cleaner.dedupe.buffer.size": "33554432",
}


def server_properties(*, port: int, controller_port: int, data_dir: Path) -> str:
    """The broker's server.properties for one combined broker+controller node on loopback."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        **TEST_FRIENDLY_SETTINGS,
    }
    lines = ["# Written by `kstreamy broker start`; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def log4j2_xml(log_file: Path) -> str:
    """A log4j2 configuration appending everything at INFO to ``log_file``.

    A plain (non-rolling) appender, because the JVM's own stdout/stderr are appended to the
    same file by the launcher; both write with O_APPEND, so lines interleave cleanly.
    """
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName={quoteattr(str(log_file))} append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="warn"/>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a server could listen on ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR like the JVM's server sockets: TIME_WAIT leftovers do not count as busy,
        # while a socket that listens (on this address or 0.0.0.0) still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def free_port(host: str = HOST) -> int:
    """A port that is free now, chosen below the kernel's ephemeral range when possible.

    Ports the kernel hands to outgoing connections (the ephemeral range) can be taken by any
    client between our check and Kafka's bind; on a busy machine that happens. Ports from
    20000 up to the start of that range are only ever taken by servers that ask for them.
    """
    low, _high = _ephemeral_range()
    if low - 1 > _FIXED_PORTS_FROM:
        for _ in range(100):
            port = random.randrange(_FIXED_PORTS_FROM, low)
            if port_is_free(port, host):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


_FIXED_PORTS_FROM = 20000


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default; other systems differ but rarely go lower


def accepts_connections(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
