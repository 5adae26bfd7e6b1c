"""Which addresses a host name may lead to.

A URL is input. Fetched as given, it could make Propylon read its own network: a cloud
metadata service at 169.254.169.254, an admin console on loopback, a database's HTTP port
(server-side request forgery, OWASP API Security Top 10 2023 API7). So the host is resolved
first and every address it resolves to must be public (not loopback, private, link-local,
shared, reserved, multicast or unspecified): a name cannot mix an inside address in. The
caller then connects to one of these very addresses, so a second resolution cannot swap in
an inside one (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from propylon.outbound.errors import OutboundError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: Address) -> bool:
    """Globally routable unicast (IANA special-purpose registries, RFC 6890), an IPv4-mapped
    IPv6 address judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of ``host``, each one checked; in resolver order, without repeats."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundError("unresolvable", f"host {host!r} does not resolve") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise OutboundError("unresolvable", f"host {host!r} does not resolve")
    inside = [a for a in addresses if not is_public(a)]
    if inside and not allow_private:
        raise OutboundError(
            "private_address",
            f"host {host!r} is not a public address ({inside[0]}); set "
            "PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS=true for a server on your own network",
        )
    return [str(a) for a in addresses]
