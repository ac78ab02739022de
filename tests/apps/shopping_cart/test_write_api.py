"""The write API over HTTP (its own server, a real socket) with an in-memory publisher:
validation, 202 only when stored, 503, routing, and the HTTP/1.1 details the lean server owns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from apps.shopping_cart.events import decode_event
from apps.shopping_cart.publisher import Done
from apps.shopping_cart.write_api import MAX_BODY, running

EID = "0b9a3f5e-8f0b-4d7e-9b1e-3f1f4c2a9d10"


class FakePublisher:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, bytes]] = []
        self.fail: str | None = None
        self.healthy = True
        self.started = self.closed = False

    async def start(self) -> None:
        self.started = True

    def submit(self, topic: str, key: str, value: bytes, done: Done) -> None:
        if self.fail:
            # Like Kafka: the answer comes later, from the event loop.
            asyncio.get_running_loop().call_soon(done, self.fail)
            return
        self.records.append((topic, key, value))
        asyncio.get_running_loop().call_soon(done, None)

    async def close(self) -> None:
        self.closed = True


class Client:
    """An aiohttp client session bound to the server's base URL."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def post(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.session.post(self.base + path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.session.get(self.base + path, **kwargs)


Scenario = Callable[[Client, FakePublisher], Awaitable[None]]


def run(scenario: Scenario) -> FakePublisher:
    publisher = FakePublisher()

    async def main() -> None:
        async with running(publisher) as base, aiohttp.ClientSession() as session:
            await scenario(Client(session, base), publisher)

    asyncio.run(main())
    assert publisher.started and publisher.closed
    return publisher


@pytest.mark.parametrize(
    ("path", "body", "etype"),
    [
        ("add", {"customerId": "123", "itemId": "1", "qty": 1}, "ITEM_ADDED"),
        ("remove", {"customerId": "123", "itemId": "2", "qty": 1}, "ITEM_REMOVED"),
        ("remove", {"customerId": "123", "itemId": "2"}, "ITEM_REMOVED"),
        ("clear", {"customerId": "123"}, "CART_CLEARED"),
        ("checkout", {"customerId": "123"}, "CHECKED_OUT"),
    ],
)
def test_accepted_commands_are_published(path: str, body: dict[str, Any], etype: str) -> None:
    answers: list[dict[str, Any]] = []

    async def scenario(client: Client, pub: FakePublisher) -> None:
        resp = await client.post(f"/api/v1/{path}", json=body)
        assert resp.status == 202
        assert resp.content_type == "application/json"
        answers.append(await resp.json())

    pub = run(scenario)
    assert len(pub.records) == 1
    topic, key, value = pub.records[0]
    event = decode_event(value)
    assert topic == "cart-events" and key == "123"
    assert event.type == etype and event.customer_id == "123"
    assert event.event_id == answers[0]["eventId"]
    assert event.qty == body.get("qty") and event.item_id == body.get("itemId")


def test_client_event_id_is_kept() -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        resp = await client.post("/api/v1/clear", json={"customerId": "7", "eventId": EID})
        assert resp.status == 202 and (await resp.json()) == {"eventId": EID}

    assert decode_event(run(scenario).records[0][2]).event_id == EID


BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("add", b"{not json", "not valid JSON"),
    ("add", b"", "not valid JSON"),
    ("add", b"\xff\xfe", "not valid JSON"),
    ("add", b"[1]", "must be a JSON object"),
    ("add", b'{"customerId":"1","itemId":"1"}', "missing field 'qty'"),
    ("add", b'{"itemId":"1","qty":1}', "missing field 'customerId'"),
    ("add", b'{"customerId":1,"itemId":"1","qty":1}', "must be a string"),
    ("add", b'{"customerId":"1","itemId":"1","qty":"1"}', "must be an integer"),
    ("add", b'{"customerId":"1","itemId":"1","qty":1.0}', "must be an integer"),
    ("add", b'{"customerId":"1","itemId":"1","qty":0}', "between 1 and 1000"),
    ("add", b'{"customerId":"1","itemId":"1","qty":-2}', "between 1 and 1000"),
    ("add", b'{"customerId":"1","itemId":"1","qty":1001}', "between 1 and 1000"),
    ("add", b'{"customerId":"1","itemId":"1","qty":1,"price":5}', "unknown field"),
    ("remove", b'{"customerId":"1"}', "missing field 'itemId'"),
    ("checkout", b'{"customerId":"1","itemId":"1"}', "unknown field"),
    ("clear", b'{"customerId":"1","eventId":"abc"}', "not a UUID"),
    ("add", b'{"customerId":"1","itemId":"1","qty":1,"pad":"' + b"x" * MAX_BODY + b'"}', "limit"),
]


@pytest.mark.parametrize(("path", "raw", "reason"), BAD_INPUTS)
def test_bad_input_is_400_and_produces_nothing(path: str, raw: bytes, reason: str) -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        resp = await client.post(
            f"/api/v1/{path}", data=raw, headers={"Content-Type": "application/json"}
        )
        assert resp.status == 400
        body = await resp.json()
        assert body["error"] == "bad_request" and reason in body["reason"]

    assert run(scenario).records == []


def test_chunked_body_over_the_limit_is_400() -> None:
    async def chunks() -> Any:
        for _ in range(5):
            yield b" " * 4096

    async def scenario(client: Client, pub: FakePublisher) -> None:
        resp = await client.post("/api/v1/add", data=chunks())
        assert resp.status == 400 and "limit" in (await resp.json())["reason"]

    assert run(scenario).records == []


def test_publish_failure_is_503_never_2xx() -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        pub.fail = "the producer queue is full"
        resp = await client.post("/api/v1/checkout", json={"customerId": "1"})
        assert resp.status == 503
        assert await resp.json() == {"error": "unavailable", "reason": "the producer queue is full"}

    assert run(scenario).records == []


def test_wrong_method_and_unknown_path() -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        assert (await client.get("/api/v1/add")).status == 405
        assert (await client.post("/api/v1/explode", json={})).status == 404

    assert run(scenario).records == []


def test_healthz_follows_the_publisher() -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        assert (await client.get("/healthz")).status == 200
        pub.healthy = False
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["error"] == "unavailable"

    run(scenario)


def test_openapi_lists_the_commands() -> None:
    async def scenario(client: Client, pub: FakePublisher) -> None:
        resp = await client.get("/openapi.json")
        spec = json.loads(await resp.text())
        assert resp.status == 200 and spec["openapi"].startswith("3.")
        for path in ("add", "remove", "clear", "checkout"):
            op = spec["paths"][f"/api/v1/{path}"]["post"]
            assert {"202", "400", "503"} <= set(op["responses"])
        add = spec["paths"]["/api/v1/add"]["post"]["requestBody"]["content"]
        schema = add["application/json"]["schema"]
        assert schema["required"] == ["customerId", "itemId", "qty"]
        assert schema["additionalProperties"] is False

    run(scenario)


def test_loadgen_write_mode_drives_the_api_and_counts_every_answer() -> None:
    from apps.shopping_cart.loadgen import write_load

    publisher = FakePublisher()

    async def main() -> str:
        async with running(publisher) as base:
            return await write_load(base, 200, 8, 10)

    report = asyncio.run(main())
    assert "statuses {202: 200}" in report and "cpu loadgen" in report
    assert len(publisher.records) == 200
    assert {key for _, key, _ in publisher.records} == {f"c{i}" for i in range(10)}
