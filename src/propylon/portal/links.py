"""The store of setup links and the portal sessions they open.

A link's token (``ptl_…``) and a session's cookie secret (``pss_…``) are 256 random bits,
stored as SHA-256 only (high-entropy bearer secrets: one indexed lookup, nothing to crack).
A link is redeemed once, by one conditional ``UPDATE`` (two browsers racing get one
session); a session is read with its link and tenant on every request, so revoking the link
or deleting the tenant ends it at once. Reads never write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant
from propylon.db.tables_portal import PortalLink, PortalSession
from propylon.errors import NotFound
from propylon.ids import Kind, new_id, new_secret, plausible
from propylon.portal.model import INTENTS

TOKEN_PREFIX = "ptl"
SESSION_PREFIX = "pss"
MAX_SECRET_CHARS = 128
"""A longer token or cookie is no secret of ours: refused before hashing."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like(secret: str, prefix: str) -> bool:
    return secret.startswith(prefix + "_") and 0 < len(secret) <= MAX_SECRET_CHARS


def intents_of(row: PortalLink) -> list[str]:
    stored = row.intents.get("intents", [])
    return [i for i in INTENTS if i in stored]


def status_of(row: PortalLink, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.redeemed_at is not None:
        return "redeemed"
    if row.expires_at <= now:
        return "expired"
    return "active"


def view(row: PortalLink, now: datetime, slug: str | None = None) -> dict[str, Any]:
    """What the management API and the CLI show of a link (never its token)."""

    def when(t: datetime | None) -> str | None:
        return t.isoformat() if t is not None else None

    return {
        "link_id": row.id,
        "tenant": slug or row.tenant_id,
        "tenant_id": row.tenant_id,
        "intents": intents_of(row),
        "status": status_of(row, now),
        "expires_at": when(row.expires_at),
        "return_url": row.return_url,
        "created_by": row.created_by,
        "created_at": when(row.created_at),
        "redeemed_at": when(row.redeemed_at),
        "revoked_at": when(row.revoked_at),
    }


async def insert_link(
    s: AsyncSession,
    *,
    tenant_id: str,
    intents: list[str],
    expires_at: datetime,
    return_url: str | None,
    created_by: str,
    now: datetime,
) -> tuple[PortalLink, str]:
    """A new link and its token (shown once)."""
    token = new_secret(TOKEN_PREFIX)
    row = PortalLink(
        id=new_id(Kind.PORTAL_LINK),
        tenant_id=tenant_id,
        token_hash=digest(token),
        intents={"intents": [i for i in INTENTS if i in intents]},
        expires_at=expires_at,
        return_url=return_url,
        created_by=created_by[:128],
        created_at=now,
    )
    s.add(row)
    await s.flush()
    return row, token


async def list_links(s: AsyncSession, tenant_id: str | None) -> list[tuple[PortalLink, str]]:
    """Links (with their tenant's slug), newest first."""
    query = select(PortalLink, Tenant.slug).join(Tenant, Tenant.id == PortalLink.tenant_id)
    if tenant_id is not None:
        query = query.where(PortalLink.tenant_id == tenant_id)
    rows = await s.execute(query.order_by(PortalLink.created_at.desc(), PortalLink.id))
    return [(link, slug) for link, slug in rows.all()]


async def get_link(s: AsyncSession, link_id: str) -> tuple[PortalLink, str]:
    if not plausible(link_id):
        raise NotFound(f"no portal link {link_id!r}")
    query = select(PortalLink, Tenant.slug).join(Tenant, Tenant.id == PortalLink.tenant_id)
    found = (await s.execute(query.where(PortalLink.id == link_id))).first()
    if found is None:
        raise NotFound(f"no portal link {link_id!r}")
    return found[0], found[1]


async def revoke_link(s: AsyncSession, link_id: str, now: datetime) -> tuple[PortalLink, str, bool]:
    """Revoke the link (its session dies with it); ``False``: it was revoked already."""
    link, slug = await get_link(s, link_id)
    if link.revoked_at is not None:
        return link, slug, False
    link.revoked_at = now
    await s.flush()
    return link, slug, True


def _usable(now: datetime) -> tuple[Any, ...]:
    return (
        PortalLink.redeemed_at.is_(None),
        PortalLink.revoked_at.is_(None),
        PortalLink.expires_at > now,
    )


async def peek(s: AsyncSession, token: str, now: datetime) -> PortalLink | None:
    """The link this token redeems, if it still can be (no write)."""
    if not looks_like(token, TOKEN_PREFIX):
        return None
    query = select(PortalLink).join(Tenant, Tenant.id == PortalLink.tenant_id)
    query = query.where(PortalLink.token_hash == digest(token), Tenant.deleted_at.is_(None))
    found: PortalLink | None = await s.scalar(query.where(*_usable(now)))
    return found


async def redeem(
    s: AsyncSession, token: str, now: datetime, session_seconds: int
) -> tuple[PortalLink, PortalSession, str] | None:
    """Consume the link once and open its session: ``(link, session, cookie secret)``, or
    ``None`` (nothing written) when the token is unknown, used, revoked or expired."""
    link = await peek(s, token, now)
    if link is None:
        return None
    claimed = await s.execute(
        update(PortalLink)
        .where(PortalLink.id == link.id, *_usable(now))
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # another browser won the race
        return None
    secret = new_secret(SESSION_PREFIX)
    session = PortalSession(
        id=new_id(Kind.PORTAL_SESSION),
        link_id=link.id,
        tenant_id=link.tenant_id,
        secret_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=session_seconds),
    )
    s.add(session)
    await s.flush()
    link.redeemed_at = now
    return link, session, secret


@dataclass(frozen=True)
class OpenSession:
    link: PortalLink
    session: PortalSession
    tenant_slug: str
    tenant_name: str


async def find_session(s: AsyncSession, secret: str, now: datetime) -> OpenSession | None:
    """The live session of this cookie: not expired, its link not revoked, its tenant not
    deleted; ``None`` otherwise. Reads only."""
    if not looks_like(secret, SESSION_PREFIX):
        return None
    query = (
        select(PortalSession, PortalLink, Tenant.slug, Tenant.name)
        .join(PortalLink, PortalLink.id == PortalSession.link_id)
        .join(Tenant, Tenant.id == PortalSession.tenant_id)
        .where(
            PortalSession.secret_hash == digest(secret),
            PortalSession.expires_at > now,
            PortalLink.revoked_at.is_(None),
            PortalLink.tenant_id == PortalSession.tenant_id,
            Tenant.deleted_at.is_(None),
        )
    )
    found = (await s.execute(query)).first()
    if found is None:
        return None
    session, link, slug, name = found
    return OpenSession(link, session, slug, name)


async def end_session(s: AsyncSession, session_id: str, now: datetime) -> None:
    """Sign out: the session expires now."""
    await s.execute(
        update(PortalSession)
        .where(PortalSession.id == session_id, PortalSession.expires_at > now)
        .values(expires_at=now)
    )
