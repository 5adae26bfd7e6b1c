"""Embedded-mode sessions: one ``login_sessions`` row per sign-in, in the caller's transaction.

A staged session is a row added to the sign-in's own transaction, so it commits or rolls
back together with the JIT user and the audit entry; publishing has nothing left to do.
Ended sessions keep their row (``ended_at`` set); rows go with their user when it is purged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User
from propylon.db.tables_sso import LoginSession
from propylon.sessions.service import (
    DEFAULT_LIFETIME,
    ActiveSession,
    IssuedSession,
    PendingSession,
    SessionDraft,
    SessionRecord,
    check_active,
    issued,
    new_pending,
)


def _record(row: LoginSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        auth_method=row.auth_method,
        connection_id=row.connection_id,
        idp_session_index=row.idp_session_index,
        name_id=row.name_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


class DatabaseSessionStore:
    backend = "database"

    def __init__(self, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self.lifetime = lifetime

    async def stage(self, s: AsyncSession, draft: SessionDraft, now: datetime) -> PendingSession:
        pending = new_pending(draft, now, self.lifetime)
        r = pending.record
        s.add(
            LoginSession(
                id=r.id,
                tenant_id=r.tenant_id,
                user_id=r.user_id,
                auth_method=r.auth_method,
                connection_id=r.connection_id,
                idp_session_index=r.idp_session_index,
                name_id=r.name_id,
                created_at=r.created_at,
                expires_at=r.expires_at,
                ended_at=None,
            )
        )
        await s.flush()
        return pending

    async def publish(self, pending: PendingSession, now: datetime) -> IssuedSession:
        return issued(pending)  # the row committed with the unit of work that staged it

    async def get(self, s: AsyncSession, session_id: str) -> SessionRecord | None:
        row = await s.get(LoginSession, session_id)
        return _record(row) if row is not None else None

    async def load(self, s: AsyncSession, session_id: str, now: datetime) -> ActiveSession | None:
        found = (
            await s.execute(
                select(LoginSession, User, Tenant)
                .join(User, User.id == LoginSession.user_id)
                .join(Tenant, Tenant.id == LoginSession.tenant_id)
                .where(LoginSession.id == session_id)
            )
        ).first()
        if found is None:
            return None
        row, user, tenant = found
        record = _record(row)
        if not check_active(record, user, now):
            return None
        return ActiveSession(record, user, tenant)

    async def end(self, s: AsyncSession, session_id: str, now: datetime) -> bool:
        result = await s.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def end_for(
        self,
        s: AsyncSession,
        connection_id: str,
        name_id: str,
        session_index: str | None,
        now: datetime,
    ) -> int:
        stmt = update(LoginSession).where(
            LoginSession.connection_id == connection_id,
            LoginSession.name_id == name_id,
            LoginSession.ended_at.is_(None),
        )
        if session_index is not None:
            stmt = stmt.where(LoginSession.idp_session_index == session_index)
        result = await s.execute(stmt.values(ended_at=now))
        return int(getattr(result, "rowcount", 0))
