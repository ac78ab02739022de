"""A processor failure ends the worker; the uncaught exception handler decides: replace the
worker (it resumes from the committed offsets) or shut the client down (ERROR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kstreamy.processor import Processor, Record
from kstreamy.runtime.app import KafkaStreams, State, StreamThreadExceptionResponse
from kstreamy.testing.kafka import KafkaTestClient, consume, unique_topic
from kstreamy.topology import Topology

from .conftest import wait_until

FAILURES: dict[str, int] = {}


class _FailOnce(Processor[Any, Any, Any, Any]):
    """Raises on the record with value b"boom" the first time only (per test key)."""

    key = ""

    def process(self, record: Record[Any, Any]) -> None:
        if record.value == b"boom" and FAILURES.get(self.key, 0) == 0:
            FAILURES[self.key] = 1
            raise ValueError("boom")
        self.context.forward(record)


def _topology(source: str, sink: str, key: str) -> Topology:
    proc = type("FailOnce", (_FailOnce,), {"key": key})
    t = Topology()
    t.add_source("in", source)
    t.add_processor("maybe-fail", proc, "in")
    t.add_sink("out", sink, "maybe-fail")
    return t


def _app(client: KafkaTestClient, tmp_path: Path, key: str) -> tuple[KafkaStreams, str]:
    source, sink = unique_topic(f"{key}-in"), unique_topic(f"{key}-out")
    client.create_topic(source)
    client.create_topic(sink)
    client.produce(source, [(None, "a"), (None, "boom"), (None, "b")])
    app = KafkaStreams(
        _topology(source, sink, key),
        {
            "application.id": unique_topic(key),
            "bootstrap.servers": client.bootstrap,
            "state.dir": str(tmp_path),
            "commit.interval.ms": 100,
        },
    )
    return app, sink


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_replace_thread_resumes_processing(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    app, sink = _app(kafka_client, tmp_path, "replace")
    seen: list[BaseException] = []

    def handler(exc: BaseException) -> StreamThreadExceptionResponse:
        seen.append(exc)
        return StreamThreadExceptionResponse.REPLACE_THREAD

    app.set_uncaught_exception_handler(handler)
    try:
        app.start()
        values: list[bytes] = []

        def has_b() -> bool:
            values[:] = [r.value for r in consume(kafka_client.bootstrap, sink, None, timeout=20)]
            return b"b" in values

        wait_until(has_b, 40, "the record after the failing one")
        assert values[-2:] == [b"boom", b"b"]  # "a" may appear twice (at-least-once)
        assert len(seen) == 1 and "boom" in str(seen[0])
        wait_until(lambda: app.state is State.RUNNING, 20, "RUNNING again")
    finally:
        assert app.close(timeout=30)


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_shutdown_client_goes_to_error(kafka_client: KafkaTestClient, tmp_path: Path) -> None:
    app, _ = _app(kafka_client, tmp_path, "shutdown")
    states: list[State] = []
    app.set_state_listener(lambda new, old: states.append(new))
    app.start()
    try:
        wait_until(lambda: app.state is State.ERROR, 40, "ERROR")
        assert states[-2:] == [State.PENDING_ERROR, State.ERROR]
    finally:
        assert not app.close(timeout=30)
    assert app.state is State.ERROR
