"""Acceptance: the four services as processes on a real broker, driven through HTTP."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from apps.shopping_cart.demo import Services
from apps.shopping_cart.events import Product
from apps.shopping_cart.products import publish_products
from apps.shopping_cart.topics import ensure_topics
from kstreamy.testing import consume, produce

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

PRODUCTS = [
    Product("1", "IPhone 12", Decimal("65000"), 768),
    Product("2", "IPhone 13", Decimal("125000"), 230),
    Product("3", "Sticker", Decimal("0.10"), 5000),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, bootstrap: str, workdir: Path) -> None:
        self.bootstrap = bootstrap
        self.services = Services(workdir, quiet=True)
        self.write = f"http://127.0.0.1:{free_port()}"
        self.read = f"http://127.0.0.1:{free_port()}"
        self.workdir = workdir

    def start(self) -> None:
        boot = ["--bootstrap", self.bootstrap]
        db = str(self.workdir / "read.db")
        self.services.start("aggregator", [*boot, "--state-dir", str(self.workdir / "state")])
        self.services.start("read_model", [*boot, "--db", db])
        self.services.start("read_api", ["--port", self.read.rsplit(":", 1)[1], "--db", db])
        self.services.start("write_api", [*boot, "--port", self.write.rsplit(":", 1)[1]])
        for name in list(self.services.procs):
            self.services.wait_ready(name)

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.write}/api/v1/{path}", json=body, timeout=30)

    def add(self, customer: str, item: str, qty: int = 1) -> str:
        resp = self.post("add", {"customerId": customer, "itemId": item, "qty": qty})
        assert resp.status_code == 202, resp.text
        return str(resp.json()["eventId"])

    def cart(self, customer: str) -> tuple[int, Any]:
        resp = requests.get(f"{self.read}/api/v1/{customer}", timeout=30)
        return resp.status_code, resp.json()

    def wait_for(self, customer: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        last: Any = None
        while time.monotonic() < deadline:
            status, last = self.cart(customer)
            if status == 200 and check(last):
                return dict(last)
            time.sleep(0.05)
        raise AssertionError(f"cart of {customer} never matched; last answer: {last}")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_topics(kafka_bootstrap)
    assert publish_products(kafka_bootstrap, PRODUCTS) == []
    s = Stack(kafka_bootstrap, tmp_path_factory.mktemp("stack"))
    try:
        s.start()
        yield s
    finally:
        s.services.stop()
    for name, proc in s.services.procs.items():
        assert proc.returncode == 0, f"{name} exited with {proc.returncode}"


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def line(qty: int, name: str, price: str, total: str) -> dict[str, Any]:
    return {"qty": qty, "productName": name, "unitPrice": price, "lineTotal": total}


def test_seed_sequence_yields_the_expected_cart(stack: Stack) -> None:
    c = customer()
    for item in ("1", "1", "2", "2"):
        stack.add(c, item)
    assert stack.post("remove", {"customerId": c, "itemId": "2", "qty": 1}).status_code == 202
    cart = stack.wait_for(c, lambda x: x["version"] == 5)
    assert cart["lines"] == {
        "1": line(2, "IPhone 12", "65000.00", "130000.00"),
        "2": line(1, "IPhone 13", "125000.00", "125000.00"),
    }
    assert cart["cartTotal"] == "255000.00" and cart["status"] == "OPEN"
    assert cart["customerId"] == c and cart["cartNumber"] == 1 and cart["unknownItems"] == []
    # Removing the last one makes the line disappear.
    assert stack.post("remove", {"customerId": c, "itemId": "2"}).status_code == 202
    cart = stack.wait_for(c, lambda x: x["version"] == 6)
    assert list(cart["lines"]) == ["1"] and cart["cartTotal"] == "130000.00"


def test_clear_checkout_unknown_items_and_exact_totals(stack: Stack) -> None:
    c = customer()
    stack.add(c, "1")
    stack.add(c, "3", 3)
    assert stack.post("clear", {"customerId": c}).status_code == 202
    cart = stack.wait_for(c, lambda x: x["version"] == 3)
    assert cart["lines"] == {} and cart["cartTotal"] == "0.00"

    stack.add(c, "3", 3)
    stack.add(c, "unknown-item", 2)
    assert stack.post("checkout", {"customerId": c}).status_code == 202
    cart = stack.wait_for(c, lambda x: x["version"] == 6)
    assert cart["status"] == "CHECKED_OUT" and cart["cartTotal"] == "0.30"
    assert cart["unknownItems"] == ["unknown-item"]
    assert cart["lines"]["unknown-item"] == line(2, None, None, None)  # type: ignore[arg-type]

    stack.add(c, "2")
    cart = stack.wait_for(c, lambda x: x["version"] == 7)
    assert cart["cartNumber"] == 2 and cart["status"] == "OPEN"
    assert cart["lines"] == {"2": line(1, "IPhone 13", "125000.00", "125000.00")}


def test_client_retry_with_the_same_event_id_is_applied_once(stack: Stack) -> None:
    c = customer()
    body = {"customerId": c, "itemId": "1", "qty": 2, "eventId": str(uuid.uuid4())}
    for _ in range(3):
        assert stack.post("add", body).status_code == 202
    stack.add(c, "2")
    cart = stack.wait_for(c, lambda x: "2" in x["lines"])
    assert cart["lines"]["1"]["qty"] == 2 and cart["version"] == 2


def test_bad_http_input_gets_400_and_produces_nothing(stack: Stack) -> None:
    c = customer()
    bad: list[tuple[str, Any]] = [
        ("add", {"customerId": c, "itemId": "1"}),
        ("add", {"customerId": c, "itemId": "1", "qty": 0}),
        ("add", {"customerId": c, "itemId": "1", "qty": 1001}),
        ("add", {"customerId": c, "itemId": "1", "qty": "1"}),
        ("add", {"customerId": c, "itemId": "1", "qty": 1, "unit": "kg"}),
        ("remove", {"customerId": c}),
        ("checkout", {"customerId": c, "itemId": "1"}),
        ("clear", {"customerId": c, "eventId": "not-a-uuid"}),
        ("add", {"customerId": c, "itemId": "1", "qty": 1, "pad": "x" * 20_000}),
    ]
    for path, body in bad:
        resp = stack.post(path, body)
        assert resp.status_code == 400, (path, body)
        assert resp.json()["error"] == "bad_request"
    resp = requests.post(f"{stack.write}/api/v1/add", data=b"{nope", timeout=30)
    assert resp.status_code == 400
    stack.add(c, "1")  # a marker: once it is in the cart, everything before it was processed
    cart = stack.wait_for(c, lambda x: "1" in x["lines"])
    assert cart["version"] == 1 and cart["lines"]["1"]["qty"] == 1
    records = consume(stack.bootstrap, "cart-events", None, timeout=60)
    assert [r.key for r in records].count(c.encode()) == 1


@pytest.mark.parametrize("service", ["aggregator", "read_model", "read_api", "write_api"])
def test_restarts_lose_nothing_and_duplicate_nothing(stack: Stack, service: str) -> None:
    c = customer()
    for _ in range(3):
        stack.add(c, "1")
    stack.wait_for(c, lambda x: x["version"] == 3)
    assert stack.services.restart(service) == 0  # a clean shutdown
    for _ in range(2):
        stack.add(c, "1")
    cart = stack.wait_for(c, lambda x: x["version"] == 5)
    assert cart["lines"]["1"]["qty"] == 5 and cart["lines"]["1"]["lineTotal"] == "325000.00"
    time.sleep(1.0)  # anything re-applied would show up as a newer version
    status, again = stack.cart(c)
    assert status == 200 and again == cart


def test_malformed_records_go_to_the_dead_letter_topic(stack: Stack) -> None:
    """Bytes that are not JSON (deserialization handler) and valid JSON that is not a valid event
    (processing handler) both land in the dead-letter topic; processing goes on."""
    c = customer()
    invalid = json.dumps({"eventId": str(uuid.uuid4()), "type": "ITEM_ADDED", "ts": 1, "v": 1,
                          "customerId": c, "itemId": "1", "qty": -5}).encode()  # fmt: skip
    produce(stack.bootstrap, "cart-events", [(c, b"\x00garbage"), (c, invalid)])
    stack.add(c, "2")
    cart = stack.wait_for(c, lambda x: "2" in x["lines"])
    assert cart["version"] == 1 and list(cart["lines"]) == ["2"]
    dead = consume(stack.bootstrap, "cart-events-dlq", None, timeout=60)
    mine = [r.value for r in dead if r.key == c.encode()]
    assert mine == [b"\x00garbage", invalid]
