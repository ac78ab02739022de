"""Load generated input into 4-partition topics once, and reuse them across systems and runs.

Topics are named after the data set, size, seed and generator version, so an existing topic with
the expected number of records *is* the data; input topics are only ever read by the systems.
The producer uses ``murmur2_random`` (Java's partitioner), so every system, whatever its own
client's default, reads exactly the same records in the same partitions.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from benchmarks import data
from benchmarks.workloads import PARTITIONS

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class InputTopics:
    """The loaded input of one workload run: the main topic and, for carts, the products."""

    main: str
    records: int
    products: str | None = None


def topic_name(dataset: str, records: int, seed: int) -> str:
    """``bench-in-<dataset>-<records>-s<seed>-g<generator version>``."""
    return f"bench-in-{dataset}-{records}-s{seed}-g{data.GENERATOR_VERSION}"


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = PARTITIONS) -> None:
    """Create ``names`` (``partitions`` each); existing topics are left alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(name, partitions, 1) for name in names]
    if not new:
        return
    for name, fut in admin.create_topics(new, operation_timeout=TIMEOUT_S).items():
        try:
            fut.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise RuntimeError(f"cannot create topic {name} on {bootstrap}: {exc}") from exc
    _wait_for_metadata(admin, [t.topic for t in new])


def _wait_for_metadata(admin: AdminClient, names: list[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=TIMEOUT_S).topics
        if all(n in topics and len(topics[n].partitions) > 0 for n in names):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topics {names} did not appear in metadata within {TIMEOUT_S:.0f} s")


def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Delete ``names``, ignoring topics that do not exist (best effort, for cleanup)."""
    names = list(names)
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.delete_topics(names, operation_timeout=TIMEOUT_S).values():
        with contextlib.suppress(KafkaException):
            fut.result(timeout=TIMEOUT_S)


def topics_with_prefix(bootstrap: str, prefix: str) -> list[str]:
    """All topics whose name starts with ``prefix`` (internal topics of one application id)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return sorted(t for t in admin.list_topics(timeout=TIMEOUT_S).topics if t.startswith(prefix))


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """High watermark per partition of ``topic``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kstreamy-bench-probe",
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return {}
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1]
            for p in meta.partitions
        }
    finally:
        consumer.close()


def produce_all(bootstrap: str, topic: str, pairs: Iterable[tuple[bytes, bytes]]) -> int:
    """Write ``pairs`` to ``topic`` as fast as the broker takes them; return how many."""
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None and len(errors) < 5:
            errors.append(str(err))

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    count = 0
    produce, poll = producer.produce, producer.poll
    for key, value in pairs:
        while True:
            try:
                produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.05)
        count += 1
        if count % 10_000 == 0:
            poll(0)
    remaining = producer.flush(TIMEOUT_S * 4)
    if remaining or errors:
        raise RuntimeError(
            f"loading {topic}: {remaining} records undelivered, errors: {errors or 'none'}"
        )
    return count


def ensure_loaded(
    bootstrap: str, topic: str, pairs_factory: object, expected: int, *, log: bool = True
) -> bool:
    """Load ``topic`` unless it already holds ``expected`` records; True when it was loaded now.

    ``pairs_factory`` is a zero-argument callable returning the pairs (only called if needed).
    A topic holding some other count (an interrupted load) is deleted and loaded again.
    """
    existing = end_offsets(bootstrap, topic)
    if existing and sum(existing.values()) == expected:
        return False
    if existing:
        delete_topics(bootstrap, [topic])
        time.sleep(1.0)
    create_topics(bootstrap, [topic])
    start = time.monotonic()
    assert callable(pairs_factory)
    count = produce_all(bootstrap, topic, pairs_factory())
    if log:
        rate = count / max(time.monotonic() - start, 1e-9)
        print(f"loaded {count} records into {topic} ({rate:,.0f}/s)", flush=True)
    return True


def load_dataset(bootstrap: str, dataset: str, records: int, seed: int) -> InputTopics:
    """Make sure the input of ``dataset`` at ``records`` is on the broker; name its topics."""
    main = topic_name(dataset, records, seed)
    ensure_loaded(bootstrap, main, lambda: data.dataset_records(dataset, records, seed), records)
    if dataset != "cart":
        return InputTopics(main, records)
    products = f"bench-in-products-{data.CART_PRODUCTS}-s{seed}-g{data.GENERATOR_VERSION}"
    ensure_loaded(bootstrap, products, lambda: data.products(seed), data.CART_PRODUCTS)
    return InputTopics(main, records, products)
