"""Hub callbacks resolved and pinned: checked at registration and again at every connection (SSRF).

The host is resolved once per check, every address is judged by resolvers.rules.callbacks, and the
connection then goes to the address that was judged (the URL carries the address, `Host` and TLS SNI the
name), so a DNS answer that changes between check and connection (DNS rebinding) reaches nothing new.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from resolvers.rules.callbacks import CallbackRules, origin
from resolvers.rules.errors import ValidationFailed

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (numeric forms like `2130706433` included)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed("callback", f"the host {host!r} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class PinnedTarget:
    """Where one delivery connects: `url` names the checked address; `host` goes in `Host` and TLS SNI."""

    url: str
    host_header: str
    sni: str

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.sni}


@dataclass
class CallbackGuard:
    rules: CallbackRules = field(default_factory=CallbackRules)
    resolve: Resolver = system_resolve

    async def pin(self, url: str, also_own: Iterable[str] = ()) -> PinnedTarget:
        """The checked target of `url`; ValidationFailed when its host resolves to a refused address."""
        _scheme, host, port = origin(url)
        self.rules.check_origin(url, also_own)
        try:
            literal: list[str] | None = [str(ipaddress.ip_address(host))]
        except ValueError:
            literal = None
        addresses = literal or await self.resolve(host, port)
        chosen = self.rules.check(url, addresses, also_own)[0]
        parts = urlsplit(url)
        netloc = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        if parts.port is not None:
            netloc += f":{parts.port}"
        if "@" in parts.netloc:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        host_header = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            host_header += f":{parts.port}"
        return PinnedTarget(pinned, host_header, host)
