"""Write API, products loader and read model against a real broker."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from confluent_kafka import Producer

from apps.shopping_cart.db import open_db
from apps.shopping_cart.events import decode_event
from apps.shopping_cart.publisher import KafkaPublisher
from apps.shopping_cart.read_api import running as running_read_api
from apps.shopping_cart.read_model import CartDetailsConnector
from apps.shopping_cart.topics import ensure_topics
from apps.shopping_cart.write_api import running as running_write_api
from kstreamy.testing import KafkaTestClient

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ensure_topics_is_idempotent(kafka_bootstrap: str) -> None:
    first = ensure_topics(kafka_bootstrap, ["cart-events-dlq"], partitions=3)
    again = ensure_topics(kafka_bootstrap, ["cart-events-dlq"], partitions=3)
    assert again == [] and set(first) <= {"cart-events-dlq"}


def test_write_api_publishes_exactly_what_it_acknowledges(
    kafka_bootstrap: str, kafka_client: KafkaTestClient
) -> None:
    topic = kafka_client.create_topic(partitions=3)
    accepted: list[str] = []

    async def main() -> None:
        async with (
            running_write_api(KafkaPublisher(kafka_bootstrap), topic=topic) as base,
            aiohttp.ClientSession(base_url=base) as client,
        ):
            assert (await client.get("/healthz")).status == 200
            bodies = [
                ("add", {"customerId": "123", "itemId": "1", "qty": 2}),
                ("add", {"customerId": "456", "itemId": "2", "qty": 1}),
                ("remove", {"customerId": "123", "itemId": "1"}),
                ("checkout", {"customerId": "456"}),
            ]
            for path, body in bodies:
                resp = await client.post(f"/api/v1/{path}", json=body)
                assert resp.status == 202
                accepted.append((await resp.json())["eventId"])
            bad = [
                b"{",
                b'{"customerId":"1","itemId":"1","qty":0}',
                b'{"customerId":"1","itemId":"1","qty":1,"x":1}',
                b'{"customerId":"1","itemId":"1","qty":"3"}',
                b'{"itemId":"1","qty":1}',
                b"x" * 17_000,
            ]
            for raw in bad:
                resp = await client.post("/api/v1/add", data=raw)
                assert resp.status == 400, raw[:40]

    asyncio.run(main())
    records = kafka_client.consume(topic, None)  # to the end: nothing beyond the accepted
    assert sorted(decode_event(r.value).event_id for r in records) == sorted(accepted)
    for r in records:
        event = decode_event(r.value)
        assert r.key == event.customer_id.encode()
    # One customer's events share a partition, in order.
    by_customer = {r.key: r.partition for r in records}
    assert all(by_customer[r.key] == r.partition for r in records)


def test_write_api_answers_503_when_kafka_is_unreachable() -> None:
    bootstrap = f"127.0.0.1:{closed_port()}"

    async def main() -> None:
        publisher = KafkaPublisher(bootstrap, **{"message.timeout.ms": 1500})
        async with (
            running_write_api(publisher) as base,
            aiohttp.ClientSession(base_url=base) as client,
        ):
            assert (await client.get("/healthz")).status == 503
            resp = await client.post("/api/v1/clear", json={"customerId": "1"})
            assert resp.status == 503
            body = await resp.json()
            assert body["error"] == "unavailable" and "did not store" in body["reason"]

    asyncio.run(main())


def test_products_loader_publishes_valid_rows_and_reports_bad_ones(
    kafka_bootstrap: str, kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    topic = kafka_client.create_topic(partitions=3, config={"cleanup.policy": "compact"})
    path = tmp_path / "products.csv"
    path.write_text(
        "productId,productName,price,stockQty\n"
        "1,IPhone 12,65000,768\n"
        "2,IPhone 13,oops,230\n"
        "3,Case,9.99,12\n"
        "4,,1,1\n"
    )
    cmd = [sys.executable, "-m", "apps.shopping_cart.products", "load", str(path)]
    cmd += ["--bootstrap", kafka_bootstrap, "--topic", topic]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert f"{path}:3: rejected: field 'price' is not a decimal number" in proc.stderr
    assert f"{path}:5: rejected: field 'productName' must be non-empty" in proc.stderr
    assert "published 2 product(s)" in proc.stdout
    records = kafka_client.consume(topic, None)
    got = {r.key: json.loads(r.value) for r in records}
    assert got == {
        b"1": {"productId": "1", "productName": "IPhone 12", "price": "65000.00", "stockQty": 768},
        b"3": {"productId": "3", "productName": "Case", "price": "9.99", "stockQty": 12},
    }


def _produce(bootstrap: str, topic: str, records: Sequence[tuple[str, str | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for key, value in records:
        producer.produce(topic, None if value is None else value.encode(), key.encode())
    assert producer.flush(30) == 0


def _run_connector_until(
    connector: CartDetailsConnector, want: int, *, settle: float = 1.0, timeout: float = 30.0
) -> None:
    """Poll until ``want`` rows were applied, then keep polling ``settle`` s (catching extras)."""
    connector.assign()
    deadline = time.monotonic() + timeout
    while connector.applied < want and time.monotonic() < deadline:
        connector.poll_once(0.2)
    end = time.monotonic() + settle
    while time.monotonic() < end:
        connector.poll_once(0.1)
    connector.close()


def cart(customer: str, version: int) -> str:
    return json.dumps({"customerId": customer, "version": version})


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_read_model_is_exactly_once_across_restarts(
    kafka_bootstrap: str,
    kafka_client: KafkaTestClient,
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    topic = kafka_client.create_topic(partitions=3, config={"cleanup.policy": "compact"})
    if backend == "sqlite":
        db_path = str(tmp_path / "read.db")
    else:
        db_path = request.getfixturevalue("postgres_url")
    first = [(f"c{i}", cart(f"c{i}", 1)) for i in range(30)]
    _produce(kafka_bootstrap, topic, first)

    db = open_db(db_path)
    db.ensure_schema()
    c1 = CartDetailsConnector(kafka_bootstrap, db, topic=topic, group_id=topic)
    _run_connector_until(c1, 30)
    assert c1.applied == 30 and db.count_carts() == 30
    db.close()

    # While it is down: updates, a tombstone, new customers.
    second = [("c0", cart("c0", 2)), ("c1", None), *[(f"n{i}", cart(f"n{i}", 1)) for i in range(5)]]
    _produce(kafka_bootstrap, topic, second)

    db = open_db(db_path)
    c2 = CartDetailsConnector(kafka_bootstrap, db, topic=topic, group_id=topic)
    _run_connector_until(c2, len(second))
    assert c2.applied == len(second)  # nothing re-applied, nothing lost
    assert db.count_carts() == 30 - 1 + 5
    assert json.loads(db.get_cart("c0") or "")["version"] == 2
    assert db.get_cart("c1") is None
    assert sum(db.stored_offsets(topic).values()) == 30 + len(second)

    # A third start with nothing new applies nothing.
    c3 = CartDetailsConnector(kafka_bootstrap, db, topic=topic, group_id=topic)
    _run_connector_until(c3, 0, settle=1.5)
    assert c3.applied == 0
    db.close()

    async def read() -> None:
        async with (
            running_read_api(open_db(db_path)) as base,
            aiohttp.ClientSession(base_url=base) as client,
        ):
            resp = await client.get("/api/v1/n3")
            assert resp.status == 200 and (await resp.json()) == {"customerId": "n3", "version": 1}
            assert (await client.get("/api/v1/c1")).status == 404

    asyncio.run(read())


def test_read_model_runs_in_a_thread_and_stops(
    kafka_bootstrap: str, kafka_client: KafkaTestClient, tmp_path: Path
) -> None:
    topic = kafka_client.create_topic(partitions=1)
    db = open_db(str(tmp_path / "t.db"))
    db.ensure_schema()
    connector = CartDetailsConnector(kafka_bootstrap, db, topic=topic, group_id=topic)
    stop = threading.Event()
    worker = threading.Thread(target=connector.run, args=(stop,))
    worker.start()
    try:
        _produce(kafka_bootstrap, topic, [("x", cart("x", 7))])
        deadline = time.monotonic() + 20
        found: Any = None
        while found is None and time.monotonic() < deadline:
            found = db.get_cart("x")
            time.sleep(0.05)
        assert found is not None and json.loads(found)["version"] == 7
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    db.close()
