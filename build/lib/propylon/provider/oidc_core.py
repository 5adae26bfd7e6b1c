"""OpenID Connect Core 1.0 on top of Authlib's ``OpenIDCode``/``OpenIDToken`` extensions.

- §2 / §3.1.3.6: the ID token (``iss``, ``sub``, ``aud`` = client_id, ``exp``, ``iat``,
  ``auth_time``, ``nonce``, ``at_hash``, ``sid``) signed with the provider's key (``kid`` in
  the JWS header).
- §5.1 / §5.3: the identity claims shared by ID token, access token and userinfo
  (``provider/claims.py``).
- §12.2: a refresh also returns a new ID token (no nonce).
"""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import OpenIDCode, OpenIDToken
from joserfc.jwk import ECKey, RSAKey

from propylon.provider.claims import identity_claims
from propylon.provider.exchange import Exchange
from propylon.provider.models import Client
from propylon.sessions.service import ActiveSession


class _IdTokenMixin:
    """The key, algorithm and registered claims of ID tokens, from the request's exchange."""

    exchange: Exchange

    def resolve_client_private_key(self, client: Client) -> ECKey | RSAKey:
        return self.exchange.signer.private

    def get_client_algorithm(self, client: Client) -> str:
        return self.exchange.signer.alg

    def get_encode_header(self, client: Client) -> dict[str, str]:
        key = self.exchange.signer
        return {"alg": key.alg, "kid": key.kid, "typ": "JWT"}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        ex = self.exchange
        now = int(ex.now.timestamp())
        login: ActiveSession = request.user
        return {
            "iss": ex.issuer,
            "aud": request.client.get_client_id(),
            "iat": now,
            "exp": now + ex.settings.id_token_lifetime_seconds,
            "auth_time": int(login.record.auth_time.timestamp()),
        }

    def generate_user_info(self, user: ActiveSession, scope: str) -> dict[str, Any]:
        return identity_claims(user)


class OpenIDCodeExtension(_IdTokenMixin, OpenIDCode):  # type: ignore[misc]
    """``response_type=code`` with ``scope=openid`` (OpenID Connect Core §3.1)."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(require_nonce=False)
        self.exchange = exchange

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # The code flow binds the nonce to the code; replay protection is the RP's check of
        # the nonce it stored (OpenID Connect Core §15.5.2).
        return False


class OpenIDRefreshExtension(_IdTokenMixin, OpenIDToken):  # type: ignore[misc]
    """A new ID token on refresh (OpenID Connect Core §12.2)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
