"""Real local HTTP listeners for the hub figure: a bare asyncio server that answers every POST 204 and counts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Listener:
    """One callback endpoint (HTTP/1.1, keep-alive); `times` holds when each delivery arrived."""

    times: list[float] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0
    connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/listener"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in list(self.connections):  # their handlers end on EOF instead of being cancelled
            writer.close()
        await asyncio.sleep(0)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                self.times.append(time.perf_counter())
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.connections.discard(writer)
            writer.close()
