"""A lean HTTP/1.1 keep-alive client for the load generator.

aiohttp's client costs about as much CPU per request as the server it measures, so on a small
machine the generator became the bottleneck. Here a :class:`Pool` keeps ``size`` keep-alive
connections (one :class:`asyncio.Protocol` each, one request in flight per connection) and calls
``callback(status, body)`` when a response is complete: no task, future or response object per
request. Only what the shopping-cart services answer is supported: ``Content-Length`` bodies
(``Connection: close`` from the server reconnects).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, cast
from urllib.parse import urlsplit

#: ``callback(status, body)``; status 0 means the connection failed before an answer.
Callback = Callable[[int, bytes], None]

_CL: Final = b"\r\ncontent-length:"


class _Conn(asyncio.Protocol):
    """One keep-alive connection; the pool gives it one request at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.callback: Callback | None = None
        self.buffer = b""
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        callback, self.callback = self.callback, None
        if callback is not None:
            callback(0, b"")
        self.pool._lost(self)

    def send(self, data: bytes, callback: Callback) -> None:
        assert self.transport is not None and self.callback is None
        self.callback = callback
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buf
            return
        head = buf[:end].lower()
        at = head.find(_CL)
        if at < 0:
            length = 0
        else:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + len(_CL) : stop if stop >= 0 else None])
        total = end + 4 + length
        if len(buf) < total:
            self.buffer = buf
            return
        self.buffer = buf[total:]
        status = int(head[9:12])
        if status == 100:  # an interim answer: the real one follows
            self.data_received(b"")
            return
        callback, self.callback = self.callback, None
        if b"\r\nconnection: close" in head and self.transport is not None:
            self.transport.close()  # connection_lost replaces this connection
        else:
            self.pool._idle(self)
        if callback is not None:
            callback(status, buf[end + 4 : total])


class Pool:
    """Up to ``size`` keep-alive connections to one HTTP server; requests queue when all busy."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.size = size
        self.host_header = f"{self.host}:{self.port}".encode()
        self._free: list[_Conn] = []
        self._waiting: deque[tuple[bytes, Callback]] = deque()
        self._open = 0
        self._connecting: set[asyncio.Task[None]] = set()  # strong references until done

    async def connect(self) -> None:
        """Open all ``size`` connections now (so connecting is not timed)."""
        loop = asyncio.get_running_loop()
        for _ in range(self.size - self._open):
            _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
            self._open += 1
            self._free.append(conn)

    def post_json(self, path: str, body: bytes, callback: Callback) -> None:
        """POST ``body`` (JSON bytes) to ``path``."""
        self.send(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self.host_header, len(body), body),
            callback,
        )

    def get(self, path: str, callback: Callback) -> None:
        """GET ``path``."""
        self.send(
            b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), self.host_header), callback
        )

    def send(self, request: bytes, callback: Callback) -> None:
        """Send raw request bytes on a free connection, or queue them."""
        if self._free:
            self._free.pop().send(request, callback)
        else:
            self._waiting.append((request, callback))
            if self._open < self.size:
                self._open += 1
                self._spawn_connect()

    def _idle(self, conn: _Conn) -> None:
        if self._waiting:
            conn.send(*self._waiting.popleft())
        else:
            self._free.append(conn)

    def _lost(self, conn: _Conn) -> None:
        if conn in self._free:
            self._free.remove(conn)
        self._open -= 1
        if self._waiting and self._open < self.size:
            self._open += 1
            self._spawn_connect()

    def _spawn_connect(self) -> None:
        task = asyncio.get_running_loop().create_task(self._reconnect())
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _reconnect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
        except OSError:
            self._open -= 1
            if self._waiting:
                callback = self._waiting.popleft()[1]
                callback(0, b"")
            return
        self._idle(conn)

    def close(self) -> None:
        """Close every idle connection."""
        for conn in self._free:
            if conn.transport is not None:
                conn.transport.close()
        self._free.clear()
