"""A lean HTTP/1.1 server on asyncio for the write API's hot path.

Why not aiohttp's server: a write request's own work (parse a small JSON body, validate it,
hand one record to librdkafka) costs tens of microseconds, and aiohttp's per-request machinery
(request and response objects, a task per request, routing, header multidicts, stream readers)
cost several times that. This server keeps one :class:`asyncio.Protocol` per connection and calls
the handler with the request's method, path and body plus a ``respond`` callback; the handler may
answer at once or later (the write API answers from the Kafka delivery report), so no task or
future exists per request.

What it implements: HTTP/1.0 and 1.1, keep-alive (1.1 by default, 1.0 with
``Connection: keep-alive``), ``Connection: close``, pipelined requests answered in order (one at
a time per connection), ``Content-Length`` and ``Transfer-Encoding: chunked`` bodies, ``Expect:
100-continue``, a body limit (answered through the handler's ``too_large`` reason, then the
connection is closed because the rest of the body is not read), a head limit (431), malformed
requests (400) and unsupported versions (505), and idle keep-alive connections closed after
:data:`IDLE_TIMEOUT_S`. Responses carry ``Date``, ``Content-Type`` and ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import formatdate
from typing import Final, cast

log = logging.getLogger(__name__)

MAX_HEAD: Final = 8 * 1024
IDLE_TIMEOUT_S: Final = 75.0

REASONS: Final[dict[int, str]] = {
    100: "Continue",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


@dataclass(slots=True)
class Request:
    """One parsed request: the method, the path (query string removed) and the whole body."""

    method: str
    path: str
    body: bytes


#: ``respond(status, body, extra_headers)``: ``extra_headers`` is raw ``Name: value\r\n`` lines.
Respond = Callable[[int, bytes, bytes], None]
#: ``handler(request, respond)``: must call ``respond`` exactly once, now or later.
Handler = Callable[[Request, Respond], None]
#: ``too_large(size)``: the 400 body for a request body over the limit (``size`` may be a lower
#: bound for a chunked body).
TooLarge = Callable[[int], bytes]


class _Clock:
    """The ``Date`` header, formatted once per second."""

    second = -1
    header = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.header = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return cls.header


def _response_head(status: int, length: int, close: bool, extra: bytes) -> bytes:
    reason = REASONS.get(status, "Unknown")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason.encode()),
            _Clock.date(),
            b"Content-Type: application/json\r\nContent-Length: %d\r\n" % length,
            b"Connection: close\r\n" if close else b"",
            extra,
            b"\r\n",
        )
    )


class _Incomplete(Exception):
    """More bytes are needed to finish the request."""


class _Refused(Exception):
    """A request the server answers itself (then closes the connection)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _error_body(reason: str) -> bytes:
    # Hand-rendered: the reasons here are fixed ASCII text without quotes or backslashes.
    return b'{"error":"bad_request","reason":"%s"}' % reason.encode()


