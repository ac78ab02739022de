"""The read API: the latest cart of a customer, from the read DB.

``python -m apps.shopping_cart.read_api --port 7000 [--db PATH|URL]``

``GET /api/v1/{customerId}`` answers 200 with the cart JSON as the connector stored it, or 404
with ``{"error": "not_found", ...}``. ``GET /healthz`` is 200 while the DB answers. The schema is
created if missing, so the API answers (404) before the connector has written anything. DB calls
run in a thread pool, each thread with its own connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from aiohttp import web

from apps.shopping_cart.db import CartDB, open_db
from apps.shopping_cart.openapi import read_api_spec
from apps.shopping_cart.settings import log_ready, run_async, setup_logging

log = logging.getLogger(__name__)

DB_KEY: Final = web.AppKey("db", CartDB)
EXECUTOR_KEY: Final = web.AppKey("executor", ThreadPoolExecutor)


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
    )


async def _db_call(app: web.Application, fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(app[EXECUTOR_KEY], fn, *args)


async def _get_cart(request: web.Request) -> web.Response:
    customer_id = request.match_info["customerId"]
    cart = await _db_call(request.app, request.app[DB_KEY].get_cart, customer_id)
    if cart is None:
        return _json_response(
            404,
            {
                "error": "not_found",
                "reason": f"no cart for customer {customer_id!r}",
                "customerId": customer_id,
            },
        )
    return web.Response(status=200, text=cart, content_type="application/json")


async def _healthz(request: web.Request) -> web.Response:
    try:
        await _db_call(request.app, request.app[DB_KEY].ping)
    except Exception as exc:
        return _json_response(503, {"error": "unavailable", "reason": f"the DB failed: {exc}"})
    return _json_response(200, {"status": "ok"})


async def _openapi(request: web.Request) -> web.Response:
    return _json_response(200, read_api_spec())


def create_app(db: CartDB, *, threads: int = 4) -> web.Application:
    """The aiohttp application over ``db`` (schema created at startup, DB closed at cleanup)."""
    app = web.Application()
    app[DB_KEY] = db
    app[EXECUTOR_KEY] = ThreadPoolExecutor(threads, thread_name_prefix="read-db")
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/api/v1/{customerId}", _get_cart)

    async def lifecycle(app: web.Application) -> Any:
        await _db_call(app, db.ensure_schema)
        yield
        app[EXECUTOR_KEY].shutdown(wait=True)
        db.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def serve(host: str, port: int, db_target: str | None) -> None:
    """Run until SIGINT/SIGTERM."""
    app = create_app(open_db(db_target))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    log_ready("read_api", url=f"http://{host}:{port}", db=db_target or "default")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


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
