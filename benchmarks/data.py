"""Deterministic input data for the workloads: the same seed gives the same bytes, always.

Generators yield ``(key, value)`` byte pairs in load order. Values are compact JSON; W3/W4 cart
events and products follow the shopping-cart app's wire model (``apps/shopping_cart/events.py``).
``random.Random`` with a string seed is stable across processes and Python versions (it does not
use ``hash()``), so topic contents can be reproduced anywhere.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

GENERATOR_VERSION = 1
"""Bump when any generator's output changes: loaded topics are named after it."""

DEFAULT_SEED = 42
W1_USERS = 100_000
W1_COUNTRIES = ("DE", "FR", "US", "GB", "NL", "ES", "IT", "PL")
W2_KEYS = 10_000
CART_CUSTOMERS = 100_000
CART_PRODUCTS = 1_000
CART_BASE_TS = 1_790_000_000_000
"""Event time of the first cart event (epoch ms, late 2026); each event is 7 ms after the last."""
CART_MIX = (("ITEM_ADDED", 0.70), ("ITEM_REMOVED", 0.15), ("CART_CLEARED", 0.05),
            ("CHECKED_OUT", 0.10))  # fmt: skip
"""The event type mix: cumulative thresholds are derived from these shares."""

Pair = tuple[bytes, bytes]


def _rng(seed: int, dataset: str) -> random.Random:
    return random.Random(f"kstreamy-bench-{GENERATOR_VERSION}-{dataset}-{seed}")


def w1_records(n: int, seed: int = DEFAULT_SEED) -> Iterator[Pair]:
    """W1 input: key ``r<i>``, value ``{"id", "user", "amount", "country"}``."""
    rng = _rng(seed, "w1")
    randrange, choice = rng.randrange, rng.choice
    for i in range(n):
        value = (
            f'{{"id":{i},"user":"u{randrange(W1_USERS)}","amount":{randrange(1000)},'
            f'"country":"{choice(W1_COUNTRIES)}"}}'
        )
        yield f"r{i}".encode(), value.encode()


def w2_records(n: int, seed: int = DEFAULT_SEED) -> Iterator[Pair]:
    """W2 input: key ``key-<00000..09999>`` (uniform), a small value nobody reads."""
    rng = _rng(seed, "w2")
    randrange = rng.randrange
    for i in range(n):
        yield f"key-{randrange(W2_KEYS):05d}".encode(), f'{{"n":{i}}}'.encode()


def product_id(n: int) -> str:
    """The productId (also the cart event's itemId) of product number ``n`` (1-based)."""
    return str(n)


def products(seed: int = DEFAULT_SEED, count: int = CART_PRODUCTS) -> Iterator[Pair]:
    """The catalogue: ``{"productId", "productName", "price" (2-place string), "stockQty"}``."""
    rng = _rng(seed, "products")
    for n in range(1, count + 1):
        cents = rng.randrange(100, 200_000)
        value = {
            "productId": product_id(n),
            "productName": f"Product {n}",
            "price": f"{cents // 100}.{cents % 100:02d}",
            "stockQty": rng.randrange(0, 1000),
        }
        yield product_id(n).encode(), json.dumps(value, separators=(",", ":")).encode()


@dataclass
class _Customer:
    items: list[str]


def cart_events(
    n: int,
    seed: int = DEFAULT_SEED,
    customers: int = CART_CUSTOMERS,
    product_count: int = CART_PRODUCTS,
) -> Iterator[Pair]:
    """``n`` cart events keyed by customerId, with the mix of :data:`CART_MIX`.

    The generator tracks each customer's open lines so most removals hit an item in the cart
    (as real ones do), while a few remove something absent (a no-op the aggregate must handle).
    """
    rng = _rng(seed, "cart")
    random_, randrange, getrandbits = rng.random, rng.randrange, rng.getrandbits
    thresholds: list[tuple[float, str]] = []
    total = 0.0
    for etype, share in CART_MIX:
        total += share
        thresholds.append((total, etype))
    state: dict[int, _Customer] = {}
    for i in range(n):
        c = randrange(customers)
        cust = state.setdefault(c, _Customer([]))
        r = random_()
        etype = next((t for limit, t in thresholds if r < limit), thresholds[-1][1])
        event_id = str(uuid.UUID(int=getrandbits(128), version=4))
        head = (
            f'{{"eventId":"{event_id}","type":"{etype}","ts":{CART_BASE_TS + 7 * i},"v":1,'
            f'"customerId":"{c}"'
        )
        if etype == "ITEM_ADDED":
            item = product_id(randrange(product_count) + 1)
            if item not in cust.items:
                cust.items.append(item)
            value = f'{head},"itemId":"{item}","qty":{randrange(1, 6)}}}'
        elif etype == "ITEM_REMOVED":
            if cust.items and random_() < 0.9:
                item = cust.items[randrange(len(cust.items))]
            else:
                item = product_id(randrange(product_count) + 1)
            if random_() < 0.5:
                value = f'{head},"itemId":"{item}"}}'
                if item in cust.items:
                    cust.items.remove(item)
            else:
                value = f'{head},"itemId":"{item}","qty":{randrange(1, 4)}}}'
        else:
            cust.items.clear()
            value = head + "}"
        yield str(c).encode(), value.encode()


def dataset_records(dataset: str, n: int, seed: int = DEFAULT_SEED) -> Iterator[Pair]:
    """The main input of ``dataset`` (``w1``, ``w2`` or ``cart``)."""
    if dataset == "w1":
        return w1_records(n, seed)
    if dataset == "w2":
        return w2_records(n, seed)
    if dataset == "cart":
        return cart_events(n, seed)
    raise ValueError(f"unknown data set {dataset!r}; expected w1, w2 or cart")
