"""A shopping cart written with the DSL alone: cart events, enriched from a product
GlobalKTable (left join through a key_mapper), aggregated per customer, written out."""

from __future__ import annotations

from typing import Any

from kstreamy.dsl import StreamsBuilder
from kstreamy.serdes import Json, String
from kstreamy.testing.driver import TopologyTestDriver
from kstreamy.topology import Topology

S, J = String(), Json()


def enrich(event: dict[str, Any], product: dict[str, Any] | None) -> dict[str, Any]:
    if product is None:
        return {**event, "known": event.get("itemId") is None}
    return {**event, "known": True, "name": product["name"], "price": product["price"]}


def apply(customer: str, event: dict[str, Any], cart: dict[str, Any]) -> dict[str, Any]:
    lines = dict(cart["lines"])
    kind = event["type"]
    if kind == "ADD" and event["known"]:
        line = lines.get(
            event["itemId"], {"qty": 0, "name": event["name"], "price": event["price"]}
        )
        lines[event["itemId"]] = {**line, "qty": line["qty"] + event["qty"]}
    elif kind == "REMOVE":
        lines.pop(event["itemId"], None)
    elif kind == "CLEAR":
        lines = {}
    total = sum(line["qty"] * line["price"] for line in lines.values())
    return {
        "customer": customer,
        "lines": lines,
        "total": total,
        "checked_out": kind == "CHECKOUT" or cart["checked_out"],
    }


def build_topology() -> Topology:
    b = StreamsBuilder()
    products = b.global_table("products", S, J, store="products-store")
    (
        b.stream("cart-events", S, J)
        .left_join(products, enrich, key_mapper=lambda customer, e: e.get("itemId"), name="enrich")
        .group_by_key(S, J)
        .aggregate(
            lambda: {"lines": {}, "checked_out": False},
            apply,
            store="carts",
            value_serde=J,
            name="cart-aggregate",
        )
        .to_stream(name="carts-to-stream")
        .to("shopping-carts", S, J, name="carts-sink")
    )
    return b.build()


def test_shopping_cart() -> None:
    """Checkout and clear events have no item id: the left join keeps them (key_mapper returns
    None), so they reach the aggregate; unknown products are not added to the cart."""
    with TopologyTestDriver(build_topology(), {"application.id": "cart"}) as d:
        products = d.create_input_topic("products", S, J)
        events = d.create_input_topic("cart-events", S, J, start_timestamp=0, auto_advance_ms=1)
        carts = d.create_output_topic("shopping-carts", S, J)
        products.pipe_input("p1", {"name": "Phone", "price": 650})
        products.pipe_input("p2", {"name": "Case", "price": 20})
        events.pipe_input("c1", {"type": "ADD", "itemId": "p1", "qty": 1})
        events.pipe_input("c1", {"type": "ADD", "itemId": "p2", "qty": 2})
        events.pipe_input("c2", {"type": "ADD", "itemId": "nope", "qty": 1})
        events.pipe_input("c1", {"type": "REMOVE", "itemId": "p2"})
        events.pipe_input("c1", {"type": "CHECKOUT"})
        events.pipe_input("c2", {"type": "CLEAR"})
        latest = carts.read_key_values_to_map()
        assert latest["c1"] == {
            "customer": "c1",
            "total": 650,
            "checked_out": True,
            "lines": {"p1": {"qty": 1, "name": "Phone", "price": 650}},
        }
        assert latest["c2"] == {"customer": "c2", "lines": {}, "total": 0, "checked_out": False}
        assert d.get_key_value_store("carts").get("c1")["total"] == 650
        assert d.get_key_value_store("products-store").get("p2") == {"name": "Case", "price": 20}
        # the aggregate is named, so the topology builds without a KIP-1111 warning
        assert build_topology().warnings == []
