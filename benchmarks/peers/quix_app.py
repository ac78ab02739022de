"""Quix Streams peer: W1-W4 written the Quix way (StreamingDataFrame, stateful ``apply``).

Runs in ``build/bench-venvs/quix`` (``quixstreams``, latest release) with the repository on
``PYTHONPATH``. Feature gaps, and what stands in for them:

* No GlobalKTable. The products topic is read to its end into a dict before processing starts,
  which is exactly what a GlobalKTable does at start-up (products do not change during the run).
  Quix's ``join_lookup`` needs an external SQL or configuration service, and ``join_asof`` /
  ``join_latest`` need co-partitioned topics (two repartitions here), so neither is closer.
* No record cache: every count/cart update is produced (Kafka Streams and kstreamy deduplicate
  per key in their caches before a commit). The final value per key is the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from quixstreams import Application, State

from benchmarks import protocol
from benchmarks.peers.common import (
    cart_step,
    parse_args,
    product_entry,
    public_view,
    w1_keep,
    w1_map,
)

_first = [False]


def _mark() -> None:
    if not _first[0]:
        _first[0] = True
        protocol.emit(protocol.FIRST_CONSUMED)


def load_products(bootstrap: str, topic: str) -> dict[str, Any]:
    """Read ``topic`` from the beginning to its end: the GlobalKTable stand-in."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                         "enable.auto.commit": False, "enable.partition.eof": True})  # fmt: skip
    out: dict[str, Any] = {}
    try:
        parts = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in parts}
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        while pending:
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                    continue
                key = msg.key().decode()
                product = product_entry(msg.value())
                if product is None:
                    out.pop(key, None)
                else:
                    out[key] = product
    finally:
        consumer.close()
    return out


def main() -> None:
    args = parse_args()
    eos = args.guarantee == "exactly_once_v2"
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.app_id,
        auto_offset_reset="earliest",
        commit_interval=args.commit_interval_ms / 1000,
        state_dir=args.state_dir,
        processing_guarantee="exactly-once" if eos else "at-least-once",
        loglevel="WARNING",
    )
    value_format = "bytes" if args.workload == "W2" else "json"
    source = app.topic(args.input, key_deserializer="str", value_deserializer=value_format)
    sink = app.topic(args.output, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(source)

    if args.workload == "W1":

        def keep(value: dict[str, Any]) -> bool:
            _mark()
            return w1_keep(value)

        sdf = sdf.filter(keep).apply(w1_map)
    elif args.workload == "W2":

        def count(value: bytes, state: State) -> int:
            _mark()
            n: int = state.get("count", 0) + 1
            state.set("count", n)
            return n

        sdf = sdf.apply(count, stateful=True)
    else:
        products = load_products(args.bootstrap, args.products)

        def cart(value: Any, key: str, timestamp: int, headers: Any, state: State) -> Any:
            _mark()
            updated = cart_step(key, state.get("cart"), value, products)
            state.set("cart", updated)
            return public_view(updated)

        sdf = sdf.apply(cart, stateful=True, metadata=True)
    sdf.to_topic(sink)
    protocol.emit(protocol.READY)
    app.run()


if __name__ == "__main__":
    main()
