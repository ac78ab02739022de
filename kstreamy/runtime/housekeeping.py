"""Work a worker does after a commit that is not part of the commit protocol: consumer lag for
`app.metrics()` and purging repartition topics up to the committed offsets."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstreamy.runtime.worker import Worker

log = logging.getLogger(__name__)


def update_lag(worker: Worker, positions: list[Any]) -> None:
    """Lag per input partition: the high watermark seen by the last fetch - position."""
    lag: dict[tuple[str, int], int] = {}
    consumer = worker.consumer
    for tp in positions:
        try:
            _, high = consumer.get_watermark_offsets(tp, cached=True)
        except Exception:  # no fetch yet for this partition
            continue
        if high >= 0:
            lag[(tp.topic, tp.partition)] = max(0, high - tp.offset)
    worker.metrics.lag = lag


class RepartitionPurger:
    """Deletes consumed records of repartition topics up to the committed offsets, every
    `repartition.purge.interval.ms` (as Kafka Streams does: they have infinite retention)."""

    def __init__(self, interval_ms: int) -> None:
        self._interval = interval_ms / 1000.0
        self._last = time.monotonic()
        self._admin: Any = None

    def maybe_purge(self, worker: Worker, positions: list[Any]) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        internal = worker.setup.plan.internal
        offsets = [
            tp
            for tp in positions
            if tp.topic in internal and internal[tp.topic].kind == "repartition" and tp.offset > 0
        ]
        if not offsets:
            return
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient(worker.client_config("admin"))
        try:
            futures = self._admin.delete_records(offsets, request_timeout=10)
        except Exception as exc:  # purging is housekeeping: never fail processing for it
            log.warning("%s: purging repartition topics failed: %s", worker.name, exc)
            return
        name = worker.name
        for fut in futures.values():
            fut.add_done_callback(lambda f: _purge_done(name, f))


def _purge_done(name: str, fut: Any) -> None:
    if fut.exception() is not None:
        log.warning("%s: purging a repartition topic failed: %s", name, fut.exception())
