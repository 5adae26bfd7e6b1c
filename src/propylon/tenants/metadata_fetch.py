"""Fetching IdP metadata from a URL an admin gave, without letting that URL reach inside.

A metadata URL is input. Fetched as given, it could make Propylon read its own network: a
cloud metadata service at 169.254.169.254, an admin console on loopback, a database's HTTP
port (server-side request forgery, OWASP API Security Top 10 2023 API7). So the host is
resolved first, every address it resolves to must be public (not loopback, private,
link-local, shared, reserved, multicast or unspecified), and the request goes to that very
address with the name kept for ``Host`` and for TLS (SNI and the certificate check), so a
second resolution cannot swap in an inside address (DNS rebinding). Redirects are followed
by hand, each hop checked again, at most :data:`MAX_REDIRECTS`; the body is read up to a
bound, never whole first.

``PROPYLON_SAML_METADATA_ALLOW_PRIVATE_HOSTS=true`` lets addresses inside through, for an IdP
on the operator's own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from propylon.errors import InvalidInput

TIMEOUT = httpx.Timeout(10.0)
MAX_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def fetch_metadata(url: str, *, allow_private: bool = False) -> bytes:
    """GET an IdP metadata document: http(s) only, public addresses only (unless
    ``allow_private``), at most :data:`MAX_BYTES`."""
    target = _parse(url)
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            got = await _get(client, target, allow_private)
            if isinstance(got, bytes):
                return got
            target = got
    raise InvalidInput(f"metadata URL redirected more than {MAX_REDIRECTS} times")


async def _get(client: httpx.AsyncClient, url: httpx.URL, allow_private: bool) -> bytes | httpx.URL:
    """The body, or where a redirect points. The host's addresses are tried in turn (a name
    with an IPv6 address the network cannot reach still works over IPv4)."""
    unreachable: Exception | None = None
    for address in await _addresses(url, allow_private):
        try:
            async with client.stream(
                "GET",
                url.copy_with(host=address),
                headers={"Host": url.netloc.decode("ascii")},
                extensions={"sni_hostname": url.host},
            ) as response:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    return _parse(str(url.join(location)))
                if response.status_code != 200:
                    raise InvalidInput(f"metadata URL answered {response.status_code}")
                return await _bounded(response)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            unreachable = exc
        except httpx.HTTPError as exc:
            raise InvalidInput(f"could not fetch metadata: {type(exc).__name__}") from None
    raise InvalidInput(f"could not fetch metadata: {type(unreachable).__name__}")


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise InvalidInput("metadata URL is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput("metadata URL must be http(s)")
    return parsed


async def _addresses(url: httpx.URL, allow_private: bool) -> list[str]:
    """The addresses of the URL's host, checked: every one must be public, so a name cannot
    mix an inside address in."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise InvalidInput(f"metadata host {url.host!r} does not resolve") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise InvalidInput(f"metadata host {url.host!r} does not resolve")
    inside = [a for a in addresses if not _public(a)]
    if inside and not allow_private:
        raise InvalidInput(
            f"metadata host {url.host!r} is not a public address ({inside[0]}); "
            "set PROPYLON_SAML_METADATA_ALLOW_PRIVATE_HOSTS=true for an IdP on your network"
        )
    return [str(a) for a in addresses]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _bounded(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BYTES:
            raise InvalidInput("metadata document too large")
    return bytes(body)
