"""exactly_once_v2: after a SIGKILL mid-stream, every input appears exactly once in the
read_committed output, and the changelogged counts (restored from scratch) are exact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kstreamy.serdes import Long, String
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic

APP = Path(__file__).with_name("eos_app.py")
N = 4000


def _start(bootstrap: str, app_id: str, src: str, out: str, state: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    return subprocess.Popen(
        [sys.executable, str(APP), bootstrap, app_id, src, out, str(state)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_running(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "RUNNING", f"app did not start (exit {proc.poll()})"


def _committed_count(bootstrap: str, topic: str) -> int:
    return len(consume(bootstrap, topic, None, timeout=20))


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_exactly_once_after_sigkill(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    bootstrap = kafka_client.bootstrap
    src, out = unique_topic("eos-in"), unique_topic("eos-out")
    kafka_client.create_topic(src, partitions=2)
    kafka_client.create_topic(out, partitions=2)
    app_id = unique_topic("eos-app")
    keys = [f"k{i % 50}" for i in range(N)]
    kafka_client.produce(src, [(keys[i], f"v{i}") for i in range(N)])

    first = _start(bootstrap, app_id, src, out, tmp_path)
    try:
        _wait_running(first)
        deadline = time.monotonic() + 30
        while _committed_count(bootstrap, out) < N // 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        assert first.stdout is not None
        first.stdout.close()
    done_before = _committed_count(bootstrap, out)
    assert 0 < done_before < N, "the kill should land mid-stream"

    second = _start(bootstrap, app_id, src, out, tmp_path)
    try:
        _wait_running(second)
        records = consume(bootstrap, out, N, timeout=60)
        time.sleep(1.0)  # anything extra (a duplicate) would be committed by now
        records = consume(bootstrap, out, None, timeout=20)
        values = Counter(r.value for r in records)
        assert len(records) == N
        assert set(values) == {f"v{i}".encode() for i in range(N)}
        assert max(values.values()) == 1
        changelog = consume(bootstrap, f"{app_id}-seen-changelog", None, timeout=20,
                            key_serde=String(), value_serde=Long())  # fmt: skip
        counts = {r.key: r.value for r in changelog}
        assert counts == {f"k{i}": N // 50 for i in range(50)}
        uncommitted = consume(bootstrap, out, None, timeout=20, isolation_level="read_uncommitted")
        assert len(uncommitted) >= N  # the aborted attempt's records are there, but not visible
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(30)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
        assert second.stdout is not None
        second.stdout.close()
    assert second.returncode == 0
