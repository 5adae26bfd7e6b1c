"""Embedded-mode sessions: one ``login_sessions`` row per sign-in, in the caller's transaction.

A staged session is a row added to the sign-in's own transaction, so it commits or rolls
back together with the JIT user and the audit entry; publishing has nothing left to do.
Ended sessions keep their row (``ended_at`` set); rows go with their user when it is purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User, core
from propylon.db.tables_sso import LoginSession
from propylon.sessions.service import (
    DEFAULT_LIFETIME,
    IDENTITY_COLUMNS,
    ActiveSession,
    IssuedSession,
    PendingSession,
    SessionDraft,
    SessionRecord,
    check_active,
    identity_of,
    issued,
    new_pending,
)

_SESSIONS, _USERS, _TENANTS = core(LoginSession), core(User), core(Tenant)
_RECORD_COLUMNS = (
    _SESSIONS.c.id,
    _SESSIONS.c.tenant_id,
    _SESSIONS.c.user_id,
    _SESSIONS.c.auth_method,
    _SESSIONS.c.connection_id,
    _SESSIONS.c.idp_session_index,
    _SESSIONS.c.name_id,
    _SESSIONS.c.created_at,
    _SESSIONS.c.expires_at,
    _SESSIONS.c.ended_at,
    _SESSIONS.c.authenticated_at,
    _SESSIONS.c.user_epoch,
    _SESSIONS.c.name_id_format,
    _SESSIONS.c.name_qualifier,
    _SESSIONS.c.sp_name_qualifier,
)
_GET = select(*_RECORD_COLUMNS).where(_SESSIONS.c.id == bindparam("id"))
_LOAD = (
    select(*_RECORD_COLUMNS, *IDENTITY_COLUMNS)
    .join_from(_SESSIONS, _USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .join(_TENANTS, _TENANTS.c.id == _SESSIONS.c.tenant_id)
    .where(_SESSIONS.c.id == bindparam("id"))
)
_INSERT = insert(_SESSIONS)


def _record(row: Sequence[Any]) -> SessionRecord:
    """The session in the first columns of ``row`` (:data:`_RECORD_COLUMNS` follows the
    field order of :class:`SessionRecord`)."""
    return SessionRecord(*row[: len(_RECORD_COLUMNS)])


class DatabaseSessionStore:
    backend = "database"

    def __init__(self, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self.lifetime = lifetime

    async def stage(self, s: AsyncSession, draft: SessionDraft, now: datetime) -> PendingSession:
        pending = new_pending(draft, now, self.lifetime)
        r = pending.record
        conn = await s.connection()
        await conn.execute(
            _INSERT,
            {
                "id": r.id,
                "tenant_id": r.tenant_id,
                "user_id": r.user_id,
                "auth_method": r.auth_method,
                "connection_id": r.connection_id,
                "idp_session_index": r.idp_session_index,
                "name_id": r.name_id,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
                "ended_at": None,
                "authenticated_at": r.authenticated_at,
                "user_epoch": r.user_epoch,
                "name_id_format": r.name_id_format,
                "name_qualifier": r.name_qualifier,
                "sp_name_qualifier": r.sp_name_qualifier,
            },
        )
        return pending

    async def publish(self, pending: PendingSession, now: datetime) -> IssuedSession:
        return issued(pending)  # the row committed with the unit of work that staged it

    async def get(self, s: AsyncSession, session_id: str) -> SessionRecord | None:
        conn = await s.connection()
        row = (await conn.execute(_GET, {"id": session_id})).first()
        return _record(row) if row is not None else None

    async def load(self, s: AsyncSession, session_id: str, now: datetime) -> ActiveSession | None:
        conn = await s.connection()
        found = (await conn.execute(_LOAD, {"id": session_id})).first()
        if found is None:
            return None
        record = _record(found)
        user, tenant = identity_of(found)
        if not check_active(record, user, tenant, now):
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

    async def end_for_sid(
        self, s: AsyncSession, connection_id: str, sid: str, now: datetime
    ) -> int:
        result = await s.execute(
            update(LoginSession)
            .where(
                LoginSession.connection_id == connection_id,
                LoginSession.idp_session_index == sid,
                LoginSession.ended_at.is_(None),
            )
            .values(ended_at=now)
        )
        return int(getattr(result, "rowcount", 0))
