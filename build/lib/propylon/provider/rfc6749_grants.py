"""The two grants (RFC 6749 §4.1 authorization code, §6 refresh token) on Authlib.

Storage hooks read the request's pre-loaded :class:`~propylon.provider.exchange.Exchange`
and record their writes on it (see that module). Codes live ``auth_code_lifetime_seconds`` and are
single-use (§4.1.2; a replay is caught while pre-loading and revokes the grant's tokens).
Refresh tokens rotate on every use (RFC 9700 §4.14.2): the presented token is marked used,
a new one of the same family is issued, and presenting a used one revokes the family.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants

from propylon.provider.exchange import Exchange
from propylon.provider.models import CONFIDENTIAL_AUTH, Client, Code, Refresh
from propylon.sessions.service import ActiveSession
from propylon.tenants.credentials import hash_secret

AUTH_METHODS = [*CONFIDENTIAL_AUTH, "none"]


def _exchange(grant: Any) -> Exchange:
    ex: Exchange = grant.server.exchange
    return ex


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return secrets.token_urlsafe(32)

    def save_authorization_code(self, code: str, request: Any) -> None:
        ex = _exchange(self)
        login: ActiveSession = request.user
        data = request.payload.data
        ex.insert_code(
            {
                "code_hash": hash_secret(code),
                "client_id": request.client.get_client_id(),
                "session_id": login.id,
                "redirect_uri": request.payload.redirect_uri,
                "scope": request.scope or "",
                "nonce": data.get("nonce"),
                "code_challenge": data.get("code_challenge"),
                "code_challenge_method": data.get("code_challenge_method"),
                "created_at": ex.now,
                "expires_at": ex.now + timedelta(seconds=ex.settings.auth_code_lifetime_seconds),
                "used_at": None,
            }
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        ex = _exchange(self)
        row = ex.code
        if row is None or ex.code_login is None or row.code_hash != hash_secret(code):
            return None
        if row.client_id != client.get_client_id() or row.expires_at <= ex.now:
            return None
        return Code(row, ex.code_login)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        _exchange(self).use_code(authorization_code.row.code_hash)

    def authenticate_user(self, authorization_code: Code) -> ActiveSession:
        return authorization_code.login


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Refresh | None:
        ex = _exchange(self)
        row = ex.refresh
        if row is None or ex.code_login is None or row.token_hash != hash_secret(refresh_token):
            return None
        token = Refresh(row, ex.now)
        if token.is_expired() or token.is_revoked():
            return None
        return token

    def authenticate_user(self, refresh_token: Refresh) -> ActiveSession | None:
        return _exchange(self).code_login

    def revoke_old_credential(self, refresh_token: Refresh) -> None:
        _exchange(self).use_refresh(refresh_token.row.token_hash)
