"""JWT access tokens (RFC 9068): ``typ: at+jwt``, signed like ID tokens, carrying ``iss``,
``sub``, ``aud`` (= client_id), ``client_id``, ``iat``, ``exp``, ``jti``, ``scope`` (§2.2),
the identity claims (§2.2.3.1) and ``grant_id``, the refresh-token family they belong to, so
revoking the grant (RFC 7009 §2.1, code replay RFC 6749 §4.1.2) deactivates them too.
"""

from __future__ import annotations

import secrets
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from propylon.oauth_store.signing_keys import SigningMaterial
from propylon.provider.claims import identity_claims
from propylon.sessions.service import ActiveSession


def issue(
    *,
    key: SigningMaterial,
    issuer: str,
    client_id: str,
    login: ActiveSession,
    scope: str,
    grant_id: str,
    now: int,
    lifetime: int,
) -> str:
    claims = {
        **identity_claims(login),
        "iss": issuer,
        "aud": client_id,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "grant_id": grant_id,
    }
    header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, key.private, [key.alg])


def verify(token: str, keys: KeySet, issuer: str, now: int) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token this issuer signed, else ``None``."""
    if not token or len(token) > 8192 or token.count(".") != 2:
        return None
    try:
        decoded = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    if decoded.header.get("typ") != "at+jwt":
        return None
    claims = dict(decoded.claims)
    exp = claims.get("exp")
    if claims.get("iss") != issuer or not isinstance(exp, int) or exp <= now:
        return None
    if not isinstance(claims.get("sid"), str) or not isinstance(claims.get("grant_id"), str):
        return None
    return claims
