"""The aggregator topology through kstreamy's TopologyTestDriver, rule by rule."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from apps.shopping_cart.cart import recent_event_ids
from apps.shopping_cart.topology import JsonValueSerde, build_topology, streams_config
from kstreamy import TopologyTestDriver
from kstreamy.serdes import String


class Raw:
    """Bytes in, bytes out: lets a test pipe values that are not JSON."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        return obj if obj is None or isinstance(obj, bytes) else json.dumps(obj).encode()

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        return data


class Cart:
    """Pipes commands for the tests and reads what the topology wrote."""

    def __init__(self, driver: TopologyTestDriver) -> None:
        self.driver = driver
        self.events = driver.create_input_topic("cart-events", String(), Raw())
        self.products = driver.create_input_topic("product-details-events", String(), Raw())
        self.out = driver.create_output_topic("cart-details-event", String(), JsonValueSerde())
        self.dlq = driver.create_output_topic("cart-events-dlq", Raw(), Raw())
        self.ts = 1_764_216_000_000

    def product(self, pid: str, name: str, price: Any, stock: int = 10) -> None:
        value = {"productId": pid, "productName": name, "price": price, "stockQty": stock}
        self.products.pipe_input(pid, value)

    def send(self, customer: str, etype: str, item: str | None = None, qty: int | None = None,
             *, event_id: str | None = None) -> str:  # fmt: skip
        self.ts += 1000
        event: dict[str, Any] = {
            "eventId": event_id or str(uuid.uuid4()),
            "type": etype,
            "ts": self.ts,
            "v": 1,
            "customerId": customer,
        }
        if item is not None:
            event["itemId"] = item
        if qty is not None:
            event["qty"] = qty
        self.events.pipe_input(customer, event, timestamp=self.ts)
        return str(event["eventId"])

    def add(self, customer: str, item: str, qty: int, **kw: Any) -> str:
        return self.send(customer, "ITEM_ADDED", item, qty, **kw)

    def remove(self, customer: str, item: str, qty: int | None = None) -> str:
        return self.send(customer, "ITEM_REMOVED", item, qty)

    def latest(self) -> dict[str, Any]:
        return dict(self.out.read_key_values_to_map())


@pytest.fixture
def cart() -> Iterator[Cart]:
    config = streams_config("unused:9092", extra={"statestore.cache.max.bytes": 0})
    with TopologyTestDriver(build_topology(config), config) as driver:
        c = Cart(driver)
        c.product("1", "IPhone 12", "65000")
        c.product("2", "IPhone 13", "125000")
        yield c


def test_seed_sequence(cart: Cart) -> None:
    for item in ("1", "1", "2", "2"):
        cart.add("123", item, 1)
    cart.remove("123", "2", 1)
    got = cart.latest()["123"]
    assert got["lines"] == {
        "1": {"qty": 2, "productName": "IPhone 12", "unitPrice": "65000.00",
              "lineTotal": "130000.00"},
        "2": {"qty": 1, "productName": "IPhone 13", "unitPrice": "125000.00",
              "lineTotal": "125000.00"},
    }  # fmt: skip
    assert got["cartTotal"] == "255000.00" and got["status"] == "OPEN"
    assert got["customerId"] == "123" and got["cartNumber"] == 1 and got["version"] == 5
    assert "recentEventIds" not in got  # internal: only in the store
    assert cart.dlq.is_empty()


def test_every_event_updates_the_cart_of_its_customer(cart: Cart) -> None:
    cart.add("a", "1", 1)
    cart.add("b", "2", 1)
    cart.add("a", "1", 2)
    records = cart.out.read_key_values_to_list()
    assert [k for k, _ in records] == ["a", "b", "a"]
    assert records[-1][1]["lines"]["1"]["qty"] == 3


def test_remove_to_zero_deletes_the_line_and_never_goes_negative(cart: Cart) -> None:
    cart.add("123", "1", 2)
    cart.remove("123", "1", 5)
    cart.remove("123", "2", 1)  # absent: no change
    got = cart.latest()["123"]
    assert got["lines"] == {} and got["cartTotal"] == "0.00" and got["version"] == 2


def test_remove_without_qty_removes_the_line(cart: Cart) -> None:
    cart.add("123", "1", 4)
    cart.remove("123", "1")
    assert cart.latest()["123"]["lines"] == {}


def test_clear_reaches_the_aggregate(cart: Cart) -> None:
    cart.add("123", "1", 1)
    cart.send("123", "CART_CLEARED")
    got = cart.latest()["123"]
    assert got["lines"] == {} and got["version"] == 2


