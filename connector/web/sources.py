"""Who is asking: the client address of a request, and whether it may deliver webhooks.

The address comes from the socket. Only when the direct peer is a configured trusted proxy
is `X-Forwarded-For` read, right to left, skipping the proxies themselves: the entries to
the left of the first untrusted one were written by whoever sent the request and prove
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def client_address(request: web.Request, trusted_proxies: Sequence[Network]) -> Address | None:
    """The address the request came from, or None when it cannot be told."""
    peer = _peer(request)
    if peer is None or not _within(peer, trusted_proxies):
        return peer
    forwarded = [
        part.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for part in header.split(",")
    ]
    for entry in reversed(forwarded):
        address = _parse(entry)
        if address is None:
            return None  # a proxy we trust wrote something we cannot read: trust nothing
        if not _within(address, trusted_proxies):
            return address
    return peer  # only proxies in the chain: the request began at one of them


def source_allowed(address: Address | None, allowed: Sequence[Network]) -> bool:
    """Whether a delivery from `address` may be heard; an empty allow-list allows all."""
    if not allowed:
        return True
    return address is not None and _within(address, allowed)


def _peer(request: web.Request) -> Address | None:
    transport = request.transport
    if transport is None:
        return None
    peername = transport.get_extra_info("peername")
    if not peername:
        return None
    return _parse(str(peername[0]))


def _parse(text: str) -> Address | None:
    try:
        address = ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
