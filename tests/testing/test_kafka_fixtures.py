"""The kstreamy.testing Kafka helpers and the pytest plugin's fixtures."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from kstreamy.broker.config import free_port
from kstreamy.testing import (
    KafkaTestClient,
    NoBrokerError,
    acquire_broker,
    create_topics,
    docker_engine_answers,
    unique_topic,
)

# -- without a broker ----------------------------------------------------------------------


def test_unique_topic_names_are_valid_and_distinct() -> None:
    a, b = unique_topic("test_x[param 1]"), unique_topic("test_x[param 1]")
    assert a != b
    assert a.startswith("test_x-param-1-")
    assert all(c.isalnum() or c in "._-" for c in a)


def test_docker_probe_is_false_without_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert docker_engine_answers() is False
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    assert docker_engine_answers(timeout=0.5) is False


def test_docker_probe_recognises_an_answering_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        assert docker_engine_answers() is True
    finally:
        thread.join(5)
        server.close()


def test_configured_bootstrap_that_does_not_answer_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KSTREAMY_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    with pytest.raises(NoBrokerError, match=r"KSTREAMY_BOOTSTRAP=127\.0\.0\.1:\d+ is set, but"):
        acquire_broker(wait=1.0)


def test_fixture_fails_not_skips_when_no_broker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSTREAMY_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("KSTREAMY_BOOTSTRAP_WAIT_S", "1")
    pytester.makepyfile(
        """
        def test_needs_kafka(kafka_bootstrap):
            assert kafka_bootstrap
        """
    )
    result = pytester.runpytest_subprocess("-rA")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*KSTREAMY_BOOTSTRAP=127.0.0.1:* is set, but no Kafka broker*"])


def test_tests_using_the_fixture_get_the_kafka_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_kafka(kafka_bootstrap):
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "kafka")
    result.stdout.fnmatch_lines(["*test_uses_kafka*", "*1/2 tests collected (1 deselected)*"])


# -- against the session's real broker ----------------------------------------------------


@pytest.mark.kafka
def test_produce_then_consume_through_the_real_broker(kafka_client: KafkaTestClient) -> None:
    topic = kafka_client.create_topic(partitions=3)
    records = [(f"key-{i % 4}", f"value-{i}", 1_700_000_000_000 + i) for i in range(40)]
    assert kafka_client.produce(topic, records, headers=[("h", b"1")]) == 40

    got = kafka_client.consume(topic, 40)

    assert sorted((r.key, r.value) for r in got) == sorted(
        (k.encode(), v.encode()) for k, v, _ in records
    )
    assert {r.partition for r in got} <= {0, 1, 2}
    by_value = {r.value: r for r in got}
    assert by_value[b"value-7"].timestamp == 1_700_000_000_007
    assert by_value[b"value-7"].headers == [("h", b"1")]
    # Records of one key keep their order within its partition.
    for key in {r.key for r in got}:
        values = [int(r.value.split(b"-")[1]) for r in got if r.key == key]
        assert values == sorted(values)
        assert len({r.partition for r in got if r.key == key}) == 1


@pytest.mark.kafka
def test_consume_to_end_and_timeouts(kafka_client: KafkaTestClient) -> None:
    topic = kafka_client.create_topic(partitions=2)
    kafka_client.produce(topic, [("a", "1"), ("b", None)])
    rest = kafka_client.consume(topic, None, timeout=30)
    assert sorted((r.key, r.value) for r in rest) == [(b"a", b"1"), (b"b", None)]
    with pytest.raises(AssertionError, match=r"consuming 3 records from \['.*'\] timed out"):
        kafka_client.consume(topic, 3, timeout=2)


@pytest.mark.kafka
def test_create_topics_is_idempotent_and_checks_partitions(kafka_bootstrap: str) -> None:
    name = unique_topic("idempotent")
    create_topics(kafka_bootstrap, {name: 2})
    create_topics(kafka_bootstrap, {name: 2})  # again: fine
    with pytest.raises(AssertionError, match="other partition counts"):
        create_topics(kafka_bootstrap, name, partitions=1)


@pytest.mark.kafka
def test_produce_to_a_missing_topic_fails_clearly(kafka_client: KafkaTestClient) -> None:
    missing = kafka_client.unique_topic("missing")
    with pytest.raises(AssertionError, match=f"cannot consume from '{missing}'"):
        kafka_client.consume(missing, 1, timeout=5)


def test_stale_broker_dirs_of_killed_sessions_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kstreamy.testing import kafka

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, alive, fresh = (tmp_path / f"kstreamy-test-broker-{n}" for n in ("dead", "alive", "new"))
    for directory in (dead, alive, fresh):
        directory.mkdir()
    (dead / "broker.pid").write_text("999999999\n")  # above pid_max: never a live process
    (alive / "broker.pid").write_text(f"{os.getpid()}\n")
    kafka._sweep_stale_dirs()
    assert not dead.exists()
    assert alive.exists() and fresh.exists()


class _FakeContainer:
    """Stands in for testcontainers' KafkaContainer (there is no Docker engine here)."""

    instances: list[_FakeContainer] = []
    fail_start = False

    def __init__(self, image: str | None = None) -> None:
        self.stopped = False
        _FakeContainer.instances.append(self)

    def with_kraft(self) -> _FakeContainer:
        return self

    def start(self) -> None:
        if self.fail_start:
            raise RuntimeError("image pull failed")

    def get_bootstrap_server(self) -> str:
        return "container.example:9092"

    def stop(self) -> None:
        self.stopped = True


def _pretend_docker(monkeypatch: pytest.MonkeyPatch, *, fail_start: bool) -> None:
    import testcontainers.community.kafka as tc_kafka

    from kstreamy.testing import kafka

    monkeypatch.delenv("KSTREAMY_BOOTSTRAP", raising=False)
    monkeypatch.setattr(kafka, "docker_engine_answers", lambda: True)
    monkeypatch.setattr(tc_kafka, "KafkaContainer", _FakeContainer)
    monkeypatch.setattr(_FakeContainer, "fail_start", fail_start)
    monkeypatch.setattr(_FakeContainer, "instances", [])


def test_testcontainers_is_used_when_docker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_docker(monkeypatch, fail_start=False)
    handle = acquire_broker()
    assert (handle.bootstrap, handle.source) == ("container.example:9092", "testcontainers")
    handle.release()
    assert _FakeContainer.instances[0].stopped


def test_a_failing_container_falls_through_to_the_dev_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kstreamy.testing import kafka

    _pretend_docker(monkeypatch, fail_start=True)

    def no_dev_broker() -> kafka.BrokerHandle:
        raise RuntimeError("no Java here")

    monkeypatch.setattr(kafka, "_dev_broker", no_dev_broker)
    with pytest.raises(NoBrokerError) as caught:
        acquire_broker()
    message = str(caught.value)
    assert "testcontainers' Kafka failed to start (image pull failed)" in message
    assert "the dev broker failed to start: no Java here" in message
