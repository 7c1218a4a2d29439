"""The hub's HTTP client: one POST per delivery, on kept-alive connections, to an address the guard pinned.

aiohttp rather than httpx: a delivery is a small POST whose answer only matters by its status, thousands a second
on one core; httpx's layers (httpcore, anyio) cost about four times aiohttp's per request there (profiled in
docs/performance.md). It is imported at the first delivery, so a server without listeners never loads it.

Connections are pooled per (address, port, TLS server name): the URL names the checked address, `Host` and TLS
SNI (and certificate check) the listener's name (resolvers.callback_guard). A short answer is read to its end so
that its connection serves the next delivery; a longer one is left unread (the connection is then closed), so a
listener's body cannot flood us.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resolvers.callback_guard import PinnedTarget

if TYPE_CHECKING:
    import aiohttp

ANSWER = 64 * 1024  # bytes of a listener's answer read (to keep its connection); a longer one is not read


@functools.cache
def tls() -> ssl.SSLContext:
    """The default TLS context with certifi's CA bundle (as httpx uses), made once per process: loading the bundle
    costs about 0.1 s."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str


class HubClient:
    """POSTs deliveries; `close` ends its connections."""

    def __init__(self, timeout: float, connections: int = 100) -> None:
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, ssl=tls(), use_dns_cache=False),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False, skip_auto_headers=("Accept-Encoding",),
            )
        return self._session

    async def post(self, target: PinnedTarget, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body` to `target` (with `Host` naming the listener); the answer's status. Transport failures and
        timeouts raise."""
        import aiohttp

        session = self._open()
        headers = {**headers, "Host": target.host_header}
        tls_name = target.sni if target.url.startswith("https:") else None
        async with session.post(target.url, data=body, headers=headers, allow_redirects=False,
                                server_hostname=tls_name) as response:
            answer = Answer(response.status, response.reason or "")
            length = response.content_length
            if length is None or length <= ANSWER:
                read = 0
                with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                    while read <= ANSWER:  # to its end when short: the connection is kept
                        chunk = await response.content.read(ANSWER + 1 - read)
                        if not chunk:
                            break
                        read += len(chunk)
        return answer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
