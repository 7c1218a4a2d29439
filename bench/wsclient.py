"""A lean graphql-transport-ws subscriber for the `subscribers` figure: one asyncio Protocol per socket, no task.

Thousands of sockets in one client process must cost the client little, or the figure measures the client:
so the opening handshake and the frames are spoken by hand (RFC 6455: client frames masked, server frames
not; no extension offered). Each socket sends `connection_init`, then on `connection_ack` its `subscribe`,
answers pings, and notes when its first `next` arrives. Anything else (an `error`, a close, a refused
handshake) is an error with its reason.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (FIN, masked)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


class Subscriber(asyncio.Protocol):
    """One socket, one subscription. `on_event(arrived_at, message)`, `on_error(reason)`, `on_open()`."""

    def __init__(self, host: str, port: int, path: str, document: str, on_open: Callable[[], None],
                 on_event: Callable[[float, dict[str, Any]], None], on_error: Callable[[str], None]) -> None:
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode()
        self.subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}).encode()
        self.on_open, self.on_event, self.on_error = on_open, on_event, on_error
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.done = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # acknowledged or failed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(f"connection lost: {exc}")

    def fail(self, reason: str) -> None:
        if not self.done:
            self.done = True
            self.on_error(reason)
        if not self.ready.done():
            self.ready.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        self.done = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(CLOSE, struct.pack("!H", 1000)))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            if not head.startswith(b"HTTP/1.1 101"):
                status = head.split(b"\r\n", 1)[0].decode(errors="replace")
                self.fail(f"handshake refused: {status}")
                return
            self.upgraded = True
            self.send(json.dumps({"type": "connection_init"}).encode())
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            n, at = second & 0x7F, 2
            if n == 126:
                if len(self.buffer) < 4:
                    return
                n, at = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif n == 127:
                if len(self.buffer) < 10:
                    return
                n, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if len(self.buffer) < at + n:
                return
            payload, self.buffer = self.buffer[at:at + n], self.buffer[at + n:]
            self.frame(first & 0x0F, payload, arrived)

    def send(self, payload: bytes, opcode: int = TEXT) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(opcode, payload))

    def frame(self, opcode: int, payload: bytes, arrived: float) -> None:
        if opcode == PING:
            self.send(payload, PONG)
            return
        if opcode == CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.fail(f"closed by the server: {code} {payload[2:].decode(errors='replace')}")
            return
        if opcode != TEXT:
            return
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "connection_ack":
            self.send(self.subscribe)
            self.on_open()
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "next" and "errors" not in message.get("payload", {}):
            self.on_event(arrived, message)
        elif kind in ("ping", "pong"):
            if kind == "ping":
                self.send(b'{"type":"pong"}')
        else:
            self.fail(f"unexpected message: {payload[:300].decode(errors='replace')}")
