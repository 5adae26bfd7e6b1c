"""Registered applications (OAuth clients) of the host platform: ``propylon app
create|list|revoke`` and ``/api/v1/apps`` call these same functions.

Client registration rules (RFC 6749 §3.1.2, §2.1; OAuth 2.0 Security BCP RFC 9700 §2.1,
§4.1.3): redirect URIs are absolute, without fragment or wildcard, ``https`` or ``http`` on a
loopback host only (RFC 8252 §7.3), and are later compared by exact string match. A
confidential client gets a 256-bit secret shown once and stored as SHA-256; a public client
(``--public``) has no secret and must use PKCE with S256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord, record, record_failure
from propylon.cache.fanout import publish_committed
from propylon.db.tables_sso import OAuthClient
from propylon.ids import new_secret
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.tenants.credentials import mint

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def validate_redirect_uri(uri: str) -> str:
    if not uri or uri != uri.strip() or len(uri) > 2000:
        raise errors.InvalidInput(f"invalid redirect URI {uri!r}")
    if "*" in uri:
        raise errors.InvalidInput(f"wildcards are not allowed in redirect URIs: {uri!r}")
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise errors.InvalidInput(f"a redirect URI must not have a fragment: {uri!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise errors.InvalidInput(f"a redirect URI must be absolute: {uri!r}")
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return uri
    raise errors.InvalidInput(f"redirect URIs must use https (http only on loopback): {uri!r}")


@dataclass(frozen=True)
class AppView:
    client_id: str
    name: str
    public: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "public": self.public,
            "redirect_uris": self.redirect_uris,
            "post_logout_redirect_uris": self.post_logout_redirect_uris,
            "created_at": self.created_at,
        }


def view(row: OAuthClient) -> AppView:
    return AppView(
        client_id=row.id,
        name=row.name,
        public=row.secret_hash is None,
        redirect_uris=list(row.redirect_uris.get("uris", [])),
        post_logout_redirect_uris=list(row.post_logout_redirect_uris.get("uris", [])),
        created_at=row.created_at.isoformat(),
    )


async def create_app(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """Register an app; returns ``client_id`` and (confidential only) ``client_secret``."""
    now = rt.clock()
    rec = AuditRecord(action="app.create", target_type="app")
    try:
        if not name.strip():
            raise errors.InvalidInput("an app needs a name")
        if not redirect_uris:
            raise errors.InvalidInput("at least one --redirect-uri is required")
        uris = [validate_redirect_uri(u) for u in redirect_uris]
        logout_uris = [validate_redirect_uri(u) for u in post_logout_redirect_uris or []]
        client_id = new_secret("app", 16)
        secret, secret_hash = (None, None) if public else mint("cs")
        rec.target_id = client_id
        rec.diff = {
            "name": {"before": None, "after": name},
            "public": {"before": None, "after": public},
        }
        async with rt.db.write() as s:
            row = OAuthClient(
                id=client_id,
                name=name.strip(),
                secret_hash=secret_hash,
                redirect_uris={"uris": uris},
                post_logout_redirect_uris={"uris": logout_uris},
                created_at=now,
                revoked_at=None,
            )
            s.add(row)
            record(s, actor, rec, now)
        return {**view(row).as_dict(), "client_secret": secret}
    except errors.PropylonError as exc:
        rec.reason = exc.detail
        await record_failure(rt.db, actor, rec, now)
        raise


async def list_apps(rt: Runtime) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        rows = await s.scalars(
            select(OAuthClient)
            .where(OAuthClient.revoked_at.is_(None))
            .order_by(OAuthClient.created_at, OAuthClient.id)
        )
        return [view(r).as_dict() for r in rows]


async def revoke_app(rt: Runtime, actor: Actor, client_id: str) -> dict[str, Any]:
    """Revoke an app: from the commit on, it can neither start an authorization nor redeem
    a code or refresh token (its client authentication fails: RFC 6749 §5.2
    ``invalid_client``), and every process drops its copy of it (``Runtime.sign_in``)."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type, rec.target_id = "app", client_id
        row = await s.get(OAuthClient, client_id, with_for_update=True) if client_id else None
        if row is None or row.revoked_at is not None:
            raise errors.NotFound(f"no app {client_id!r}")
        row.revoked_at = rt.clock()
        rec.diff = {"revoked_at": {"before": None, "after": row.revoked_at.isoformat()}}
        return {**view(row).as_dict(), "revoked_at": row.revoked_at.isoformat()}

    out = await audited(rt, actor, "app.revoke", op)
    # after commit: copies drop it
    lifetime = rt.settings.sign_in_cache_seconds
    return out | await publish_committed(rt.cache, SIGN_IN_CHANNEL, client_id, lifetime)


async def show_app(rt: Runtime, client_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        row = await s.get(OAuthClient, client_id) if 0 < len(client_id) <= 64 else None
        if row is None or row.revoked_at is not None:
            raise errors.NotFound(f"no app {client_id!r}")
        return view(row).as_dict()


async def update_app(
    rt: Runtime,
    actor: Actor,
    client_id: str,
    *,
    name: str | None = None,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
) -> dict[str, Any]:
    """Rename an app or replace its redirect URIs (each list replaced whole; exact match,
    RFC 6749 §3.1.2); every process drops its copy at once."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.target_type, rec.target_id = "app", client_id
        row = await s.get(OAuthClient, client_id, with_for_update=True) if client_id else None
        if row is None or row.revoked_at is not None:
            raise errors.NotFound(f"no app {client_id!r}")
        before = view(row).as_dict()
        if name is not None:
            if not name.strip():
                raise errors.InvalidInput("name must not be empty")
            row.name = name.strip()
        if redirect_uris is not None:
            if not redirect_uris:
                raise errors.InvalidInput("an app needs at least one redirect URI")
            row.redirect_uris = {"uris": [validate_redirect_uri(u) for u in redirect_uris]}
        if post_logout_redirect_uris is not None:
            uris = [validate_redirect_uri(u) for u in post_logout_redirect_uris]
            row.post_logout_redirect_uris = {"uris": uris}
        after = view(row).as_dict()
        rec.diff = {
            k: {"before": before[k], "after": v} for k, v in after.items() if before[k] != v
        }
        return after

    out = await audited(rt, actor, "app.update", op)
    # after commit: copies drop it
    lifetime = rt.settings.sign_in_cache_seconds
    return out | await publish_committed(rt.cache, SIGN_IN_CHANNEL, client_id, lifetime)
