"""The hub's HTTP client against a real local server: deliveries share one kept-alive connection when the answer
is short (read to its end), a long answer is not read (its connection is dropped), the status is what counts."""

from __future__ import annotations

import asyncio

from resolvers.callback_guard import PinnedTarget
from resolvers.workers.hub_http import ANSWER, HubClient


class CountingServer:
    """HTTP/1.1 keep-alive server answering each POST with `body` (status 200, or 204 when empty)."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        self.connections = 0
        self.requests = 0
        self.hosts: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> CountingServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                length = next((int(x.split(b":", 1)[1]) for x in lines if x.lower().startswith(b"content-length:")), 0)
                self.hosts += [x.split(b":", 1)[1].strip() for x in lines if x.lower().startswith(b"host:")]
                await reader.readexactly(length)
                self.requests += 1
                status = b"200 OK" if self.body else b"204 No Content"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(self.body)).encode()
                             + b"\r\n\r\n" + self.body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def target(port: int) -> PinnedTarget:
    return PinnedTarget(f"http://127.0.0.1:{port}/events", f"listener.example:{port}", "listener.example")


async def test_short_answers_keep_one_connection_for_every_delivery() -> None:
    for body in (b"", b'{"ok": true}'):
        client = HubClient(timeout=5)
        try:
            async with CountingServer(body) as server:
                answers = [await client.post(target(server.port), b"{}", {"Content-Type": "application/json"})
                           for _ in range(5)]
        finally:
            await client.close()
        assert [a.status for a in answers] == [204 if not body else 200] * 5
        assert (server.requests, server.connections) == (5, 1)
        assert set(server.hosts) == {f"listener.example:{server.port}".encode()}  # Host names the listener


async def test_a_long_answer_is_not_read_and_its_connection_is_dropped() -> None:
    """4 MiB answers: more than the client buffers on its own (a shorter one may have arrived whole, and then
    its connection is kept: no harm)."""
    client = HubClient(timeout=5)
    try:
        async with CountingServer(b"x" * (64 * ANSWER)) as server:
            answers = [await client.post(target(server.port), b"{}", {}) for _ in range(3)]
    finally:
        await client.close()
    assert [a.status for a in answers] == [200] * 3
    assert (server.requests, server.connections) == (3, 3)
