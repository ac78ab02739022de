"""An asyncio front for an idempotent, acks=all confluent-kafka producer.

:meth:`KafkaPublisher.publish` resolves only when the broker has acknowledged the record and
raises :class:`PublishError` when Kafka cannot take it: a full local queue, a delivery error, or
no answer within ``message.timeout.ms`` (librdkafka reports every record's fate within it).

Delivery reports are served by ``poll(0)`` on an event-loop timer that runs only while records
are in flight (every :data:`POLL_INTERVAL_S`), so the callbacks run on the loop's own thread: no
poll thread contending for the GIL, no cross-thread wake-ups, and one ``poll`` serves every report
that arrived since the last tick. :meth:`KafkaPublisher.submit` is the callback form the write API
uses (the report answers the HTTP request directly: no future or task per request);
:meth:`KafkaPublisher.publish` is the awaitable form.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_MS = 10_000
POLL_INTERVAL_S = 0.001


class PublishError(Exception):
    """Kafka did not store the record; the message says why (the HTTP layer answers 503)."""


#: ``done(None)`` once the broker acknowledged the record, ``done(reason)`` if it will not store it.
Done = Callable[[str | None], None]


class Publisher(Protocol):
    """What the write API needs from Kafka (a fake implements it in unit tests)."""

    @property
    def healthy(self) -> bool: ...

    async def start(self) -> None: ...

    def submit(self, topic: str, key: str, value: bytes, done: Done) -> None:
        """Send the record; call ``done`` exactly once, on the event loop's thread (maybe now)."""
        ...

    async def close(self) -> None: ...


def producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    """acks=all, idempotent, bounded delivery time, small linger for batching under load."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "message.timeout.ms": DELIVERY_TIMEOUT_MS,
        "linger.ms": 2,
        "queue.buffering.max.messages": 100_000,
        "socket.connection.setup.timeout.ms": 5_000,
        # Records are small and latency-bound: no Nagle delay (with delayed ACKs, up to 40 ms).
        "socket.nagle.disable": True,
    }
    config.update(overrides)
    return config


class KafkaPublisher:
    """Publish records and await their acknowledgement from asyncio code."""

    def __init__(self, bootstrap: str, *, health_interval: float = 2.0, **overrides: Any) -> None:
        self.bootstrap = bootstrap
        self._producer = Producer(producer_config(bootstrap, **overrides))
        self._health_interval = health_interval
        self._healthy = False
        self._health_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._ticking = False

    @property
    def healthy(self) -> bool:
        """True once the producer has fetched cluster metadata (as of the last check)."""
        return self._healthy

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.check_health()
        self._health_task = asyncio.create_task(self._health_loop())

    async def check_health(self) -> bool:
        """Ask the broker for metadata (in a thread: the call blocks) and record the answer."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, lambda: self._producer.list_topics(timeout=2.0))
            self._healthy = True
        except KafkaException as exc:
            if self._healthy:
                log.warning("Kafka at %s stopped answering metadata: %s", self.bootstrap, exc)
            self._healthy = False
        return self._healthy

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._health_interval)
            await self.check_health()

    def _tick(self) -> None:
        """Serve delivery reports; keep ticking while records are in flight."""
        self._producer.poll(0)
        if self._in_flight > 0 and self._loop is not None:
            self._loop.call_later(POLL_INTERVAL_S, self._tick)
        else:
            self._ticking = False

    def submit(self, topic: str, key: str, value: bytes, done: Done) -> None:
        """Produce; ``done`` is called from the delivery report (served by the loop's tick)."""
        loop = self._loop
        assert loop is not None, "call start() first"

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            # Runs inside poll() on the event loop's thread.
            self._in_flight -= 1
            done(None if err is None else f"Kafka did not store the record: {err.str()}")

        try:
            self._producer.produce(topic, value, key.encode(), on_delivery=on_delivery)
        except BufferError:
            done("the producer queue is full; retry later")
            return
        except KafkaException as exc:
            done(f"Kafka refused the record for {topic}: {exc}")
            return
        self._in_flight += 1
        if not self._ticking:
            self._ticking = True
            loop.call_later(POLL_INTERVAL_S, self._tick)

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        """Resolve once the broker acknowledged the record; raise :class:`PublishError` if not."""
        await publish(self, topic, key, value)

    async def close(self) -> None:
        """Flush what is queued (its delivery reports are served by the flush) and stop."""
        if self._health_task is not None:
            self._health_task.cancel()
        remaining = self._producer.flush(5.0)
        if remaining:
            log.warning(
                "%d record(s) to %s were not acknowledged at close", remaining, self.bootstrap
            )


async def publish(publisher: Publisher, topic: str, key: str, value: bytes) -> None:
    """Awaitable form of :meth:`Publisher.submit`: raises :class:`PublishError` with the reason."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(error: str | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(PublishError(error))

    publisher.submit(topic, key, value, done)
    await future
