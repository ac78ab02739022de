"""The read API: the latest cart of a customer, from the read DB.

``python -m apps.shopping_cart.read_api --port 7000 [--db PATH|URL]``

``GET /api/v1/{customerId}`` answers 200 with the cart JSON as the connector stored it, or 404
with ``{"error": "not_found", ...}``. ``GET /healthz`` is 200 while the DB answers. The schema is
created if missing, so the API answers (404) before the connector has written anything. DB calls
run in a thread pool, each thread with its own connection; the answer is written from the DB
call's completion callback on the lean server of :mod:`apps.shopping_cart.http_server` (a read is
a primary-key lookup: aiohttp's per-request machinery cost several times the lookup).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import unquote

from apps.shopping_cart.db import CartDB, open_db
from apps.shopping_cart.http_server import Request, Respond, serving
from apps.shopping_cart.openapi import read_api_spec
from apps.shopping_cart.settings import log_ready, run_async, setup_logging

log = logging.getLogger(__name__)

CART_PREFIX: Final = "/api/v1/"
MAX_BODY: Final = 16 * 1024
_encode = json.JSONEncoder(separators=(",", ":")).encode
_ALLOW_GET: Final = b"Allow: GET\r\n"


def _json(body: dict[str, Any]) -> bytes:
    return _encode(body).encode()


def _too_large(size: int) -> bytes:
    return _json({"error": "bad_request", "reason": f"the body is over {MAX_BODY} bytes"})


class ReadApi:
    """The routes of the read API as one :data:`~apps.shopping_cart.http_server.Handler`."""

    def __init__(self, db: CartDB, executor: ThreadPoolExecutor) -> None:
        self.db = db
        self.executor = executor
        self._openapi = _json(read_api_spec())

    def _db_call(
        self, respond: Respond, answer: Callable[[Any], tuple[int, bytes]], fn: Any, *args: Any
    ) -> None:
        """Run ``fn`` in the pool; respond with ``answer(result)`` (500 if ``fn`` raised)."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

        def done(f: asyncio.Future[Any]) -> None:
            exc = f.exception()
            if exc is not None:
                log.error("the read DB failed: %s", exc, exc_info=exc)
                respond(500, _json({"error": "internal", "reason": f"the DB failed: {exc}"}), b"")
                return
            status, body = answer(f.result())
            respond(status, body, b"")

        future.add_done_callback(done)

    def handle(self, request: Request, respond: Respond) -> None:
        """Route one request."""
        path = request.path
        if request.method != "GET":
            respond(405, _json({"error": "method_not_allowed", "reason": "GET only"}), _ALLOW_GET)
        elif path.startswith(CART_PREFIX) and len(path) > len(CART_PREFIX):
            customer_id = unquote(path[len(CART_PREFIX) :])
            if "/" in path[len(CART_PREFIX) :]:
                self._not_found(path, respond)
                return

            def cart_answer(cart: str | None) -> tuple[int, bytes]:
                if cart is None:
                    reason = f"no cart for customer {customer_id!r}"
                    body = {"error": "not_found", "reason": reason, "customerId": customer_id}
                    return 404, _json(body)
                return 200, cart.encode()

            self._db_call(respond, cart_answer, self.db.get_cart, customer_id)
        elif path == "/healthz":
            self._healthz(respond)
        elif path == "/openapi.json":
            respond(200, self._openapi, b"")
        else:
            self._not_found(path, respond)

    def _healthz(self, respond: Respond) -> None:
        future = asyncio.get_running_loop().run_in_executor(self.executor, self.db.ping)

        def done(f: asyncio.Future[Any]) -> None:
            exc = f.exception()
            if exc is None:
                respond(200, b'{"status":"ok"}', b"")
            else:
                reason = f"the DB failed: {exc}"
                respond(503, _json({"error": "unavailable", "reason": reason}), b"")

        future.add_done_callback(done)

    @staticmethod
    def _not_found(path: str, respond: Respond) -> None:
        respond(404, _json({"error": "not_found", "reason": f"no route GET {path}"[:300]}), b"")


@asynccontextmanager
async def running(
    db: CartDB, host: str = "127.0.0.1", port: int = 0, *, threads: int = 4
) -> AsyncIterator[str]:
    """Create the schema, serve ``db``; yield the base URL; stop and close the DB."""
    executor = ThreadPoolExecutor(threads, thread_name_prefix="read-db")
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(executor, db.ensure_schema)
        async with serving(
            ReadApi(db, executor).handle, host, port, max_body=MAX_BODY, too_large=_too_large
        ) as url:
            yield url
    finally:
        executor.shutdown(wait=True)
        db.close()


async def serve(host: str, port: int, db_target: str | None) -> None:
    """Run until SIGINT/SIGTERM."""
    async with running(open_db(db_target), host, port) as url:
        log_ready("read_api", url=url, db=db_target or "default")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.read_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    args = parser.parse_args(argv)
    setup_logging()
    run_async(serve(args.host, args.port, args.db))


if __name__ == "__main__":
    main()
