"""The lean HTTP/1.1 server and client of the write API and the load generator, over sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from apps.shopping_cart.http_client import Pool
from apps.shopping_cart.http_server import MAX_HEAD, Request, Respond, start_server

MAX_BODY = 64


def too_large(size: int) -> bytes:
    return b'{"error":"bad_request","reason":"over the limit: %d"}' % size


class Echo:
    """Answers 200 with the method, path and body; ``/late`` answers from a timer, ``/boom``
    raises."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    def __call__(self, request: Request, respond: Respond) -> None:
        self.seen.append(request)
        body = json.dumps(
            {"method": request.method, "path": request.path, "body": request.body.decode()}
        ).encode()
        if request.path == "/boom":
            raise RuntimeError("boom")
        if request.path == "/late":
            asyncio.get_running_loop().call_later(0.05, respond, 202, body, b"")
        else:
            respond(200, body, b"X-Test: 1\r\n")


Scenario = Callable[[int, Echo], Awaitable[None]]


def run(scenario: Scenario) -> Echo:
    echo = Echo()

    async def main() -> None:
        server = await start_server(echo, "127.0.0.1", 0, max_body=MAX_BODY, too_large=too_large)
        try:
            await scenario(server.sockets[0].getsockname()[1], echo)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    return echo


async def exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw``, then read until the server closes the connection (or 2 s pass)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(-1), 2.0)
    except TimeoutError:
        return b"<still open>"
    finally:
        writer.close()


def responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split a byte stream of Content-Length responses into (status, headers, body)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = int(headers.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return out


def post(path: str, body: bytes, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return (
        f"POST {path} {version}\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def test_pipelined_keep_alive_requests_are_answered_in_order() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        raw = (
            post("/late", b"one")
            + post("/a?x=1", b"two")
            + post("/b", b"", "Connection: close\r\n")
        )
        got = responses(await exchange(port, raw))
        assert [s for s, _, _ in got] == [202, 200, 200]
        assert [json.loads(b)["body"] for _, _, b in got] == ["one", "two", ""]
        assert json.loads(got[1][2])["path"] == "/a"  # the query string is not the path
        assert got[1][1]["x-test"] == "1" and got[1][1]["content-type"] == "application/json"
        assert "date" in got[0][1] and got[2][1]["connection"] == "close"

    run(scenario)


def test_http_1_0_closes_after_the_answer() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        got = responses(await exchange(port, post("/a", b"x", version="HTTP/1.0")))
        assert len(got) == 1 and got[0][0] == 200 and got[0][1]["connection"] == "close"

    run(scenario)


def test_body_over_the_limit_is_refused_unread_and_closes() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        got = responses(await exchange(port, post("/a", b"y" * (MAX_BODY + 1))))
        assert got == [(400, got[0][1], b'{"error":"bad_request","reason":"over the limit: 65"}')]
        assert echo.seen == []

    run(scenario)


def test_chunked_bodies_are_decoded_and_limited() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        head = (
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"
        )
        got = responses(await exchange(port, head + b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"))
        assert got[0][0] == 200 and json.loads(got[0][2])["body"] == "abcde"
        big = b"40\r\n" + b"z" * 64 + b"\r\n1\r\nz\r\n0\r\n\r\n"
        got = responses(await exchange(port, head + big))
        assert got[0][0] == 400 and b"over the limit" in got[0][2]
        got = responses(await exchange(port, head + b"zz\r\n"))
        assert got[0][0] == 400 and b"chunk size" in got[0][2]

    run(scenario)


def test_expect_100_continue_gets_an_interim_answer() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(b"ok")
        status = await asyncio.wait_for(reader.readline(), 2)
        assert status.startswith(b"HTTP/1.1 200 ")
        writer.close()

    run(scenario)


def test_malformed_requests_are_refused() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        cases = [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET /a HTTP/2.0\r\n\r\n", 505),
            (b"GET /a HTTP/1.1\r\nBad header\r\n\r\n", 400),
            (b"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET /a HTTP/1.1\r\nX: " + b"h" * MAX_HEAD + b"\r\n\r\n", 431),
        ]
        for raw, status in cases:
            got = responses(await exchange(port, raw))
            assert [s for s, _, _ in got] == [status], raw[:40]
            assert got[0][1]["connection"] == "close"
        assert echo.seen == []

    run(scenario)


def test_a_failing_handler_answers_500() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        got = responses(await exchange(port, post("/boom", b"")))
        assert [s for s, _, _ in got] == [500]

    run(scenario)


def test_pool_client_reuses_connections_and_reconnects_after_close() -> None:
    async def scenario(port: int, echo: Echo) -> None:
        pool = Pool(f"http://127.0.0.1:{port}", 2)
        await pool.connect()
        answers: list[tuple[int, Any]] = []
        done = asyncio.Event()

        def got(status: int, body: bytes) -> None:
            answers.append((status, json.loads(body) if body else None))
            if len(answers) == 5:
                done.set()

        for i in range(3):
            pool.post_json("/late", b'{"i":%d}' % i, got)
        pool.send(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", got)  # server closes after
        pool.get("/y", got)
        await asyncio.wait_for(done.wait(), 5)
        pool.close()
        assert sorted(s for s, _ in answers) == [200, 200, 202, 202, 202]
        bodies = sorted(b["body"] for s, b in answers if s == 202)
        assert bodies == ['{"i":0}', '{"i":1}', '{"i":2}']
        assert {b["path"] for s, b in answers if s == 200} == {"/x", "/y"}

    run(scenario)


def test_pool_reports_status_0_when_the_server_is_gone() -> None:
    async def main() -> None:
        server = await start_server(Echo(), "127.0.0.1", 0, max_body=8, too_large=too_large)
        port = server.sockets[0].getsockname()[1]
        pool = Pool(f"http://127.0.0.1:{port}", 1)
        server.close()
        await server.wait_closed()
        result: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        pool.get("/", lambda status, body: result.set_result(status))
        assert await asyncio.wait_for(result, 5) == 0

    asyncio.run(main())
