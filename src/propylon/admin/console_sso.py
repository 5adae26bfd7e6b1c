"""Signing in to the console through one of Propylon's own tenants
(``PROPYLON_CONSOLE_SSO_TENANT``): the console is an app of Propylon's OpenID Provider like any
host platform's, a public client (PKCE, RFC 7636) registered at start with the one redirect
URI ``{public_url}/admin/sso/callback``; a person is admitted only if they are a user of that
tenant whose current entitlements carry the role ``PROPYLON_CONSOLE_SSO_ROLE``."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from propylon import errors
from propylon.admin.entitlements import user_entitlements
from propylon.db.tables import User
from propylon.db.tables_sso import OAuthClient
from propylon.runtime import Runtime

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
