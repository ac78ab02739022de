"""The worker's poll (Kafka's `poll` semantics on librdkafka): records already queued are taken
at once, however few; only an empty queue waits, and only for the first record. librdkafka's
`consume(n, timeout)` alone would hold a partial batch back for the whole timeout (measured on
the dev broker: 5 queued records came back after the full 1 s timeout of `consume(2000, 1.0)`)."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace
from typing import Any

from kstreamy.runtime.worker import Worker


class FakeConsumer:
    """librdkafka-like: `consume` blocks until n records or the timeout (here: records that
    arrive during a wait are the `arriving` ones), `poll` returns the first one."""

    def __init__(self, queued: list[str], arriving: list[str] | None = None) -> None:
        self.queued = deque(queued)
        self.arriving = list(arriving or [])
        self.waits: list[tuple[str, float]] = []

    def _arrive(self) -> None:
        self.queued.extend(self.arriving)
        self.arriving = []

    def consume(self, num_messages: int, timeout: float) -> list[str]:
        if timeout > 0 and len(self.queued) < num_messages:
            self.waits.append(("consume", timeout))  # would block for the whole timeout
            self._arrive()
        n = min(num_messages, len(self.queued))
        return [self.queued.popleft() for _ in range(n)]

    def poll(self, timeout: float) -> str | None:
        if not self.queued:
            self.waits.append(("poll", timeout))  # returns as soon as one record arrives
            self._arrive()
        return self.queued.popleft() if self.queued else None


def poll(consumer: FakeConsumer, batch: int = 2000, timeout: float = 0.1) -> Any:
    return Worker._poll(SimpleNamespace(consumer=consumer), batch, timeout)  # type: ignore[arg-type]


def test_queued_records_are_taken_without_waiting() -> None:
    consumer = FakeConsumer(["a", "b", "c"])
    assert poll(consumer) == ["a", "b", "c"]
    assert consumer.waits == []


def test_a_full_batch_leaves_the_rest_queued() -> None:
    consumer = FakeConsumer([str(i) for i in range(5)])
    assert poll(consumer, batch=2) == ["0", "1"]
    assert list(consumer.queued) == ["2", "3", "4"]


def test_an_empty_queue_waits_for_the_first_record_only() -> None:
    consumer = FakeConsumer([], arriving=["x", "y"])
    assert poll(consumer) == ["x", "y"]
    assert consumer.waits == [("poll", 0.1)]


def test_nothing_arriving_gives_an_empty_batch() -> None:
    consumer = FakeConsumer([])
    assert poll(consumer) == []
    assert consumer.waits == [("poll", 0.1)]


def test_a_zero_timeout_never_waits() -> None:
    consumer = FakeConsumer([], arriving=["x"])
    assert poll(consumer, timeout=0.0) == []
    assert consumer.waits == []
