"""Bridging Authlib's synchronous server to the async database.

Pattern: *pre-load, run sync, write through the unit of work.* For each request the route
opens one write transaction and builds an :class:`Exchange` holding everything Authlib's
storage hooks may read: the client(s) named by the request, the authorization code or
refresh token (looked up by SHA-256), the sign-in session with its user and tenant (from
the runtime's session store: codes and refresh tokens name their session by id, and it must
still be active when they are redeemed or introspected), the
refresh-token family, and the signing key. Authlib then runs synchronously; its hooks read
only from the exchange and write by mutating those pre-loaded ORM objects or by
``AsyncSession.add`` (both synchronous, no I/O). The route commits after Authlib returns, so
an error response and its side effects (e.g. a family revoked on refresh-token reuse) land
in the same transaction, and no hook ever blocks the event loop.

Also here: the Authlib model adapters (RFC 6749 client, code and token models).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables_sso import AuthorizationCode, OAuthClient, RefreshToken, SigningKey
from propylon.provider.keys import SigningMaterial
from propylon.sessions.service import ActiveSession
from propylon.sessions.store import SessionStore
from propylon.settings import Settings
from propylon.tenants.credentials import hash_secret, same_hash

SCOPES = ("openid", "profile", "email")
CONFIDENTIAL_AUTH = ("client_secret_basic", "client_secret_post")


def family_for_code(code_hash: str) -> str:
    """The refresh-token family (the grant) of a code: hashing again keeps the code hash
    itself out of tokens while letting a replayed code find its family (RFC 6749 §4.1.2)."""
    return hash_secret("family:" + code_hash)


class Client:
    """Authlib ``ClientMixin`` over an :class:`OAuthClient` row."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    @property
    def is_public(self) -> bool:
        return self.row.secret_hash is None

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> str | None:
        return None  # redirect_uri is always required (OpenID Connect Core §3.1.2.1)

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris.get("uris", [])

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        return uri in self.row.post_logout_redirect_uris.get("uris", [])

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.secret_hash is None:
            return False
        return same_hash(self.row.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class Code:
    """Authlib ``AuthorizationCodeMixin`` + OIDC code model over an :class:`AuthorizationCode`."""

    def __init__(self, row: AuthorizationCode, login: ActiveSession) -> None:
        self.row = row
        self.login = login

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.login.record.created_at.timestamp())

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str]:
        return [self.login.record.auth_method]


class Refresh:
    """Authlib ``TokenMixin`` over a :class:`RefreshToken` row."""

    def __init__(self, row: RefreshToken, now: datetime) -> None:
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


@dataclass
class Exchange:
    """What one Authlib call may read (pre-loaded) and the session its writes go to."""

    session: AsyncSession
    settings: Settings
    sessions: SessionStore
    now: datetime
    key: SigningMaterial
    published: list[SigningKey] = field(default_factory=list)
    clients: dict[str, Client] = field(default_factory=dict)
    login: ActiveSession | None = None
    code: AuthorizationCode | None = None
    code_login: ActiveSession | None = None
    refresh: RefreshToken | None = None
    family: list[RefreshToken] = field(default_factory=list)
    family_id: str | None = None
    subject: Subject | None = None

    @property
    def issuer(self) -> str:
        return self.settings.public_url.rstrip("/")

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def revoke_family(self) -> None:
        for row in self.family:
            if row.revoked_at is None:
                row.revoked_at = self.now

    async def load_clients(self, *client_ids: str | None) -> None:
        from propylon.provider.apps import get_client

        for cid in client_ids:
            if cid and cid not in self.clients:
                row = await get_client(self.session, cid)
                if row is not None:
                    self.clients[cid] = Client(row)

    async def load_family(self, family_id: str) -> None:
        self.family_id = family_id
        self.family = list(
            await self.session.scalars(
                select(RefreshToken).where(RefreshToken.family_id == family_id)
            )
        )

    async def load_code(self, code: str | None) -> None:
        """Pre-load an authorization code; a replayed code revokes its grant (RFC 6749
        §4.1.2) and is not handed to Authlib, which then answers ``invalid_grant``."""
        if not code or len(code) > 512:
            return
        code_hash = hash_secret(code)
        row = await self.session.get(AuthorizationCode, code_hash, with_for_update=True)
        if row is None:
            return
        await self.load_family(family_for_code(code_hash))
        if row.used_at is not None:
            self.revoke_family()
            return
        self.code = row
        self.code_login = await self.sessions.load(self.session, row.session_id, self.now)

    async def load_refresh(self, token: str | None) -> None:
        """Pre-load a refresh token; presenting a rotated-out one revokes the whole family
        (RFC 9700 §4.14.2) and Authlib answers ``invalid_grant``."""
        if not token or len(token) > 512:
            return
        row = await self.session.get(RefreshToken, hash_secret(token), with_for_update=True)
        if row is None:
            return
        await self.load_family(row.family_id)
        if row.used_at is not None or row.revoked_at is not None:
            self.revoke_family()
            return
        self.refresh = row
        self.code_login = await self.sessions.load(self.session, row.session_id, self.now)


async def load_subject(ex: Exchange, token: str | None) -> None:
    """Pre-load and verify a presented token (refresh token by hash, else JWT access token)
    with its family and session, for introspection, revocation and userinfo."""
    from propylon.provider import rfc9068
    from propylon.provider.keys import verification_keys
    from propylon.provider.oidc_core import identity_claims

    if not token or len(token) > 8192:
        return
    row = await ex.session.get(RefreshToken, hash_secret(token))
    if row is not None:
        await ex.load_family(row.family_id)
        login = await ex.sessions.load(ex.session, row.session_id, ex.now)
        live = row.used_at is None and row.revoked_at is None and row.expires_at > ex.now
        ex.subject = Subject(
            kind="refresh_token",
            client_id=row.client_id,
            family_id=row.family_id,
            claims={**(identity_claims(login) if login else {}), "scope": row.scope},
            expires_at=int(row.expires_at.timestamp()),
            active=live and login is not None,
            login=login,
        )
        return
    if not ex.published:
        return
    claims = rfc9068.verify(
        token, verification_keys(ex.published), ex.issuer, int(ex.now.timestamp())
    )
    if claims is None:
        return
    await ex.load_family(str(claims["grant_id"]))
    login = await ex.sessions.load(ex.session, str(claims["sid"]), ex.now)
    revoked = any(r.revoked_at is not None for r in ex.family)
    ex.subject = Subject(
        kind="access_token",
        client_id=str(claims.get("client_id")),
        family_id=str(claims["grant_id"]),
        claims=claims,
        expires_at=int(claims["exp"]),
        active=not revoked and login is not None and login.user.id == claims.get("sub"),
        login=login,
    )
