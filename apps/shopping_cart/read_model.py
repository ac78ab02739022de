"""The DB connector: ``cart-details-event`` into the read DB, exactly once.

``python -m apps.shopping_cart.read_model [--db PATH|URL] [--bootstrap B]``

The consumer reads committed records only (``isolation.level=read_committed``: the aggregator
writes in transactions), never commits offsets to Kafka, and assigns the topic's partitions
itself at the offsets stored in the DB (the beginning when the DB has none). Each batch of rows
and the offsets after it are written in one DB transaction, so a restart resumes exactly where
the last commit ended: nothing lost, nothing applied twice. A tombstone deletes the row.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from typing import Any, Final

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from apps.shopping_cart.db import CartDB, Row, open_db
from apps.shopping_cart.settings import (
    CART_DETAILS,
    add_bootstrap_arg,
    add_partitions_arg,
    log_ready,
    resolve_bootstrap,
    setup_logging,
)
from apps.shopping_cart.topics import ensure_topics

log = logging.getLogger(__name__)

GROUP_ID: Final = "shopping-cart-read-model"
MAX_BATCH: Final = 1000
PARTITION_REFRESH_S: Final = 10.0


class CartDetailsConnector:
    """Copies ``cart-details-event`` into a :class:`CartDB`; drive it with :meth:`run`."""

    def __init__(
        self,
        bootstrap: str,
        db: CartDB,
        *,
        topic: str = CART_DETAILS,
        group_id: str = GROUP_ID,
    ) -> None:
        self.bootstrap = bootstrap
        self.db = db
        self.topic = topic
        self.applied = 0  # rows applied by this process (tests count re-applications with it)
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group_id,  # required by librdkafka; offsets live in the DB, not here
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 50,
            }
        )
        self._assigned: set[int] = set()
        self._next_refresh = 0.0

    def assign(self) -> None:
        """Assign every partition not yet assigned, at the offset stored in the DB."""
        try:
            meta = self._consumer.list_topics(self.topic, timeout=10.0).topics.get(self.topic)
        except KafkaException as exc:
            raise RuntimeError(
                f"cannot read metadata of {self.topic} at {self.bootstrap}: {exc}"
            ) from exc
        if meta is None or meta.error is not None:
            raise RuntimeError(f"topic {self.topic} is not available at {self.bootstrap}")
        new = sorted(set(meta.partitions) - self._assigned)
        if new:
            stored = self.db.stored_offsets(self.topic)
            tps = [TopicPartition(self.topic, p, stored.get(p, OFFSET_BEGINNING)) for p in new]
            self._consumer.incremental_assign(tps)
            self._assigned.update(new)
            log.info(
                "assigned %s partitions %s at offsets %s",
                self.topic,
                new,
                {tp.partition: tp.offset for tp in tps},
            )
        self._next_refresh = time.monotonic() + PARTITION_REFRESH_S

    def poll_once(self, timeout: float = 0.5) -> int:
        """Consume what is there (waiting up to ``timeout`` for the first record); apply it."""
        if time.monotonic() >= self._next_refresh:
            self.assign()
        first = self._consumer.poll(timeout)
        if first is None:
            return 0
        msgs = [first, *self._consumer.consume(MAX_BATCH - 1, 0)]
        rows: list[Row] = []
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error on %s: %s", self.topic, err.str())
                continue
            rows.append(self._to_row(msg))
        applied = self.db.apply_batch(self.topic, rows)
        self.applied += applied
        return applied

    def _to_row(self, msg: Any) -> Row:
        partition, offset, key, value = msg.partition(), msg.offset(), msg.key(), msg.value()
        where = f"{self.topic} partition {partition} offset {offset}"
        if key is None:
            log.warning("skipping the record at %s: it has no key (customerId)", where)
            return Row(partition, offset, None, None)  # only advances the stored offset
        customer_id = key.decode("utf-8", errors="replace")
        if value is None:
            return Row(partition, offset, customer_id, None)
        try:
            cart = value.decode()
            json.loads(cart)
        except ValueError:
            log.warning("skipping the record at %s: the value is not JSON", where)
            return Row(partition, offset, None, None)
        return Row(partition, offset, customer_id, cart)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then close the consumer."""
        try:
            self.assign()
            while not stop.is_set():
                self.poll_once(0.2)
        finally:
            self.close()

    def close(self) -> None:
        self._consumer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.read_model")
    parser.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    add_bootstrap_arg(parser)
    add_partitions_arg(parser)
    args = parser.parse_args(argv)
    setup_logging()
    bootstrap = resolve_bootstrap(args.bootstrap)
    ensure_topics(bootstrap, [CART_DETAILS], partitions=args.partitions)
    db = open_db(args.db)
    db.ensure_schema()
    connector = CartDetailsConnector(bootstrap, db)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    connector.assign()
    log_ready("read_model", db=args.db or "default", bootstrap=bootstrap, topic=CART_DETAILS)
    connector.run(stop)
    db.close()


if __name__ == "__main__":
    main()
