"""The worker's recovery from corrupted tasks: where it rewinds to and the `task.timeout.ms`
bound on retrying (no clients: a Worker without `__init__` and fakes)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from kstreamy.errors import StreamsError
from kstreamy.runtime.client_errors import RetriableClientError
from kstreamy.runtime.worker import Worker


class _Consumer:
    def __init__(self, committed: dict[tuple[str, int], int], failures: int = 0) -> None:
        self._committed = committed
        self.failures = failures
        self.calls = 0

    def committed(self, tps: list[Any], timeout: float) -> list[Any]:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("Failed to get committed offsets: Local: Timed out")
        for tp in tps:
            tp.offset = self._committed[(tp.topic, tp.partition)]
        return tps


class _Admin:
    """Answers list_consumer_group_offsets like the group coordinator would."""

    def __init__(self, committed: dict[tuple[str, int], int]) -> None:
        self._committed = committed

    def list_consumer_group_offsets(self, requests: list[Any], **kwargs: Any) -> dict[str, Any]:
        assert kwargs["require_stable"] is True
        (request,) = requests
        for tp in request.topic_partitions:
            tp.offset = self._committed[(tp.topic, tp.partition)]
        future: Future[Any] = Future()
        future.set_result(request)
        return {request.group_id: future}


def _worker(consumer: _Consumer, task_timeout: float = 300.0) -> Worker:
    worker = Worker.__new__(Worker)
    worker.name = "app-worker-0"
    worker.setup = SimpleNamespace(application_id="app")  # type: ignore[assignment]
    worker.consumer = consumer
    producer: Any = SimpleNamespace(commit_in_doubt=False)
    worker.producer = producer
    worker._committed = {}
    worker._task_timeout = task_timeout
    worker._corrupted_since = None
    worker._stop = threading.Event()
    return worker


def _offsets(tps: list[Any]) -> dict[tuple[str, int], int]:
    return {(tp.topic, tp.partition): tp.offset for tp in tps}


def test_rewinds_to_what_it_committed_without_asking_the_broker() -> None:
    consumer = _Consumer({("in", 0): 1, ("in", 1): 1})
    worker = _worker(consumer)
    worker._committed = {("in", 0): 40, ("in", 1): 7}
    assert _offsets(worker._rewind_targets([("in", 0), ("in", 1)])) == {
        ("in", 0): 40,
        ("in", 1): 7,
    }
    assert consumer.calls == 0


def test_asks_the_broker_when_unknown_or_a_commit_is_in_doubt() -> None:
    consumer = _Consumer({("in", 0): 50, ("in", 1): 9})
    worker = _worker(consumer)
    worker._committed = {("in", 0): 40}
    assert _offsets(worker._rewind_targets([("in", 0), ("in", 1)])) == {
        ("in", 0): 50,
        ("in", 1): 9,
    }
    worker._committed = {("in", 0): 40, ("in", 1): 7}
    worker.producer.commit_in_doubt = True  # type: ignore[union-attr]
    assert _offsets(worker._rewind_targets([("in", 0), ("in", 1)]))[("in", 0)] == 50
    assert consumer.calls == 2
    assert worker.producer.commit_in_doubt is False  # type: ignore[union-attr]


def test_asks_the_coordinator_when_the_consumer_cannot_answer() -> None:
    # while the group rejoins after a broker outage, consumer.committed() times out
    consumer = _Consumer({}, failures=1)
    worker = _worker(consumer)
    admin = _Admin({("in", 0): 12})
    worker._admin = lambda: admin  # type: ignore[method-assign]
    worker.producer.commit_in_doubt = True  # type: ignore[union-attr]
    assert _offsets(worker._rewind_targets([("in", 0)])) == {("in", 0): 12}
    assert consumer.calls == 1


def test_retry_keeps_trying_within_the_task_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)
    consumer = _Consumer({("in", 0): 3}, failures=2)
    worker = _worker(consumer)
    worker._admin = _unreachable  # type: ignore[method-assign]
    worker.producer.commit_in_doubt = True  # type: ignore[union-attr]
    assert _offsets(worker._rewind_targets([("in", 0)])) == {("in", 0): 3}
    assert consumer.calls == 3


def _unreachable() -> Any:
    raise RuntimeError("Local: All broker connections are down")


def test_retry_gives_up_after_the_task_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)
    worker = _worker(_Consumer({}, failures=100), task_timeout=0.0)
    worker._admin = _unreachable  # type: ignore[method-assign]
    worker.producer.commit_in_doubt = True  # type: ignore[union-attr]
    with pytest.raises(StreamsError, match=r"fetching committed offsets failed.*task\.timeout"):
        worker._rewind_targets([("in", 0)])


def test_recovery_fails_once_no_commit_succeeded_within_the_task_timeout() -> None:
    worker = _worker(_Consumer({}), task_timeout=300.0)
    worker.collector = SimpleNamespace()  # type: ignore[assignment]
    worker._corrupted_since = time.monotonic() - 301.0
    error = RetriableClientError("Error sending record to topic out partition 2: timed out")
    with pytest.raises(StreamsError, match=r"no successful commit.*topic out partition 2"):
        worker._recover(error)
