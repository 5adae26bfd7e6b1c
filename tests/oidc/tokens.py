"""Claims and validation calls the token tests share."""

from __future__ import annotations

from typing import Any

from propylon.oidc.id_token import IdTokenClaims, validate_id_token
from propylon.oidc.logout_token import BACKCHANNEL_LOGOUT_EVENT, LogoutClaims, validate_logout_token
from propylon.settings import Settings
from tests.oidc.idp import CLIENT_ID, Clock, Idp

ALGS = frozenset(Settings.model_fields["oidc_allowed_algorithms"].default.split(","))
"""The default allow-list."""
NONCE = "nonce-from-the-pending-login"


def id_claims(idp: Idp, clock: Clock, **changes: Any) -> dict[str, Any]:
    now = int(clock().timestamp())
    claims = {
        "iss": idp.issuer,
        "aud": CLIENT_ID,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "sid": "idp-session-1",
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def logout_claims(idp: Idp, clock: Clock, **changes: Any) -> dict[str, Any]:
    now = int(clock().timestamp())
    claims = {
        "iss": idp.issuer,
        "aud": CLIENT_ID,
        "sub": "user-1",
        "sid": "idp-session-1",
        "iat": now,
        "exp": now + 120,
        "jti": "logout-1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


async def check_id_token(idp: Idp, clock: Clock, token: str, **options: Any) -> IdTokenClaims:
    kwargs: dict[str, Any] = {
        "keys": idp.cache(clock).resolver(idp.issuer),
        "issuer": idp.issuer,
        "client_id": CLIENT_ID,
        "trusted_audiences": (),
        "nonce": NONCE,
        "now": clock(),
        "skew": 60,
        "allowed_algs": ALGS,
        **options,
    }
    return await validate_id_token(token, **kwargs)


async def check_logout_token(idp: Idp, clock: Clock, token: str, **options: Any) -> LogoutClaims:
    kwargs: dict[str, Any] = {
        "keys": idp.cache(clock).resolver(idp.issuer),
        "issuer": idp.issuer,
        "client_id": CLIENT_ID,
        "now": clock(),
        "skew": 60,
        "allowed_algs": ALGS,
        **options,
    }
    return await validate_logout_token(token, **kwargs)
