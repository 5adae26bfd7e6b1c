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
from propylon.db.tables_revoke import ConnectionCutoff
from propylon.db.tables_sso import LoginSession
from propylon.sessions.service import (
    CONNECTION_CUTOFF,
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
_CUTOFFS = core(ConnectionCutoff)
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
    select(*_RECORD_COLUMNS, CONNECTION_CUTOFF, *IDENTITY_COLUMNS)
    .join_from(_SESSIONS, _USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .join(_TENANTS, _TENANTS.c.id == _SESSIONS.c.tenant_id)
    .outerjoin(_CUTOFFS, _CUTOFFS.c.connection_id == _SESSIONS.c.connection_id)
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
        if not check_active(record, user, tenant, now, found[len(_RECORD_COLUMNS)]):
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
    ) -> list[SessionRecord]:
        where = [_SESSIONS.c.connection_id == connection_id, _SESSIONS.c.name_id == name_id]
        if session_index is not None:
            where.append(_SESSIONS.c.idp_session_index == session_index)
        return await _end_where(s, where, now)

    async def end_for_sid(
        self, s: AsyncSession, connection_id: str, sid: str, now: datetime
    ) -> list[SessionRecord]:
        where = [_SESSIONS.c.connection_id == connection_id, _SESSIONS.c.idp_session_index == sid]
        return await _end_where(s, where, now)

    async def end_for_connection(
        self, s: AsyncSession, connection_id: str, now: datetime
    ) -> list[SessionRecord]:
        return await _end_where(s, [_SESSIONS.c.connection_id == connection_id], now)

    async def list_for_user(
        self, s: AsyncSession, user_id: str, now: datetime
    ) -> list[SessionRecord]:
        conn = await s.connection()
        rows = await conn.execute(
            select(*_RECORD_COLUMNS)
            .where(
                _SESSIONS.c.user_id == user_id,
                _SESSIONS.c.ended_at.is_(None),
                _SESSIONS.c.expires_at > now,
            )
            .order_by(_SESSIONS.c.created_at, _SESSIONS.c.id)
        )
        return [_record(row) for row in rows]


async def _end_where(s: AsyncSession, where: list[Any], now: datetime) -> list[SessionRecord]:
    """End the live sessions ``where`` selects; the records of those ended now (RETURNING,
    PostgreSQL and SQLite >= 3.35 alike)."""
    conn = await s.connection()
    result = await conn.execute(
        update(_SESSIONS)
        .where(*where, _SESSIONS.c.ended_at.is_(None))
        .values(ended_at=now)
        .returning(*_RECORD_COLUMNS)
    )
    return sorted((_record(row) for row in result), key=lambda r: r.id)
