"""Authlib's model adapters over the rows the exchange pre-loads: the RFC 6749 client
(``ClientMixin``), authorization code (``AuthorizationCodeMixin`` + OpenID Connect) and
token (``TokenMixin``) models, and :class:`Subject`, a presented token after verification."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from propylon.sessions.service import ActiveSession
from propylon.tenants.credentials import hash_secret, same_hash

SCOPES = ("openid", "profile", "email")
CONFIDENTIAL_AUTH = ("client_secret_basic", "client_secret_post")


class Client:
    """Authlib ``ClientMixin`` over a live (not revoked) ``oauth_clients`` row."""

    def __init__(
        self,
        client_id: str,
        secret_hash: str | None,
        redirect_uris: Sequence[str],
        post_logout_redirect_uris: Sequence[str],
    ) -> None:
        self.client_id = client_id
        self.secret_hash = secret_hash
        self.redirect_uris = tuple(redirect_uris)
        self.post_logout_redirect_uris = tuple(post_logout_redirect_uris)

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # redirect_uri is always required (OpenID Connect Core §3.1.2.1)

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return same_hash(self.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class CodeRecord:
    """An ``oauth_codes`` row as read (the columns Authlib's hooks need)."""

    code_hash: str
    client_id: str
    session_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class RefreshRecord:
    """An ``oauth_refresh_tokens`` row as read."""

    token_hash: str
    family_id: str
    client_id: str
    session_id: str
    scope: str
    generation: int
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


class Code:
    """Authlib ``AuthorizationCodeMixin`` + OIDC code model over a :class:`CodeRecord`."""

    def __init__(self, row: CodeRecord, login: ActiveSession) -> None:
        self.row = row
        self.login = login

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.login.record.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str]:
        return [self.login.record.auth_method]


class Refresh:
    """Authlib ``TokenMixin`` over a :class:`RefreshRecord`."""

    def __init__(self, row: RefreshRecord, now: datetime) -> None:
        self.row = row
        self.now = now

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.now).total_seconds())

    def is_expired(self) -> bool:
        return self.row.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.used_at is not None


@dataclass
class Subject:
    """A presented token (introspection, revocation, userinfo) after async verification."""

    kind: str  # "access_token" | "refresh_token"
    client_id: str
    family_id: str
    claims: dict[str, Any]
    expires_at: int
    active: bool
    login: ActiveSession | None

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return not self.active

    def is_revoked(self) -> bool:
        return not self.active
