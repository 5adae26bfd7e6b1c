"""Fetching IdP metadata from a URL an admin gave, through the outbound guard
(``propylon.outbound``: public addresses only, each redirect hop checked, bounded size and
time), so the URL cannot be used to read inside the network."""

from __future__ import annotations

from propylon.errors import InvalidInput
from propylon.outbound import OutboundPolicy, request


async def fetch_metadata(url: str, policy: OutboundPolicy) -> bytes:
    """GET an IdP metadata document; anything but a 200 is refused. Raises
    :class:`~propylon.outbound.OutboundError` (an ``InvalidInput``) or ``InvalidInput``."""
    response = await request(policy, "GET", url)
    if response.status != 200:
        raise InvalidInput(f"metadata URL answered {response.status}")
    return response.body
