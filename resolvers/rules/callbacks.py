"""Where hub callbacks may point: the address rules that keep the dispatcher from reaching inside (SSRF).

Plain rules, no I/O: resolution and pinning are resolvers.callback_guard's. A callback is refused when any
address its host resolves to is loopback, link-local (169.254.0.0/16, fe80::/10: cloud metadata lives
there), private (RFC 1918), CGNAT (100.64.0.0/10), unique-local (fc00::/7), multicast, unspecified,
IPv4-mapped IPv6 or otherwise not globally routable, or when it is the server's own base URL; unless the
allow-list names the host, or a network holding the address (tests name their local listener's).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from resolvers.rules.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def address_class(address: IPAddress) -> str | None:
    """Why `address` is no place for a callback ("loopback", "link-local", ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "IPv4-mapped"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("CGNAT", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("unique-local", isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7")),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if address.is_global else "not globally routable"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute URL, lower-cased, the port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower().rstrip("."), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def _entry(text: str) -> IPNetwork | str:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return text.strip().lower().rstrip(".")


@dataclass(frozen=True)
class CallbackRules:
    """The allow-list (networks or host names) and the server's own origins (never called back)."""

    allow: tuple[IPNetwork | str, ...] = ()
    own: frozenset[tuple[str, str, int]] = field(default_factory=frozenset)

    @classmethod
    def build(cls, allow: Iterable[str] = (), own_urls: Iterable[str | None] = ()) -> CallbackRules:
        return cls(tuple(_entry(a) for a in allow if a.strip()), frozenset(origin(u) for u in own_urls if u))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allow

    def address_allowed(self, address: IPAddress) -> bool:
        return any(not isinstance(entry, str) and address.version == entry.version and address in entry
                   for entry in self.allow)

    def check_origin(self, url: str, also_own: Iterable[str] = ()) -> None:
        """Refuse the server's own base URL (`own`, or `also_own`: the request's) unless the allow-list names it."""
        where = origin(url)
        if where in self.own | {origin(u) for u in also_own if u} and not self.host_allowed(where[1]):
            raise ValidationFailed("callback", f"{url!r} is this server's own address")

    def check(self, url: str, addresses: Iterable[str], also_own: Iterable[str] = ()) -> list[IPAddress]:
        """The addresses of `url`'s host that may be called; ValidationFailed naming the first refused one."""
        self.check_origin(url, also_own)
        named = self.host_allowed(origin(url)[1])
        found = [ipaddress.ip_address(a.split("%")[0]) for a in addresses]
        if not found:
            raise ValidationFailed("callback", f"the host of {url!r} resolves to no address")
        for address in found:
            kind = address_class(address)
            if kind is not None and not named and not self.address_allowed(address):
                raise ValidationFailed(
                    "callback", f"{url!r} resolves to {address}, a {kind} address; callbacks must reach a public "
                    "address (operators may allow more with TMF640_HUB_CALLBACK_ALLOW)")
        return found
