"""The dev broker through its command line, as the README tells users to run it.

One broker serves the module: started with captured pipes (as CI captures output), then used
for a round trip, a second start on the busy port, status, and finally stop.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from kstreamy.broker import DevBroker
from kstreamy.broker.config import free_port
from kstreamy.broker.process import pid_alive

from .helpers import kstreamy

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


@dataclass
class Started:
    directory: Path
    port: int
    stdout: str
    pid: int


@pytest.fixture(scope="module")
def cli_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    directory = tmp_path_factory.mktemp("cli-broker")
    port = free_port()
    # capture_output=True: start must return although the broker keeps running.
    proc = kstreamy("broker", "start", "--port", str(port), "--dir", str(directory))
    try:
        assert proc.returncode == 0, proc.stderr
        pid = int((directory / "broker.pid").read_text())
        yield Started(directory, port, proc.stdout, pid)
    finally:
        DevBroker(directory).stop()


def test_start_returns_through_pipes_and_prints_the_bootstrap(cli_broker: Started) -> None:
    assert cli_broker.stdout.strip().splitlines()[-1] == f"127.0.0.1:{cli_broker.port}"
    assert pid_alive(cli_broker.pid)
    properties = (cli_broker.directory / "server.properties").read_text()
    assert f"PLAINTEXT://127.0.0.1:{cli_broker.port}" in properties
    assert (cli_broker.directory / "broker.log").stat().st_size > 0


def test_status_reports_the_running_broker(cli_broker: Started) -> None:
    proc = kstreamy("broker", "status", "--dir", str(cli_broker.directory))
    assert proc.returncode == 0
    assert f"pid {cli_broker.pid}" in proc.stdout and f"127.0.0.1:{cli_broker.port}" in proc.stdout


def test_produce_consume_round_trip(cli_broker: Started) -> None:
    bootstrap = f"127.0.0.1:{cli_broker.port}"
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(
        timeout=30
    )
    producer = Producer({"bootstrap.servers": bootstrap})
    sent = {f"k{i}".encode(): f"v{i}".encode() for i in range(20)}
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    received: dict[bytes, bytes] = {}
    try:
        for _ in range(300):
            if len(received) == len(sent):
                break
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                received[msg.key()] = msg.value()
    finally:
        consumer.close()
    assert received == sent


def test_topics_are_not_created_automatically(cli_broker: Started) -> None:
    bootstrap = f"127.0.0.1:{cli_broker.port}"
    missing = f"never-created-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": missing})
    try:
        consumer.list_topics(missing, timeout=10)
        metadata = consumer.list_topics(timeout=10)
    finally:
        consumer.close()
    assert missing not in metadata.topics


def test_second_start_on_the_busy_port_fails_clearly(cli_broker: Started, tmp_path: Path) -> None:
    proc = kstreamy("broker", "start", "--port", str(cli_broker.port), "--dir", str(tmp_path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"Port {cli_broker.port} on 127.0.0.1 (--port) is already in use" in proc.stderr
    assert "KSTREAMY_BOOTSTRAP" in proc.stderr
    again = kstreamy("broker", "start", "--port", str(free_port()), "--dir",
                     str(cli_broker.directory))  # fmt: skip
    assert again.returncode == 1
    assert f"already runs from {cli_broker.directory}" in again.stderr


def test_stop_ends_the_recorded_process(cli_broker: Started) -> None:
    proc = kstreamy("broker", "stop", "--dir", str(cli_broker.directory))
    assert proc.returncode == 0 and "stopped" in proc.stdout
    assert not pid_alive(cli_broker.pid)
    status = kstreamy("broker", "status", "--dir", str(cli_broker.directory))
    assert status.returncode == 3 and "not running" in status.stdout


def test_restart_in_the_same_dir_keeps_topics_and_any_port_avoids_a_busy_one(
    cli_broker: Started,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        broker = DevBroker(cli_broker.directory, busy)
        try:
            bootstrap = broker.start(any_port=True)
            assert broker.port != busy and bootstrap == f"127.0.0.1:{broker.port}"
            metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
            assert any(name.startswith("roundtrip-") for name in metadata.topics)
        finally:
            assert broker.stop()
    assert not broker.status().running
