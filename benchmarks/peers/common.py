"""Shared by the Python peers and the kstreamy adapter: arguments, W1's functions, W3's logic.

Standard library plus ``apps.shopping_cart.cart``/``events`` (themselves standard library only),
so it imports in any of the benchmark virtualenvs. Each system still wires these functions in
with its own idioms; sharing them keeps the per-record *business* work identical across the
Python systems, so their differences are the frameworks'.
"""

from __future__ import annotations

import argparse
from typing import Any

from apps.shopping_cart.cart import Cart, apply, initial_cart, public_view
from apps.shopping_cart.events import CartEvent, Product, decode_product, parse_event

W1_MIN_AMOUNT = 100  # == benchmarks.workloads.W1_MIN_AMOUNT (not imported: no confluent_kafka here)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The harness's common arguments (see ``benchmarks.systems.RunSpec.argv``)."""
    p = argparse.ArgumentParser(description="one benchmark run of one system")
    p.add_argument("--workload", required=True, choices=["W1", "W2", "W3", "W4"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--products", default=None)
    p.add_argument("--output", required=True)
    p.add_argument("--app-id", required=True)
    p.add_argument("--guarantee", default="at_least_once",
                   choices=["at_least_once", "exactly_once_v2"])  # fmt: skip
    p.add_argument("--commit-interval-ms", type=int, default=1000)
    p.add_argument("--state-dir", required=True)
    return p.parse_args(argv)


def w1_keep(value: dict[str, Any]) -> bool:
    """W1's filter."""
    return bool(value["amount"] >= W1_MIN_AMOUNT)


def w1_map(value: dict[str, Any]) -> dict[str, Any]:
    """W1's map (the key is kept)."""
    return {
        "id": value["id"],
        "user": value["user"],
        "amountCents": value["amount"] * 100,
        "country": value["country"].lower(),
    }


def cart_step(key: str, cart: Cart | None, value: Any, products: dict[str, Product]) -> Cart:
    """Parse one cart event, look up its product, and apply it: the W3 aggregate step."""
    event: CartEvent = parse_event(value)
    product = products.get(event.item_id) if event.item_id is not None else None
    if cart is None or not cart["customerId"]:
        cart = initial_cart(key)
    return apply(cart, event, product)


def product_entry(data: bytes | None) -> Product | None:
    """A product from the products topic, ``None`` for a tombstone or an invalid record."""
    if data is None:
        return None
    try:
        return decode_product(data)
    except ValueError:
        return None


__all__ = [
    "Cart",
    "cart_step",
    "parse_args",
    "product_entry",
    "public_view",
    "w1_keep",
    "w1_map",
]
