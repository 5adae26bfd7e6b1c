"""Expired sign-in state is removed by ``propylon purge``.

Authorization codes, refresh tokens, pending SAML AuthnRequests, remembered SAML assertion
ids, emailed password links, (embedded mode) database sessions, the record of which apps a
session reached (back-channel logout), of Redis sessions ended one by one, setup portal
sessions and operator console sessions are useless once expired:
a code, a request or a link can no longer be redeemed, a refresh token or session no longer
authenticates, an expired assertion is refused before its id is looked up. Keeping them only
grows the tables. Test connection results (``connection_tests``) are kept for a retention
period after they finished, or after they expired unanswered. Redis
sessions expire on their own (key TTL); the database replay cache is swept by the
accelerator (:mod:`propylon.cache.local`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from propylon.db.tables_operators import ConsoleSession
from propylon.db.tables_password import PasswordToken
from propylon.db.tables_portal import PortalSession
from propylon.db.tables_revoke import EndedSession
from propylon.db.tables_saml import SamlAssertionId, SamlRequest
from propylon.db.tables_setup import ConnectionTestRow
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


TEST_RETENTION = timedelta(days=30)
"""Default retention of test connection results (PROPYLON_CONNECTION_TEST_RETENTION_DAYS)."""


def _purgeable(now: datetime, test_retention: timedelta) -> Iterator[tuple[str, Any, Any]]:
    """``(name, table, condition)`` of every kind of row :func:`purge_expired` removes."""
    for name, column in EXPIRING.items():
        yield name, column.class_, column < now
    ended: ColumnElement[datetime] = func.coalesce(
        ConnectionTestRow.finished_at, ConnectionTestRow.expires_at
    )
    yield "connection_tests", ConnectionTestRow, ended < now - test_retention


async def purge_expired(
    session: AsyncSession,
    *,
    now: datetime,
    dry_run: bool,
    test_retention: timedelta = TEST_RETENTION,
) -> dict[str, int]:
    """Count (``dry_run``) or delete the rows of each table in :data:`EXPIRING` that expired
    before ``now``, and the test connection results older than ``test_retention`` (from
    their result, or their expiry when never answered); returns ``table -> rows``. A used
    refresh token that is gone can no longer trigger reuse detection, but it had expired, so
    it is refused all the same."""
    counts: dict[str, int] = {}
    for name, table, expired in _purgeable(now, test_retention):
        if dry_run:
            found = await session.scalar(select(func.count()).select_from(table).where(expired))
            counts[name] = int(found or 0)
        else:
            result = await session.execute(delete(table).where(expired))
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
    return counts
