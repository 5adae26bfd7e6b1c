"""The authorization server: Authlib's ``AuthorizationServer`` wired to Propylon's storage.

One :class:`ProviderServer` is built per request around that request's pre-loaded
:class:`~propylon.provider.exchange.Exchange` (construction is cheap: a few registrations),
so hooks never share mutable state across requests. The HTTP adapter (building Authlib's
``OAuth2Request`` from a FastAPI request and turning ``(status, body, headers)`` into a
response) lives in :mod:`propylon.api.provider_routes`, which subclasses this.

Registered: the code grant with PKCE (RFC 7636) and OpenID Connect, the refresh grant
(RFC 6749 §6) with a new ID token, introspection (RFC 7662) and revocation (RFC 7009).
Bearer tokens (RFC 6750) are JWT access tokens (RFC 9068); refresh tokens are random
256-bit strings stored as SHA-256.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer

from propylon.provider import rfc9068
from propylon.provider.exchange import Exchange
from propylon.provider.models import SCOPES, Client
from propylon.provider.oidc_core import OpenIDCodeExtension, OpenIDRefreshExtension
from propylon.provider.rfc6749_grants import AuthorizationCodeGrant, RefreshTokenGrant
from propylon.provider.rfc7009 import Revocation
from propylon.provider.rfc7636 import S256CodeChallenge
from propylon.provider.rfc7662 import Introspection
from propylon.sessions.service import ActiveSession
from propylon.tenants.credentials import hash_secret


class ProviderServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, exchange: Exchange) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.exchange = exchange
        self.register_grant(
            AuthorizationCodeGrant, [S256CodeChallenge(), OpenIDCodeExtension(exchange)]
        )
        self.register_grant(RefreshTokenGrant, [OpenIDRefreshExtension(exchange)])
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)

    def query_client(self, client_id: str | None) -> Client | None:
        if not client_id:
            return None
        return self.exchange.clients.get(client_id)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def generate_token(
        self,
        grant_type: str,
        client: Client,
        user: ActiveSession | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        ex = self.exchange
        assert user is not None and ex.family_id is not None
        lifetime = ex.settings.access_token_lifetime_seconds
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": rfc9068.issue(
                key=ex.signer,
                issuer=ex.issuer,
                client_id=client.get_client_id(),
                login=user,
                scope=scope or "",
                grant_id=ex.family_id,
                now=int(ex.now.timestamp()),
                lifetime=lifetime,
            ),
            "expires_in": lifetime,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        ex = self.exchange
        refresh = token.get("refresh_token")
        if not refresh or ex.family_id is None:
            return
        login: ActiveSession = request.user
        previous = ex.refresh
        ex.insert_refresh(
            {
                "token_hash": hash_secret(refresh),
                "family_id": ex.family_id,
                "client_id": request.client.get_client_id(),
                "session_id": login.id,
                "scope": token.get("scope", ""),
                "generation": (previous.generation + 1) if previous is not None else 0,
                "created_at": ex.now,
                "expires_at": ex.now
                + timedelta(seconds=ex.settings.refresh_token_lifetime_seconds),
                "used_at": None,
                "revoked_at": None,
            }
        )
