"""A fake confluent-kafka Producer for the transactional-producer and client-error tests."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException

from kstreamy.runtime.eos import StreamsProducer


class FakeProducer:
    """Just enough of confluent-kafka's Producer: records are acknowledged on poll/flush."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.calls: list[str] = []
        self.fail: dict[str, KafkaError] = {}
        self.produced: list[tuple[Any, ...]] = []
        self.pending: list[tuple[Any, Any]] = []

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise KafkaException(self.fail.pop(name))

    def init_transactions(self, timeout: float) -> None:
        self._maybe_fail("init_transactions")

    def begin_transaction(self) -> None:
        self._maybe_fail("begin_transaction")

    def send_offsets_to_transaction(self, offsets: Any, meta: Any, timeout: float) -> None:
        self._maybe_fail("send_offsets_to_transaction")

    def commit_transaction(self, timeout: float) -> None:
        self._maybe_fail("commit_transaction")

    def abort_transaction(self, timeout: float) -> None:
        self._maybe_fail("abort_transaction")

    def produce(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int = -1,
        callback: Any = None,
        on_delivery: Any = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        """confluent-kafka's positional order: on_delivery is an alias of callback."""
        part = None if partition == -1 else partition
        self.produced.append((topic, key, value, part))
        self.pending.append((callback or on_delivery, (topic, part)))

    def poll(self, timeout: float) -> int:
        return self.flush(timeout)

    def flush(self, timeout: float) -> int:
        pending, self.pending = self.pending, []
        for cb, (topic, part) in pending:
            cb(None, FakeMessage(topic, part or 0, len(self.produced) - 1))
        return 0


class FakeMessage:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._t, self._p, self._o = topic, partition, offset

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def timestamp(self) -> tuple[int, int]:
        return (1, 5)


def eos_producer() -> tuple[StreamsProducer, list[FakeProducer]]:
    made: list[FakeProducer] = []

    def factory(config: dict[str, Any]) -> FakeProducer:
        made.append(FakeProducer(config))
        return made[-1]

    producer = StreamsProducer({"bootstrap.servers": "x"}, "app-pid-0", factory)
    producer.start()
    return producer, made
