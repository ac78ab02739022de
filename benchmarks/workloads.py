"""The four workloads: what each computes, on which data set, under which guarantee.

Every system implements the same four topologies with its own idioms (see ``peers/`` and
``systems/kstreamy_app.py``); this module is the shared definition they are checked against.

* **W1** stateless: ``filter(amount >= 100) -> map(k, v -> k, {id, user, amountCents,
  country: lower}) -> to``. Input JSON ``{"id", "user", "amount", "country"}``, key ``"r<id>"``.
* **W2** ``group_by_key().count()`` over 10k keys; the value is not read (bytes).
* **W3** the shopping-cart aggregate (``apps/shopping_cart/cart.py`` rules) with the products
  GlobalKTable left-joined on ``itemId``; output is the cart's public view per customer.
* **W4** W3 under ``exactly_once_v2`` (W1-W3 are at-least-once).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_WORKLOADS = ("W1", "W2", "W3", "W4")
ALL_SYSTEMS = ("kstreamy", "kafka-streams", "quix", "faust")
REFERENCE_SYSTEM = "kafka-streams"
PARTITIONS = 4
W1_MIN_AMOUNT = 100
"""W1's filter keeps records whose ``amount`` is at least this (about 90% of them)."""


@dataclass(frozen=True)
class Workload:
    """One benchmark workload."""

    id: str
    description: str
    dataset: str
    """``"w1"``, ``"w2"`` or ``"cart"``: which generated input it reads (W3 and W4 share one)."""
    default_records: int
    quick_records: int
    guarantee: str
    """``at_least_once`` or ``exactly_once_v2`` (Kafka Streams' names)."""
    count_output: bool = False
    """True when the output value is a count (Long in Java/kstreamy, a JSON number elsewhere)."""


WORKLOADS: dict[str, Workload] = {
    "W1": Workload(
        "W1", "stateless filter -> map -> to", "w1", 1_000_000, 100_000, "at_least_once"
    ),
    "W2": Workload(
        "W2",
        "count per key (10k keys)",
        "w2",
        500_000,
        100_000,
        "at_least_once",
        count_output=True,
    ),
    "W3": Workload(
        "W3",
        "shopping-cart aggregate + products GlobalKTable join",
        "cart",
        500_000,
        100_000,
        "at_least_once",
    ),
    "W4": Workload(
        "W4",
        "W3 with exactly_once_v2",
        "cart",
        500_000,
        100_000,
        "exactly_once_v2",
    ),
}


def parse_list(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    """Split a comma list such as ``"W1,W3"`` and check every item against ``allowed``."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}")
    if not items:
        raise ValueError(f"no {what} given; choose from {', '.join(allowed)}")
    return items
