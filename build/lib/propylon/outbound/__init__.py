"""The one guard every outbound HTTP request goes through (OIDC discovery, JWKS, token and
userinfo requests, SAML metadata): public addresses only, checked at each hop, https only,
bounded size and time. ``PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS=true`` lets loopback and
private hosts and plain http through."""

from propylon.outbound.client import OutboundResponse, request
from propylon.outbound.errors import OutboundError
from propylon.outbound.fetcher import Fetcher, GuardedFetcher
from propylon.outbound.policy import OutboundPolicy

__all__ = [
    "Fetcher",
    "GuardedFetcher",
    "OutboundError",
    "OutboundPolicy",
    "OutboundResponse",
    "request",
]
