"""The client's address, for per-address rate limits and the audit trail.

``X-Forwarded-For`` (and RFC 7239 ``Forwarded``) are written by whoever sends the request, so
they are believed only as far as a configured trusted proxy vouches for them: starting from
the TCP peer, each hop is trusted only while the address that reported it is one of
``PROPYLON_TRUSTED_PROXIES``. With none configured (the default), the TCP peer is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

from propylon.settings import Network, Settings

UNKNOWN = "unknown"


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _forwarded_for(scope: Scope) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(",") if h.strip())
    return hops


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The address of the client that sent this request, as far as trusted proxies tell.

    Walks ``X-Forwarded-For`` from the right (the hop nearest to us) while the address that
    appended each entry is trusted; the first address not vouched for is the client.
    """
    client = scope.get("client")
    peer = str(client[0]) if client else UNKNOWN
    if not trusted or not _trusted(peer, trusted):
        return peer
    current = peer
    for hop in reversed(_forwarded_for(scope)):
        try:
            current = str(ipaddress.ip_address(hop))
        except ValueError:
            return current
        if not _trusted(current, trusted):
            return current
    return current


def limit_unit(address: str, ipv6_prefix: int) -> str:
    """The unit a per-address limit applies to: an IPv4 address, an IPv6 network (one host
    usually holds a whole /64; an IPv4-mapped IPv6 address is its IPv4 address); anything
    unparsable as given, bounded."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)


def client_key(scope: Scope, settings: Settings) -> str:
    """What every per-address limit counts this request against: the client address (as
    far as trusted proxies tell) grouped into its :func:`limit_unit`."""
    address = client_address(scope, settings.trusted_proxy_networks())
    return limit_unit(address, settings.client_ipv6_prefix)
