"""Idempotent creation of the shopping cart's topics (AdminClient).

Every service calls :func:`ensure_topics` for the topics it touches before it starts, so nothing
relies on broker auto-creation. Existing topics are left as they are (their partition count is not
changed: keys would move between partitions).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from apps.shopping_cart.settings import (
    CART_DETAILS,
    CART_EVENTS,
    DEFAULT_PARTITIONS,
    DLQ,
    PRODUCTS,
)

log = logging.getLogger(__name__)

COMPACT: Final = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class TopicSpec:
    """One topic: name, what its key is (documentation) and its topic configs."""

    name: str
    key: str
    config: dict[str, str] = field(default_factory=dict)


TOPICS: Final[dict[str, TopicSpec]] = {
    CART_EVENTS: TopicSpec(CART_EVENTS, "customerId"),
    PRODUCTS: TopicSpec(PRODUCTS, "productId", COMPACT),
    CART_DETAILS: TopicSpec(CART_DETAILS, "customerId", COMPACT),
    DLQ: TopicSpec(DLQ, "original key"),
}
ALL_TOPICS: Final = tuple(TOPICS)


def ensure_topics(
    bootstrap: str,
    names: Iterable[str] = ALL_TOPICS,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
    timeout: float = 15.0,
) -> list[str]:
    """Create the missing topics among ``names``; return the ones this call created.

    Safe to call concurrently from several services: "already exists" counts as success.
    Raises ``RuntimeError`` naming the topic when the broker cannot be reached or refuses.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise RuntimeError(
            f"cannot reach Kafka at {bootstrap} to create topics: {exc}; "
            "check --bootstrap / KSTREAMY_BOOTSTRAP"
        ) from exc
    missing = [TOPICS[n] for n in names if n not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(t.name, partitions, replication_factor, config=t.config) for t in missing],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    for name, fut in futures.items():
        try:
            fut.result(timeout=timeout)
            created.append(name)
            log.info("created topic %s (%d partitions)", name, partitions)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise RuntimeError(f"cannot create topic {name} on {bootstrap}: {exc}") from exc
    return created