class HttpProtocol(asyncio.Protocol):
    """One client connection: parse requests from the byte stream, answer them in order."""

    def __init__(self, handler: Handler, max_body: int, too_large: TooLarge) -> None:
        self._handler = handler
        self._max_body = max_body
        self._too_large = too_large
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._busy = False  # a request is with the handler; later ones wait in the buffer
        self._close_after = False
        self._continue_sent = False
        self._paused = False
        self._last_active = time.monotonic()  # the idle timer closes connections quiet for long
        self._idle: asyncio.TimerHandle | None = None

    # --- asyncio callbacks -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._idle is not None:
            self._idle.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer = self._buffer + data if self._buffer else data
        if not self._busy:
            self._process()
        elif len(self._buffer) > MAX_HEAD + self._max_body and self._transport is not None:
            self._transport.pause_reading()  # a pipelining client is far ahead: wait
            self._paused = True

    # --- parsing -----------------------------------------------------------------------------

    def _process(self) -> None:
        while not self._busy and self._buffer and self._transport is not None:
            try:
                request, keep_alive, consumed = self._parse()
            except _Incomplete:
                return
            except _Refused as refused:
                self._close_after = True
                self._busy = True
                self._respond(refused.status, refused.body, b"")
                return
            self._buffer = self._buffer[consumed:]
            self._busy = True
            self._close_after = not keep_alive
            self._continue_sent = False
            try:
                self._handler(request, self._respond)
            except Exception:
                log.exception("the handler failed on %s %s", request.method, request.path)
                if self._busy:
                    self._close_after = True
                    self._respond(500, b'{"error":"internal","reason":"see the server log"}', b"")

    def _parse(self) -> tuple[Request, bool, int]:
        buf = self._buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise _Refused(431, _error_body(f"the request head is over {MAX_HEAD} bytes"))
            raise _Incomplete
        if end > MAX_HEAD:
            raise _Refused(431, _error_body(f"the request head is over {MAX_HEAD} bytes"))
        lines = buf[:end].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1].startswith(b"/"):
            raise _Refused(400, _error_body("malformed request line"))
        method, target, version = parts
        if version == b"HTTP/1.1":
            keep_alive = True
        elif version == b"HTTP/1.0":
            keep_alive = False
        else:
            raise _Refused(505, _error_body("only HTTP/1.0 and HTTP/1.1 are supported"))
        length: int | None = None
        chunked = expect_continue = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise _Refused(400, _error_body("malformed header line"))
            name = name.lower()
            if name == b"content-length":
                value = value.strip()
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise _Refused(400, _error_body("invalid Content-Length"))
                length = int(value)
            elif name == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise _Refused(400, _error_body("only chunked Transfer-Encoding is supported"))
                chunked = True
            elif name == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
            elif name == b"expect" and value.strip().lower() == b"100-continue":
                expect_continue = True
        if chunked and length is not None:
            raise _Refused(400, _error_body("both Content-Length and chunked encoding"))
        start = end + 4
        if length is not None and length > self._max_body:
            raise _Refused(400, self._too_large(length))
        if expect_continue and not self._continue_sent and len(buf) == start:
            self._continue_sent = True
            if self._transport is not None:
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if chunked:
            body, consumed = self._dechunk(buf, start)
        else:
            consumed = start + (length or 0)
            if len(buf) < consumed:
                raise _Incomplete
            body = buf[start:consumed]
        path = target.split(b"?", 1)[0].decode("latin-1")
        return Request(method.decode("latin-1"), path, body), keep_alive, consumed

    def _dechunk(self, buf: bytes, pos: int) -> tuple[bytes, int]:
        """The decoded body and the end of the chunked message (trailers are skipped)."""
        chunks: list[bytes] = []
        size_total = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                raise _Incomplete
            size_text = buf[pos:eol].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _Refused(400, _error_body("malformed chunk size")) from None
            size_total += size
            if size_total > self._max_body:
                raise _Refused(400, self._too_large(size_total))
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if buf[eol : eol + 4] == b"\r\n\r\n":
                    return b"".join(chunks), eol + 4
                if trailer_end < 0:
                    raise _Incomplete
                return b"".join(chunks), trailer_end + 4
            data_end = eol + 2 + size
            if len(buf) < data_end + 2:
                raise _Incomplete
            if buf[data_end : data_end + 2] != b"\r\n":
                raise _Refused(400, _error_body("malformed chunk"))
            chunks.append(buf[eol + 2 : data_end])
            pos = data_end + 2

    # --- answering ---------------------------------------------------------------------------

    def _respond(self, status: int, body: bytes, extra: bytes) -> None:
        if not self._busy:
            raise RuntimeError("respond() called twice for one request")
        self._busy = False
        transport = self._transport
        if transport is None or transport.is_closing():
            return  # the client went away while Kafka was acknowledging
        transport.write(_response_head(status, len(body), self._close_after, extra) + body)
        if self._close_after:
            transport.close()
            return
        self._last_active = time.monotonic()
        if self._paused and len(self._buffer) <= MAX_HEAD + self._max_body:
            self._paused = False
            transport.resume_reading()
        if self._buffer:
            self._process()

    def _check_idle(self) -> None:
        """Close a keep-alive connection without a request for IDLE_TIMEOUT_S (one timer each)."""
        if self._transport is None:
            return
        quiet = time.monotonic() - self._last_active
        if not self._busy and quiet >= IDLE_TIMEOUT_S:
            self._transport.close()
            return
        wait = IDLE_TIMEOUT_S - quiet if not self._busy else IDLE_TIMEOUT_S
        self._idle = asyncio.get_running_loop().call_later(wait, self._check_idle)


async def start_server(
    handler: Handler, host: str, port: int, *, max_body: int, too_large: TooLarge
) -> asyncio.Server:
    """Listen on ``host:port`` (port 0: any free port) and serve ``handler``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: HttpProtocol(handler, max_body, too_large), host, port, backlog=1024
    )


@asynccontextmanager
async def serving(
    handler: Handler, host: str, port: int, *, max_body: int, too_large: TooLarge
) -> AsyncIterator[str]:
    """Serve ``handler`` on ``host:port`` (0: any free port); yield the base URL; stop serving."""
    server = await start_server(handler, host, port, max_body=max_body, too_large=too_large)
    bound = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.close()
        await server.wait_closed()