def test_checkout_closes_the_cart_and_the_next_add_opens_a_new_one(cart: Cart) -> None:
    cart.send("123", "CHECKED_OUT")  # empty cart: nothing to check out
    cart.add("123", "1", 1)
    cart.send("123", "CHECKED_OUT")
    assert cart.out.read_key_values_to_list()[-1][1]["status"] == "CHECKED_OUT"
    cart.remove("123", "1")
    cart.send("123", "CART_CLEARED")
    assert cart.latest()["123"]["lines"]["1"]["qty"] == 1  # checked-out cart is frozen
    cart.add("123", "2", 1)
    got = cart.latest()["123"]
    assert got["cartNumber"] == 2 and got["status"] == "OPEN" and list(got["lines"]) == ["2"]


def test_unknown_products_are_kept_and_flagged(cart: Cart) -> None:
    cart.add("123", "1", 1)
    cart.add("123", "404", 2)
    got = cart.latest()["123"]
    assert got["unknownItems"] == ["404"] and got["lines"]["404"]["qty"] == 2
    assert got["cartTotal"] == "65000.00"


def test_price_is_the_one_at_the_last_add(cart: Cart) -> None:
    cart.add("123", "1", 1)
    cart.product("1", "IPhone 12", "60000.50")
    got = cart.out.read_key_values_to_list()
    assert got[-1][1]["lines"]["1"]["unitPrice"] == "65000.00"  # no reprice by itself
    cart.add("123", "1", 1)
    assert cart.latest()["123"]["lines"]["1"]["lineTotal"] == "120001.00"


def test_a_bad_product_record_does_not_stop_the_stream(cart: Cart) -> None:
    cart.products.pipe_input("7", b"{broken")
    cart.products.pipe_input("8", {"productId": "8", "productName": "X", "price": "-1",
                                   "stockQty": 1})  # fmt: skip
    cart.add("123", "7", 1)
    cart.add("123", "8", 1)
    assert cart.latest()["123"]["unknownItems"] == ["7", "8"]


def test_client_retries_are_applied_once(cart: Cart) -> None:
    event_id = cart.add("123", "1", 1)
    cart.add("123", "1", 1, event_id=event_id)
    cart.add("123", "1", 1, event_id=event_id)
    assert cart.latest()["123"]["lines"]["1"]["qty"] == 1
    store = cart.driver.get_key_value_store("cart-store").get("123")
    assert recent_event_ids(store) == [event_id]


def test_the_same_event_id_for_two_customers_applies_to_both(cart: Cart) -> None:
    event_id = str(uuid.uuid4())
    cart.add("a", "1", 1, event_id=event_id)
    cart.add("b", "1", 1, event_id=event_id)
    latest = cart.latest()
    assert latest["a"]["lines"]["1"]["qty"] == latest["b"]["lines"]["1"]["qty"] == 1


def test_not_json_goes_to_the_dead_letter_topic_and_processing_continues(cart: Cart) -> None:
    cart.events.pipe_input("123", b"\x00not json")
    cart.add("123", "1", 1)
    dead = cart.dlq.read_records_to_list()
    assert len(dead) == 1 and dead[0].key == b"123" and dead[0].value == b"\x00not json"
    assert cart.latest()["123"]["lines"]["1"]["qty"] == 1


@pytest.mark.parametrize(
    "value",
    [
        {"eventId": str(uuid.uuid4()), "type": "ADD_ITEM", "ts": 1, "v": 1, "customerId": "123"},
        {"eventId": str(uuid.uuid4()), "type": "ITEM_ADDED", "ts": 1, "v": 1, "customerId": "123",
         "itemId": "1", "qty": 0},
        {"eventId": "nope", "type": "CART_CLEARED", "ts": 1, "v": 1, "customerId": "123"},
        [1, 2, 3],
    ],
)  # fmt: skip
def test_invalid_events_go_to_the_dead_letter_topic(cart: Cart, value: Any) -> None:
    raw = json.dumps(value).encode()
    cart.events.pipe_input("123", raw)
    cart.add("123", "2", 1)
    dead = cart.dlq.read_records_to_list()
    assert [(r.key, r.value) for r in dead] == [(b"123", raw)]
    assert cart.latest()["123"]["lines"]["2"]["qty"] == 1


def test_event_keyed_to_another_customer_is_dead_lettered(cart: Cart) -> None:
    event = {"eventId": str(uuid.uuid4()), "type": "ITEM_ADDED", "ts": 1, "v": 1,
             "customerId": "456", "itemId": "1", "qty": 1}  # fmt: skip
    cart.events.pipe_input("123", event)
    assert len(cart.dlq.read_records_to_list()) == 1
    assert cart.out.is_empty()


def test_money_is_exact(cart: Cart) -> None:
    cart.product("9", "Sticker", "0.10")
    for _ in range(3):
        cart.add("123", "9", 1)
    assert cart.latest()["123"]["cartTotal"] == "0.30"


def test_topology_has_no_repartition_and_stable_names() -> None:
    text = build_topology().describe()
    text = text if isinstance(text, str) else str(text)
    assert "repartition" not in text
    for name in ("parse-cart-event", "join-product", "bypass-join", "merge-events",
                 "aggregate-cart", "public-view", "cart-store"):  # fmt: skip
        assert name in text, name
