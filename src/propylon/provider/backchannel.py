"""Logout tokens of OpenID Connect Back-Channel Logout 1.0, Propylon as the OpenID Provider.

A pure builder: the delivery worker calls :func:`logout_token` at every attempt, so each
POST carries a fresh ``iat``, ``exp`` and ``jti`` signed with the key active at that moment.

- §2.4: claims ``iss``, ``aud`` (the client id), ``iat``, ``exp``, ``jti``, ``events`` with the
  member ``http://schemas.openid.net/event/backchannel-logout`` (an empty object), ``sub`` and
  ``sid`` (both: the session this app reached, of this user); never a ``nonce`` (§2.4: a
  token with one is refused, so it cannot pass for an ID token).
- §2.4, §4.1: explicitly typed ``typ: logout+jwt`` (RFC 8725 §3.11), signed with the same key
  and algorithm as ID tokens, ``kid`` in the header.
- §2.5: sent as an ``application/x-www-form-urlencoded`` POST of ``logout_token``
  (:func:`logout_request_body`).
- §2.1, §2.2: discovery advertises ``backchannel_logout_supported`` and
  ``backchannel_logout_session_supported`` (``provider/discovery.py``); apps register
  ``backchannel_logout_uri`` and ``backchannel_logout_session_required``.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt

from propylon.oauth_store.signing_keys import SigningMaterial

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TYP = "logout+jwt"
CONTENT_TYPE = "application/x-www-form-urlencoded"


def logout_claims(
    *, issuer: str, client_id: str, sub: str, sid: str, now: int, lifetime: int
) -> dict[str, Any]:
    """The claims of one logout token (§2.4), a new ``jti`` each time."""
    return {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }


def logout_token(
    key: SigningMaterial,
    *,
    issuer: str,
    client_id: str,
    sub: str,
    sid: str,
    now: int,
    lifetime: int,
) -> str:
    """A signed logout token (§2.4) for ``client_id`` naming the session ``sid`` of ``sub``."""
    claims = logout_claims(
        issuer=issuer, client_id=client_id, sub=sub, sid=sid, now=now, lifetime=lifetime
    )
    header = {"alg": key.alg, "kid": key.kid, "typ": TYP}
    return jwt.encode(header, claims, key.private, [key.alg])


def logout_request_body(token: str) -> bytes:
    """The body of the back-channel logout request (§2.5)."""
    return urlencode({"logout_token": token}).encode()
