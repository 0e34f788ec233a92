"""Where a webhook may point, and the address a delivery connects to (a server side request
forgery guard).

A webhook URL is https on port 443, and its host name resolves only to public addresses: never
this machine, a private, carrier-grade NAT (100.64.0.0/10, where cloud metadata services such as
100.100.100.200 live), link-local, multicast or reserved network, nor an IPv6 form that carries
such an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). The worker resolves
the name once per delivery, checks every address, and connects to the address it checked with
the original Host header and TLS name (no second lookup, so DNS rebinding cannot slip a private
address in between). OBHVAT_WEBHOOKS_ALLOW_INSECURE (development only) allows http, any port
and private addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import SplitResult, urlsplit

import httpx

_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class UnsafeURL(ValueError):
    pass


def forbidden_address(ip: IPv4Address | IPv6Address) -> bool:
    """True for any address a webhook must not reach."""
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None or int(ip) >> 32 == 0:
            return True  # ::ffff:a.b.c.d and ::a.b.c.d reach IPv4 hosts by another name
        embedded: list[IPv4Address] = []
        if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip in _TEREDO and ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(forbidden_address(inner) for inner in embedded):
            return True
    return (
        not ip.is_global
        or ip in _CARRIER_GRADE_NAT
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (one lookup)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send a delivery: `url` names the checked address instead of the host name;
    `host_header` and `tls_name` keep the name for the receiver and its certificate."""

    url: str
    address: str
    host_header: str
    tls_name: str | None


def _parts(url: str, *, allow_insecure: bool) -> tuple[SplitResult, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("not a URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UnsafeURL("must be an https:// URL")
    port = port or _DEFAULT_PORTS[parts.scheme]
    if allow_insecure:
        return parts, port
    if parts.scheme != "https":
        raise UnsafeURL("must be an https:// URL")
    if parts.username or parts.password:
        raise UnsafeURL("must not carry credentials")
    if port != 443:
        raise UnsafeURL("must use port 443")
    return parts, port


async def checked_target(url: str, *, allow_insecure: bool) -> Target:
    """Resolve `url`'s host once and check every address; raise `UnsafeURL` with the reason, or
    answer the target to connect to."""
    parts, port = _parts(url, allow_insecure=allow_insecure)
    hostname = parts.hostname or ""
    try:
        addresses = await resolve(hostname, port)
    except (OSError, UnicodeError):
        raise UnsafeURL(f"host {hostname} does not resolve") from None
    if not addresses:
        raise UnsafeURL(f"host {hostname} does not resolve")
    parsed = [ipaddress.ip_address(address.split("%", 1)[0]) for address in addresses]
    if not allow_insecure and any(forbidden_address(ip) for ip in parsed):
        raise UnsafeURL("must not point at a loopback, private, carrier-grade NAT or link-local address")
    address = str(parsed[0])
    name = f"[{hostname}]" if ":" in hostname else hostname
    return Target(
        url=str(httpx.URL(url).copy_with(host=address)),
        address=address,
        host_header=name if port == _DEFAULT_PORTS[parts.scheme] else f"{name}:{port}",
        tls_name=hostname if parts.scheme == "https" else None,
    )


async def check_url(url: str, *, allow_insecure: bool) -> None:
    """Raise `UnsafeURL` with the reason when `url` may not receive webhooks (at registration;
    with OBHVAT_WEBHOOKS_ALLOW_INSECURE the host is not looked up)."""
    if allow_insecure:
        _parts(url, allow_insecure=True)
        return
    await checked_target(url, allow_insecure=False)


class PerHostTransport(httpx.AsyncBaseTransport):
    """Connections pooled per host name: two names that resolve to one address never share a
    connection, so each request is sent over TLS verified for its own name."""

    def __init__(self) -> None:
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = str(request.extensions.get("sni_hostname") or request.headers.get("host") or request.url.host)
        pool = self._pools.get(name)
        if pool is None:
            pool = self._pools[name] = httpx.AsyncHTTPTransport(trust_env=False)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
