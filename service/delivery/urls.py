"""Where a webhook may point: https, and never at this machine or a private network (a server
side request forgery guard), unless OBHVAT_WEBHOOKS_ALLOW_INSECURE is set for development."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    pass


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified


async def check_url(url: str, *, allow_insecure: bool) -> None:
    """Raise `UnsafeURL` with the reason when `url` may not receive webhooks."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeURL("not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL("must be an https:// URL")
    if allow_insecure:
        return
    if parts.scheme != "https":
        raise UnsafeURL("must be an https:// URL")
    if parts.username or parts.password:
        raise UnsafeURL("must not carry credentials")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise UnsafeURL(f"host {parts.hostname} does not resolve") from None
    for info in infos:
        if _forbidden(str(info[4][0])):
            raise UnsafeURL("must not point at a loopback, private or link-local address")
