"""The write API: HTTP commands become events on ``cart-events`` (key = customerId).

``python -m apps.shopping_cart.write_api --port 8080 [--bootstrap B]``

* ``POST /api/v1/add`` ``{customerId, itemId, qty}``, ``/api/v1/remove`` ``{customerId, itemId,
  qty?}``, ``/api/v1/checkout`` ``{customerId}``, ``/api/v1/clear`` ``{customerId}``; each may carry
  its own ``eventId`` (a UUID) so that a client retry is applied once.
* 400 with ``{"error", "reason"}`` for invalid JSON, a non-object, missing or unknown fields, wrong
  types, qty not in 1..1000, or a body over 16 KiB; nothing is produced.
* 202 ``{"eventId"}`` only after Kafka acknowledged the write (acks=all, idempotent producer);
  503 with a reason when it did not (never a 2xx for a write that was not stored).
* ``GET /healthz``: 200 once the producer has reached the broker, else 503. ``GET /openapi.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from apps.shopping_cart.events import InvalidEvent, command_to_event
from apps.shopping_cart.openapi import write_api_spec
from apps.shopping_cart.publisher import KafkaPublisher, Publisher, PublishError
from apps.shopping_cart.settings import (
    CART_EVENTS,
    add_bootstrap_arg,
    add_partitions_arg,
    log_ready,
    resolve_bootstrap,
    run_async,
    setup_logging,
)
from apps.shopping_cart.topics import ensure_topics

log = logging.getLogger(__name__)

MAX_BODY: Final = 16 * 1024
PUBLISHER_KEY: Final = web.AppKey("publisher", Publisher)
TOPIC_KEY: Final = web.AppKey("topic", str)


class BadRequest(Exception):
    """A request the API refuses with 400; the message is the reason given to the client."""


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
    )


def _error(status: int, error: str, reason: str) -> web.Response:
    return _json_response(status, {"error": error, "reason": reason})


async def _read_body(request: web.Request) -> bytes:
    """The body, refusing more than MAX_BODY bytes without reading them all."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise BadRequest(f"the body is {length} bytes; the limit is {MAX_BODY}")
    data = bytearray()
    async for chunk in request.content.iter_any():
        data += chunk
        if len(data) > MAX_BODY:
            raise BadRequest(f"the body is over the limit of {MAX_BODY} bytes")
    return bytes(data)


def _command_handler(command: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            raw = await _read_body(request)
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest(f"the body is not valid JSON: {exc}") from None
            event = command_to_event(command, body)
        except (BadRequest, InvalidEvent) as exc:
            return _error(400, "bad_request", str(exc))
        publisher = request.app[PUBLISHER_KEY]
        try:
            await publisher.publish(request.app[TOPIC_KEY], event.customer_id, event.to_bytes())
        except PublishError as exc:
            return _error(503, "unavailable", str(exc))
        return _json_response(202, {"eventId": event.event_id})

    return handle


async def _healthz(request: web.Request) -> web.Response:
    if request.app[PUBLISHER_KEY].healthy:
        return _json_response(200, {"status": "ok"})
    return _error(503, "unavailable", "the producer has not reached the Kafka broker")


async def _openapi(request: web.Request) -> web.Response:
    return _json_response(200, write_api_spec())


def create_app(publisher: Publisher, *, topic: str = CART_EVENTS) -> web.Application:
    """The aiohttp application; ``publisher`` is started and closed with the app."""
    app = web.Application(client_max_size=MAX_BODY * 4)
    app[PUBLISHER_KEY] = publisher
    app[TOPIC_KEY] = topic
    for command in ("add", "remove", "checkout", "clear"):
        app.router.add_post(f"/api/v1/{command}", _command_handler(command))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/openapi.json", _openapi)

    async def lifecycle(app: web.Application) -> Any:
        await publisher.start()
        yield
        await publisher.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def serve(host: str, port: int, bootstrap: str, partitions: int) -> None:
    """Run until SIGINT/SIGTERM."""
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: ensure_topics(bootstrap, [CART_EVENTS], partitions=partitions)
    )
    app = create_app(KafkaPublisher(bootstrap))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    log_ready("write_api", url=f"http://{host}:{port}", bootstrap=bootstrap)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.write_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    add_bootstrap_arg(parser)
    add_partitions_arg(parser)
    args = parser.parse_args(argv)
    setup_logging()
    run_async(serve(args.host, args.port, resolve_bootstrap(args.bootstrap), args.partitions))


if __name__ == "__main__":
    main()
