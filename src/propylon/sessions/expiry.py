"""Expired sign-in state is removed by ``propylon purge``.

Authorization codes, refresh tokens, pending SAML AuthnRequests, remembered SAML assertion
ids, emailed password links, (embedded mode) database sessions, the record of which apps a
session reached (back-channel logout), of Redis sessions ended one by one, setup portal
sessions and operator console sessions are useless once expired:
a code, a request or a link can no longer be redeemed, a refresh token or session no longer
authenticates, an expired assertion is refused before its id is looked up. Keeping them only
grows the tables. Redis
sessions expire on their own (key TTL); the database replay cache is swept by the
accelerator (:mod:`propylon.cache.local`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from propylon.db.tables_operators import ConsoleSession
from propylon.db.tables_password import PasswordToken
from propylon.db.tables_portal import PortalSession
from propylon.db.tables_revoke import EndedSession
from propylon.db.tables_saml import SamlAssertionId, SamlRequest
from propylon.db.tables_signals import SessionGrant
from propylon.db.tables_sso import AuthorizationCode, LoginSession, RefreshToken

EXPIRING: dict[str, InstrumentedAttribute[datetime]] = {
    "oauth_codes": AuthorizationCode.expires_at,
    "oauth_refresh_tokens": RefreshToken.expires_at,
    "saml_requests": SamlRequest.expires_at,
    "saml_assertion_ids": SamlAssertionId.expires_at,
    "login_sessions": LoginSession.expires_at,
    "password_tokens": PasswordToken.expires_at,
    "session_grants": SessionGrant.expires_at,
    "ended_sessions": EndedSession.expires_at,
    "portal_sessions": PortalSession.expires_at,
    "console_sessions": ConsoleSession.expires_at,
}
"""Each table's expiry column."""


async def purge_expired(session: AsyncSession, *, now: datetime, dry_run: bool) -> dict[str, int]:
    """Count (``dry_run``) or delete the rows of each table in :data:`EXPIRING` that expired
    before ``now``; returns ``table -> rows``. A used refresh token that is gone can no longer
    trigger reuse detection, but it had expired, so it is refused all the same."""
    counts: dict[str, int] = {}
    for name, column in EXPIRING.items():
        table, expired = column.class_, column < now
        if dry_run:
            found = await session.scalar(select(func.count()).select_from(table).where(expired))
            counts[name] = int(found or 0)
        else:
            result = await session.execute(delete(table).where(expired))
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
    return counts
