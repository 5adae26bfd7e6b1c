"""Accepted SAML assertion ids, remembered in the database (SAML Profiles §4.1.4.5).

"The service provider MUST ensure that bearer assertions are not replayed, by maintaining the
set of used ID values for the length of time for which the assertion would be considered
valid." The set is the ``saml_assertion_ids`` table, written in the sign-in's own
transaction (:mod:`propylon.signin.replay`). A cache in Redis alone forgot them on a restart
without persistence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.signin.replay import SAML_ASSERTIONS, remember_once

__all__ = ["remember_assertion"]


async def remember_assertion(
    s: AsyncSession, connection_id: str, assertion_id: str, expires_at: datetime, now: datetime
) -> bool:
    """Record ``assertion_id`` of ``connection_id`` as used until ``expires_at`` in the
    caller's transaction; False when it is already recorded and not expired (a replay)."""
    return await remember_once(s, SAML_ASSERTIONS, connection_id, assertion_id, expires_at, now)
