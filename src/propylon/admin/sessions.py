"""An administrator's view and revoke of sign-in sessions, shared by ``propylon sessions``
and the management API (``/api/v1/sessions``, ``/api/v1/users/{id}/revoke-sessions``).

Revoking one session ends it in the session store, revokes the refresh-token families that
name it and writes ``session.revoked`` (reason ``admin``); revoking a user's sessions raises
the user's revocation epoch (every session and token of before is dead for good, in either
store, see :mod:`propylon.sessions.service`) and writes ``user.sessions_revoked`` (reason
``admin``); each in the audited operation's transaction."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.db.tables import User
from propylon.directory import session_events as se
from propylon.directory.events import Outbox
from propylon.directory.users import revoke_sign_ins
from propylon.errors import NotFound
from propylon.revocation.service import Outboxes, end_session, revoke_session_tokens
from propylon.rfc3339 import rfc3339, rfc3339_or_none
from propylon.runtime import Runtime
from propylon.sessions.service import SessionRecord

_SID = re.compile(r"[0-9a-f]{64}")
_USER_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _view(record: SessionRecord, active: bool) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return rfc3339_or_none(value)

    return {
        "id": record.id,
        "user_id": record.user_id,
        "tenant_id": record.tenant_id,
        "auth_method": record.auth_method,
        "connection_id": record.connection_id,
        "created_at": when(record.created_at),
        "authenticated_at": when(record.auth_time),
        "expires_at": when(record.expires_at),
        "ended_at": when(record.ended_at),
        "active": active,
    }


def _session_id(sid: str) -> str:
    if not _SID.fullmatch(sid):
        raise NotFound(f"no session {sid[:80]!r}")
    return sid


async def _user(s: AsyncSession, user_id: str) -> User:
    user = await s.get(User, user_id) if _USER_ID.fullmatch(user_id) else None
    if user is None:
        raise NotFound(f"no user {user_id[:80]!r}")
    return user


async def list_sessions(rt: Runtime, user_id: str) -> list[dict[str, Any]]:
    """The user's active sessions, oldest first."""
    now = rt.clock()
    async with rt.db.read() as s:
        await _user(s, user_id)
        out = []
        for record in await rt.sessions.list_for_user(s, user_id, now):
            if await rt.sessions.load(s, record.id, now) is not None:
                out.append(_view(record, True))
        return out


async def show_session(rt: Runtime, sid: str) -> dict[str, Any]:
    now = rt.clock()
    async with rt.db.read() as s:
        record = await rt.sessions.get(s, _session_id(sid))
        if record is None:
            raise NotFound(f"no session {sid!r}")
        return _view(record, await rt.sessions.load(s, sid, now) is not None)


async def revoke_session(rt: Runtime, actor: Actor, sid: str) -> dict[str, Any]:
    """End one session and its token families; ``revoked`` false if it had ended already."""
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        record = await rt.sessions.get(s, _session_id(sid))
        if record is None:
            raise NotFound(f"no session {sid!r}")
        rec.tenant_id, rec.target_type, rec.target_id = record.tenant_id, "user", record.user_id
        ended = await end_session(s, rt.sessions, record, se.ADMIN, out, now)
        rec.diff = {"session": {"before": record.id if ended else None, "after": None}}
        await out.flush(s, now)
        return {"session_id": record.id, "user_id": record.user_id, "revoked": ended}

    done = await audited(rt, actor, "session.revoke", op)
    await out.published(rt.events)
    return done


async def revoke_user_sessions(rt: Runtime, actor: Actor, user_id: str) -> dict[str, Any]:
    """End every session of the user for good (the revocation epoch goes up) and the token
    families of those the store can list."""
    written: list[Any] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        user = await _user(s, user_id)
        rec.tenant_id, rec.target_type, rec.target_id = user.tenant_id, "user", user.id
        live = await rt.sessions.list_for_user(s, user.id, now)
        for record in live:
            await rt.sessions.end(s, record.id, now)
        await revoke_session_tokens(s, (r.id for r in live), now)
        before = user.revocation_epoch
        outbox = Outbox(user.tenant_id)
        await revoke_sign_ins(s, user, now, outbox, se.ADMIN)
        rec.diff = {"revocation_epoch": {"before": before, "after": user.revocation_epoch}}
        written.append((user.tenant_id, await outbox.flush(s, now)))
        return {
            "user_id": user.id,
            "tenant_id": user.tenant_id,
            "epoch": user.revocation_epoch,
            "sessions_ended": len(live),
            "before": rfc3339(now),
        }

    done = await audited(rt, actor, "user.sessions_revoke", op)
    for tenant_id, stored in written:
        await rt.events.published(tenant_id, stored)
    return done
