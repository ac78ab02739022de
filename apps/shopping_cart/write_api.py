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

It runs on the lean server of :mod:`apps.shopping_cart.http_server`: a command is parsed and
validated in the protocol's callback, handed to librdkafka, and answered from its delivery report,
with no task, future or request object per request (several times cheaper than aiohttp's server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from apps.shopping_cart.events import InvalidEvent, command_to_event
from apps.shopping_cart.http_server import Request, Respond, serving
from apps.shopping_cart.openapi import write_api_spec
from apps.shopping_cart.publisher import KafkaPublisher, Publisher
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
COMMAND_PATHS: Final = {f"/api/v1/{c}": c for c in ("add", "remove", "checkout", "clear")}
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode
_ALLOW_POST: Final = b"Allow: POST\r\n"
_ALLOW_GET: Final = b"Allow: GET\r\n"


def _json(body: dict[str, Any]) -> bytes:
    return _encode(body).encode()


def _error(error: str, reason: str) -> bytes:
    return _json({"error": error, "reason": reason})


def too_large(size: int) -> bytes:
    """The 400 body for a request body over :data:`MAX_BODY`."""
    return _error("bad_request", f"the body is over the limit of {MAX_BODY} bytes ({size}+)")


def _parse_json(raw: bytes) -> Any:
    """``json.loads(raw)``; UTF-8 text is decoded directly (the common case, and cheaper)."""
    try:
        return _decode(raw.decode())
    except ValueError:
        return json.loads(raw)  # other encodings and BOMs, or the very error json.loads raises


class WriteApi:
    """The routes of the write API as one :data:`~apps.shopping_cart.http_server.Handler`."""

    def __init__(self, publisher: Publisher, *, topic: str = CART_EVENTS) -> None:
        self.publisher = publisher
        self.topic = topic
        self._openapi = _json(write_api_spec())

    def handle(self, request: Request, respond: Respond) -> None:
        """Route one request; commands are answered from the Kafka delivery report."""
        path, method = request.path, request.method
        command = COMMAND_PATHS.get(path)
        if command is not None:
            if method != "POST":
                respond(405, _error("method_not_allowed", f"{path} takes POST"), _ALLOW_POST)
            else:
                self._command(command, request.body, respond)
        elif path == "/healthz" or path == "/openapi.json":
            if method != "GET":
                respond(405, _error("method_not_allowed", f"{path} takes GET"), _ALLOW_GET)
            elif path == "/openapi.json":
                respond(200, self._openapi, b"")
            elif self.publisher.healthy:
                respond(200, b'{"status":"ok"}', b"")
            else:
                reason = "the producer has not reached the Kafka broker"
                respond(503, _error("unavailable", reason), b"")
        else:
            respond(404, _error("not_found", f"no route {method} {path}"[:300]), b"")

    def _command(self, command: str, raw: bytes, respond: Respond) -> None:
        try:
            try:
                body = _parse_json(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidEvent(f"the body is not valid JSON: {exc}") from None
            event = command_to_event(command, body)
        except InvalidEvent as exc:
            respond(400, _error("bad_request", str(exc)), b"")
            return
        accepted = b'{"eventId":"%s"}' % event.event_id.encode()  # a canonical UUID

        def done(error: str | None) -> None:
            if error is None:
                respond(202, accepted, b"")
            else:
                respond(503, _error("unavailable", error), b"")

        self.publisher.submit(self.topic, event.customer_id, event.to_bytes(), done)


@asynccontextmanager
async def running(
    publisher: Publisher, host: str = "127.0.0.1", port: int = 0, *, topic: str = CART_EVENTS
) -> AsyncIterator[str]:
    """Start ``publisher`` and the server; yield its base URL; stop both (flushing Kafka)."""
    await publisher.start()
    try:
        async with serving(
            WriteApi(publisher, topic=topic).handle,
            host,
            port,
            max_body=MAX_BODY,
            too_large=too_large,
        ) as url:
            yield url
    finally:
        await publisher.close()


async def serve(host: str, port: int, bootstrap: str, partitions: int) -> None:
    """Run until SIGINT/SIGTERM."""
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: ensure_topics(bootstrap, [CART_EVENTS], partitions=partitions)
    )
    async with running(KafkaPublisher(bootstrap), host, port) as url:
        log_ready("write_api", url=url, bootstrap=bootstrap)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


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
