"""Issue #6's restart acceptance, the hard way: while a client keeps writing, the write API, the
connector, the read API and the aggregator are each SIGKILLed (no clean shutdown) and restarted.
Nothing is lost (every accepted add shows in the read API), nothing is applied twice (quantities
and versions are exact, though the client retries a write whose answer the kill swallowed, with
the same eventId), the aggregator's committed output never goes back to an older version, and
the read DB ends equal to the last committed cart of every customer.

test_e2e.py restarts each service cleanly, between writes; this covers crashes mid-stream.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from apps.shopping_cart.demo import Services
from apps.shopping_cart.events import Product
from apps.shopping_cart.products import publish_products
from apps.shopping_cart.settings import CART_DETAILS
from apps.shopping_cart.topics import ensure_topics
from kstreamy.testing import consume

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

PRICE = Decimal("65000")
PRODUCT = Product("crash-1", "IPhone 12", PRICE, 768)
CUSTOMERS = 8
ADDS = 25
"""Adds per customer: CUSTOMERS * ADDS events, written ~40 ms apart (~8 s without kills)."""
KILLS = {20: "write_api", 60: "read_model", 100: "read_api", 130: "aggregator"}
"""Accepted-write count at which each service is SIGKILLed and restarted."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Writer(threading.Thread):
    """Posts every add once accepted; retries a failed post with the same eventId."""

    def __init__(self, url: str, events: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.url, self.events = url, events
        self.accepted = 0
        self.retries = 0
        self.error: str | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 180
        for body in self.events:
            while True:
                try:
                    resp = requests.post(f"{self.url}/api/v1/add", json=body, timeout=10)
                    status = resp.status_code
                except requests.RequestException:
                    status = -1
                if status == 202:
                    break
                if status == 400 or time.monotonic() > deadline:
                    self.error = f"add {body} answered {status}"
                    return
                self.retries += 1
                time.sleep(0.2)
            self.accepted += 1
            time.sleep(0.04)


@pytest.fixture
def services(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Services, str, str]]:
    ensure_topics(kafka_bootstrap)
    assert publish_products(kafka_bootstrap, [PRODUCT]) == []
    svc = Services(tmp_path, quiet=True)
    write, read = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
    boot, db = ["--bootstrap", kafka_bootstrap], str(tmp_path / "read.db")
    try:
        svc.start("aggregator", [*boot, "--state-dir", str(tmp_path / "state")])
        svc.start("read_model", [*boot, "--db", db])
        svc.start("read_api", ["--port", read.rsplit(":", 1)[1], "--db", db])
        svc.start("write_api", [*boot, "--port", write.rsplit(":", 1)[1]])
        for name in list(svc.procs):
            svc.wait_ready(name)
        yield svc, write, read
    finally:
        svc.stop()
    for name, proc in svc.procs.items():
        assert proc.returncode == 0, f"{name} exited with {proc.returncode} on SIGTERM"


def _kill_and_restart(svc: Services, name: str) -> None:
    proc = svc.procs[name]
    proc.kill()
    proc.wait(10)
    svc.start(name)
    svc.wait_ready(name)


def test_sigkilled_services_lose_nothing_and_duplicate_nothing(
    services: tuple[Services, str, str], kafka_bootstrap: str
) -> None:
    svc, write, read = services
    customers = [f"crash-{uuid.uuid4().hex[:12]}" for _ in range(CUSTOMERS)]
    events = [
        {"customerId": c, "itemId": PRODUCT.product_id, "qty": 1, "eventId": str(uuid.uuid4())}
        for _ in range(ADDS)
        for c in customers
    ]
    writer = _Writer(write, events)
    writer.start()
    for threshold, name in sorted(KILLS.items()):
        deadline = time.monotonic() + 120
        while writer.accepted < threshold and writer.is_alive():
            assert time.monotonic() < deadline, f"writes stalled at {writer.accepted}"
            time.sleep(0.02)
        assert writer.accepted < len(events), f"the {name} kill should land mid-stream"
        _kill_and_restart(svc, name)
    writer.join(180)
    assert writer.error is None, writer.error
    assert writer.accepted == len(events)
    print(f"{len(events)} adds accepted, {writer.retries} posts retried after the kills")

    # Lose nothing, apply nothing twice: each customer's cart shows exactly ADDS adds.
    carts: dict[str, Any] = {}
    deadline = time.monotonic() + 90
    for c in customers:
        while True:
            resp = requests.get(f"{read}/api/v1/{c}", timeout=10)
            if resp.status_code == 200 and resp.json()["version"] >= ADDS:
                break
            assert time.monotonic() < deadline, f"cart of {c}: {resp.status_code} {resp.text}"
            time.sleep(0.1)
        carts[c] = resp.json()
    time.sleep(1.0)  # anything re-applied would show up as a newer version by now
    for c in customers:
        again = requests.get(f"{read}/api/v1/{c}", timeout=10).json()
        assert again == carts[c]
        line = again["lines"][PRODUCT.product_id]
        assert again["version"] == ADDS, again
        assert line["qty"] == ADDS and Decimal(line["lineTotal"]) == PRICE * ADDS, again

    # The aggregator's committed output per customer never steps back to an older version (a
    # replay on rolled-back state would), and the read DB holds its last value.
    history: dict[str, list[Any]] = {c: [] for c in customers}
    for r in consume(kafka_bootstrap, CART_DETAILS, None, timeout=60):
        key = r.key.decode() if r.key is not None else None
        if key in history:
            history[key].append(json.loads(r.value))
    for c in customers:
        versions = [cart["version"] for cart in history[c]]
        assert versions == sorted(versions), f"{c}: versions went back: {versions}"
        assert history[c][-1] == carts[c]
