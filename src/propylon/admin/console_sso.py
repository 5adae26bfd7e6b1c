"""Signing in to the console through one of Propylon's own tenants
(``PROPYLON_CONSOLE_SSO_TENANT``): the console is an app of Propylon's OpenID Provider like any
host platform's, a public client (PKCE, RFC 7636) registered at start with the one redirect
URI ``{public_url}/admin/sso/callback``; a person is admitted only if they are a user of that
tenant whose current entitlements carry the role ``PROPYLON_CONSOLE_SSO_ROLE``."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from propylon import errors
from propylon.admin.entitlements import user_entitlements
from propylon.db.tables import User
from propylon.db.tables_sso import AuthorizationCode, OAuthClient
from propylon.oidc.rfc7636 import new_verifier, s256_challenge
from propylon.runtime import Runtime
from propylon.tenants.credentials import hash_secret

CLIENT_ID = "propylon-console"
CALLBACK = "/admin/sso/callback"


def redirect_uri(rt: Runtime) -> str:
    return rt.settings.public_url.rstrip("/") + CALLBACK


async def register_client(rt: Runtime) -> None:
    """The console's client, made or pointed at this installation's URL (at start, so an
    anonymous sign-in writes nothing); nothing when console SSO is off."""
    if not rt.settings.console_sso_tenant:
        return
    uri = redirect_uri(rt)
    with contextlib.suppress(IntegrityError):  # another worker registered it at the same time
        await _register(rt, uri)


async def _register(rt: Runtime, uri: str) -> None:
    async with rt.db.write() as s:
        row = await s.get(OAuthClient, CLIENT_ID)
        if row is None:
            s.add(
                OAuthClient(
                    id=CLIENT_ID,
                    name=f"{rt.settings.brand_name} console",
                    secret_hash=None,
                    redirect_uris={"uris": [uri]},
                    post_logout_redirect_uris={"uris": []},
                    created_at=rt.clock(),
                    revoked_at=None,
                )
            )
        elif row.redirect_uris.get("uris") != [uri] or row.revoked_at is not None:
            row.redirect_uris, row.revoked_at = {"uris": [uri]}, None


@dataclass(frozen=True)
class Admission:
    admitted: bool
    tenant_id: str | None = None
    reason: str = ""


async def admit(rt: Runtime, user_id: str) -> Admission:
    """Whether this user (the ``sub`` Propylon's provider issued) may use the console: a
    user of the console's tenant, active, not deprovisioned, whose current entitlements carry
    the console's role. Asked at sign-in and again whenever the session is touched."""
    tenant = rt.settings.console_sso_tenant
    if not tenant or not user_id:
        return Admission(False, None, "console SSO is off")
    async with rt.db.read() as s:
        user = await s.get(User, user_id)
    if user is not None and (not user.active or user.deleted_at is not None):
        return Admission(False, user.tenant_id, "deactivated or deprovisioned")
    try:
        found = await user_entitlements(rt, tenant, user_id)
    except errors.NotFound:
        return Admission(False, None, "not a user of the console's tenant")
    roles = found["entitlements"].get("roles") or []
    if rt.settings.console_sso_role not in roles:
        return Admission(False, found["tenant_id"], "without the console's role")
    return Admission(True, found["tenant_id"])


# -- one sign-in: what the browser carries between start and callback, and the checks -----


@dataclass(frozen=True)
class Pending:
    """What ``/admin/sso/start`` keeps (sealed, in the browser) for the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Pending:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), new_verifier())

    @property
    def challenge(self) -> str:
        """RFC 7636 §4.2 S256 of the verifier."""
        return s256_challenge(self.verifier)

    def to_json(self) -> bytes:
        return json.dumps({"s": self.state, "n": self.nonce, "v": self.verifier}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Pending | None:
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        state, nonce, verifier = doc.get("s"), doc.get("n"), doc.get("v")
        if not (isinstance(state, str) and isinstance(nonce, str) and isinstance(verifier, str)):
            return None
        return cls(state, nonce, verifier) if state and nonce and verifier else None

    def state_matches(self, state: str) -> bool:
        return secrets.compare_digest(state.encode(), self.state.encode())


async def code_is_ours(rt: Runtime, code: str) -> bool:
    """Whether ``code`` names an authorization code issued to the console's client, read
    without a write transaction (so junk codes at the callback never open one); a used code
    is ours too, so that its replay still revokes its grant when redeemed."""
    if not code or len(code) > 512:
        return False
    async with rt.db.read() as s:
        found = await s.scalar(
            select(AuthorizationCode.client_id).where(
                AuthorizationCode.code_hash == hash_secret(code)
            )
        )
    return found == CLIENT_ID


def id_token_claims(tokens: dict[str, Any] | None, pending: Pending) -> dict[str, Any] | None:
    """The claims of the ID token this process has just signed and handed over itself (never
    one from a request, so its signature needs no checking here), if it is for the console
    (``aud``) and this sign-in (``nonce``); else ``None``."""
    id_token = tokens.get("id_token") if tokens else None
    if not isinstance(id_token, str):
        return None
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("nonce"), str):
        return None
    if not secrets.compare_digest(claims["nonce"].encode(), pending.nonce.encode()):
        return None
    if claims.get("aud") not in (CLIENT_ID, [CLIENT_ID]):
        return None
    return claims
