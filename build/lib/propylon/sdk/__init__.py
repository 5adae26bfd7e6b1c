"""Propylon's SDK for the host platform (distribution ``propylon-sdk``; needs only ``httpx``
and ``cryptography``).

- :class:`Propylon`: access-token verification (RFC 9068, keys from the issuer's JWK Set)
  checked against a local view of revocations and entitlements that Propylon's event stream
  keeps fresh; introspection (RFC 7662) when the view is stale; refusal when neither answers.
- :class:`Principal`: who is calling, with roles, tier and programs.
- :class:`PropylonMiddleware` (ASGI), ``propylon.sdk.fastapi.principal_dependency`` (FastAPI).
- :class:`Webhook`: Standard Webhooks verification; :func:`iter_events`: the events cursor;
  :class:`Management`: the typed management API client.
"""

from propylon.sdk.asgi import PropylonMiddleware
from propylon.sdk.client import Propylon
from propylon.sdk.errors import ApiError, InvalidToken, PropylonError, WebhookVerificationError
from propylon.sdk.events import Event, aiter_events, iter_events
from propylon.sdk.management import Management
from propylon.sdk.principal import Entitlements, Principal
from propylon.sdk.view import LocalView
from propylon.sdk.webhooks import Webhook

__all__ = [
    "ApiError",
    "Entitlements",
    "Event",
    "InvalidToken",
    "LocalView",
    "Management",
    "Principal",
    "Propylon",
    "PropylonError",
    "PropylonMiddleware",
    "Webhook",
    "WebhookVerificationError",
    "aiter_events",
    "iter_events",
]
