"""Console sessions, server-side: the browser holds a random token (cookie
``propylon_console``), the database its SHA-256 with who signed in, how, and until when. A
session ends at its absolute lifetime, after its idle lifetime without a request, or at once
when revoked (sign-out, the operator removed or their TOTP reset)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables_operators import ConsoleSession

TOUCH_SECONDS = 60
"""``last_seen_at`` is written at most this often (the idle lifetime is counted from it)."""


@dataclass(frozen=True)
class Signed:
    """Who a console session belongs to."""

    session_id: str
    email: str
    via: str
    operator_id: str | None
    subject: str | None
    needs_touch: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    s: AsyncSession,
    *,
    email: str,
    via: str,
    now: datetime,
    absolute_seconds: int,
    operator_id: str | None = None,
    subject: str | None = None,
) -> str:
    """A new session; its token (for the cookie only)."""
    token = secrets.token_urlsafe(32)
    s.add(
        ConsoleSession(
            id=token_hash(token),
            operator_id=operator_id,
            subject=subject,
            email=email,
            via=via,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=absolute_seconds),
        )
    )
    await s.flush()
    return token


async def active(s: AsyncSession, token: str, now: datetime, idle_seconds: int) -> Signed | None:
    if not (20 <= len(token) <= 64) or not token.isascii():
        return None
    row = await s.get(ConsoleSession, token_hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(seconds=idle_seconds) <= now:
        return None
    touch = row.last_seen_at + timedelta(seconds=TOUCH_SECONDS) <= now
    return Signed(row.id, row.email, row.via, row.operator_id, row.subject, touch)


async def touch(s: AsyncSession, session_id: str, now: datetime) -> None:
    await s.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=now)
    )


async def revoke(s: AsyncSession, session_id: str, now: datetime) -> bool:
    done = await s.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0) == 1


async def list_open(s: AsyncSession, now: datetime) -> list[ConsoleSession]:
    query = select(ConsoleSession).where(
        ConsoleSession.revoked_at.is_(None), ConsoleSession.expires_at > now
    )
    return list((await s.scalars(query.order_by(ConsoleSession.created_at.desc()))).all())
