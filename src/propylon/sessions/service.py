"""Sign-in sessions: one ``login_sessions`` row per browser sign-in.

The browser holds a random 256-bit handle in the ``propylon_session`` cookie; the row's id is
the SHA-256 of that handle, so a database leak yields no usable cookie and the id can be
published as the ``sid`` claim (OpenID Connect Front/Back-Channel Logout §2).

A session is *active* only while it is not ended, not expired, and its user is neither
deactivated (``users.active`` false) nor deprovisioned (``deleted_at`` set); every caller
(authorization endpoint, token refresh, userinfo, introspection) goes through
:func:`load_active` or :func:`check_active` so that rule lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User
from propylon.db.tables_sso import LoginSession
from propylon.ids import new_secret
from propylon.tenants.credentials import hash_secret

COOKIE_NAME = "propylon_session"
AUTH_METHODS = frozenset({"saml", "oidc", "password", "google"})


@dataclass(frozen=True)
class IssuedSession:
    """A new session: ``handle`` goes into the cookie (shown once), ``id`` is the ``sid``."""

    id: str
    handle: str
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    row: LoginSession
    user: User
    tenant: Tenant

    @property
    def id(self) -> str:
        return self.row.id


def session_id_for(handle: str) -> str:
    return hash_secret(handle)


async def create_session(
    session: AsyncSession,
    tenant_id: str,
    user_id: str,
    auth_method: str,
    connection_id: str | None,
    name_id: str | None,
    session_index: str | None,
    not_on_or_after: datetime | None,
    now: datetime,
    *,
    lifetime: timedelta = timedelta(hours=8),
) -> IssuedSession:
    """Start a session lasting ``min(lifetime, IdP's SessionNotOnOrAfter)``; pass
    ``lifetime=timedelta(seconds=settings.session_lifetime_seconds)``. Set the cookie with
    :func:`propylon.sessions.cookie.set_session_cookie`."""
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"unknown auth method {auth_method!r}")
    expires = now + lifetime
    if not_on_or_after is not None and not_on_or_after < expires:
        expires = not_on_or_after
    handle = new_secret("ps")
    row = LoginSession(
        id=session_id_for(handle),
        tenant_id=tenant_id,
        user_id=user_id,
        auth_method=auth_method,
        connection_id=connection_id,
        idp_session_index=session_index,
        name_id=name_id,
        created_at=now,
        expires_at=expires,
        ended_at=None,
    )
    session.add(row)
    await session.flush()
    return IssuedSession(row.id, handle, expires)


def check_active(row: LoginSession | None, user: User | None, now: datetime) -> bool:
    """The one validity rule (see the module docstring)."""
    return (
        row is not None
        and user is not None
        and row.ended_at is None
        and row.expires_at > now
        and user.active
        and user.deleted_at is None
    )


async def load_by_id(session: AsyncSession, session_id: str, now: datetime) -> ActiveSession | None:
    found = (
        await session.execute(
            select(LoginSession, User, Tenant)
            .join(User, User.id == LoginSession.user_id)
            .join(Tenant, Tenant.id == LoginSession.tenant_id)
            .where(LoginSession.id == session_id)
        )
    ).first()
    if found is None:
        return None
    row, user, tenant = found
    if not check_active(row, user, now):
        return None
    return ActiveSession(row, user, tenant)


async def load_active(
    session: AsyncSession, handle: str | None, now: datetime
) -> ActiveSession | None:
    """The active session of a cookie handle, or ``None``."""
    if not handle or len(handle) > 256:
        return None
    return await load_by_id(session, session_id_for(handle), now)


async def end_session(session: AsyncSession, session_id: str, now: datetime) -> bool:
    result = await session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def end_sessions_for(
    session: AsyncSession,
    name_id: str,
    connection_id: str,
    session_index: str | None,
    now: datetime,
) -> int:
    """End the sessions an IdP names in a SAML LogoutRequest (SAML Core §3.7.1): all of the
    NameID's sessions on that connection, or only those with the given SessionIndex."""
    stmt = update(LoginSession).where(
        LoginSession.connection_id == connection_id,
        LoginSession.name_id == name_id,
        LoginSession.ended_at.is_(None),
    )
    if session_index is not None:
        stmt = stmt.where(LoginSession.idp_session_index == session_index)
    result = await session.execute(stmt.values(ended_at=now))
    return int(getattr(result, "rowcount", 0))
