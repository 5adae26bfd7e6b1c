"""``grant.revoked``: a refresh-token family revoked at the token endpoints (RFC 7009
revocation, RFC 6749 §4.1.2 code replay, RFC 9700 §4.14.2 refresh-token replay), with its
event in the same transaction.

The grant is revoked here (``revoked_at`` on every refresh token of the family that has
none), so the event is written only when this request revoked something: a second
revocation of the same token, or a second replay of the same code, emits nothing. The
exchange's own recorded write (:meth:`propylon.provider.exchange.Exchange.write_through`)
then finds nothing left to change. The user and tenant come from the grant's session as
stored (ended or not); a session the store no longer has (expired out of Redis) leaves no
event: its tokens were dead already, since every use of them loads the session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_sso import RefreshToken
from propylon.directory import session_events as se
from propylon.revocation.service import Outboxes
from propylon.sessions.store import SessionStore

_REFRESH = core(RefreshToken)
_REVOKE = (
    update(_REFRESH)
    .where(_REFRESH.c.family_id == bindparam("f"), _REFRESH.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


async def revoke_grant(
    s: AsyncSession,
    store: SessionStore,
    *,
    grant_id: str,
    client_id: str | None,
    session_id: str | None,
    reason: str,
    out: Outboxes,
    now: datetime,
) -> bool:
    """Revoke the grant; ``True`` (and the event) if it had live refresh tokens until now."""
    conn = await s.connection()
    result = await conn.execute(_REVOKE, {"f": grant_id, "now": now})
    if not getattr(result, "rowcount", 0):
        return False
    record = await store.get(s, session_id) if session_id else None
    if record is not None:
        event = se.grant_revoked(
            grant_id=grant_id,
            client_id=client_id or "",
            user_id=record.user_id,
            tenant_id=record.tenant_id,
            sid=record.id,
            reason=reason,
        )
        out.emit(record.tenant_id, event)
    return True
