"""Dev-broker failures a user can meet, checked without starting Kafka (or with a broken one)."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import pytest

from kstreamy.broker import BrokerError, DevBroker
from kstreamy.broker.config import free_port, port_is_free, server_properties
from kstreamy.broker.toolchain import cached_kafka, find_java

from .helpers import kstreamy


def _fake_java(directory: Path, version_line: str) -> Path:
    """A JAVA_HOME whose bin/java prints ``version_line`` as ``java -version`` would."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return directory


def _assert_friendly(proc_stderr: str, *words: str) -> None:
    assert "Traceback" not in proc_stderr
    assert proc_stderr.startswith("kstreamy broker: error: ")
    for word in words:
        assert word in proc_stderr, (word, proc_stderr)


def test_server_properties_have_test_friendly_settings(tmp_path: Path) -> None:
    text = server_properties(port=19123, controller_port=40001, data_dir=tmp_path)
    props = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19123,CONTROLLER://127.0.0.1:40001"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:40001"
    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic", "transaction.state.log"):
        assert props[f"{key}.replication.factor"] == "1"
        assert 1 <= int(props[f"{key}.num.partitions"]) <= 3
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["log.dirs"] == str(tmp_path)


def test_port_is_free_sees_a_listening_socket() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free(port)
    assert port_is_free(port)


def test_old_java_is_refused_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "11.0.2" 2019')))
    with pytest.raises(BrokerError) as caught:
        find_java()
    message = str(caught.value)
    assert "Java 11" in message and ">= 17" in message
    assert "KSTREAMY_BOOTSTRAP" in message and "testcontainers" in message


def test_legacy_java_version_format_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'java version "1.8.0_292"')))
    with pytest.raises(BrokerError, match="Java 8"):
        find_java()


def test_cli_without_java_prints_one_paragraph_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "JAVA_HOME": str(tmp_path / "nojava")}
    proc = kstreamy("broker", "start", "--port", str(free_port()), "--dir", str(tmp_path / "b"),
                    env=env)  # fmt: skip
    assert proc.returncode == 1
    _assert_friendly(proc.stderr, "Java was not found", "JAVA_HOME", "KSTREAMY_BOOTSTRAP")


def test_cli_without_maven_and_empty_cache_names_maven(tmp_path: Path) -> None:
    java = find_java()  # a real Java >= 17, so that the Maven check is what fails
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(Path(java).resolve())
    env = {
        **os.environ,
        "PATH": str(bin_dir),
        "JAVA_HOME": str(tmp_path),
        "KSTREAMY_CACHE_DIR": str(tmp_path / "empty-cache"),
    }
    proc = kstreamy("broker", "start", "--port", str(free_port()), "--dir", str(tmp_path / "b"),
                    env=env)  # fmt: skip
    assert proc.returncode == 1
    _assert_friendly(proc.stderr, "Maven", "not cached", "KSTREAMY_BOOTSTRAP", "testcontainers")


def test_cli_busy_port_fails_before_anything_else(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        proc = kstreamy("broker", "start", "--port", str(port), "--dir", str(tmp_path / "b"))
    assert proc.returncode == 1
    _assert_friendly(proc.stderr, f"Port {port}", "already in use", "--port", "KSTREAMY_BOOTSTRAP")


def test_broker_that_dies_while_starting_reports_its_log_tail(tmp_path: Path) -> None:
    if cached_kafka() is None:
        pytest.fail("Kafka is not cached yet: run `kstreamy broker fetch` (make test does)")
    broker = DevBroker(tmp_path / "b", free_port(), heap="1k")  # the JVM refuses a 1 KiB heap
    with pytest.raises(BrokerError) as caught:
        broker.start(timeout=60)
    assert "exited with code" in caught.value.message
    assert caught.value.log_tail and "heap" in caught.value.log_tail.lower()
    assert not broker.status().running


def test_stop_and_status_without_a_broker(tmp_path: Path) -> None:
    stop = kstreamy("broker", "stop", "--dir", str(tmp_path))
    assert stop.returncode == 0 and "No Kafka broker was running" in stop.stdout
    status = kstreamy("broker", "status", "--dir", str(tmp_path))
    assert status.returncode == 3 and "not running" in status.stdout


def test_help_works_for_every_entry() -> None:
    top = kstreamy("--help")
    assert top.returncode == 0 and "broker" in top.stdout
    sub = kstreamy("broker", "--help")
    assert sub.returncode == 0
    for command in ("start", "stop", "status", "fetch", "exec"):
        assert command in sub.stdout


def test_exec_uses_a_configured_cluster_and_passes_the_exit_code() -> None:
    env = {**os.environ, "KSTREAMY_BOOTSTRAP": "example.invalid:9092"}
    script = "import os, sys; print(os.environ['KSTREAMY_BOOTSTRAP']); sys.exit(7)"
    proc = kstreamy("broker", "exec", "--", sys.executable, "-c", script, env=env)
    assert proc.returncode == 7
    assert proc.stdout.strip() == "example.invalid:9092"
    assert "broker ready" not in proc.stdout


def test_exec_without_a_command_explains_itself() -> None:
    proc = kstreamy("broker", "exec")
    assert proc.returncode == 1
    _assert_friendly(proc.stderr, "needs a command")


def test_free_ports_avoid_the_ephemeral_range_clients_use() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert low > 20001, "this test expects Linux's usual ephemeral range (32768-60999)"
    ports = {free_port() for _ in range(20)}
    assert all(20000 <= port < low and port_is_free(port) for port in ports)
