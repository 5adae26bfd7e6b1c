"""Where sessions live: one small interface, two implementations, chosen once per runtime.

The embedded mode keeps sessions in the database (:class:`~propylon.sessions.store_db.
DatabaseSessionStore`); production mode, with ``PROPYLON_REDIS_URL``, keeps them in Redis
(:class:`~propylon.sessions.store_redis.RedisSessionStore`). Both have the same semantics and
apply the same active rule (:func:`propylon.sessions.service.check_active`).

Creating a session is two steps because a sign-in creates it together with database work
(consuming the AuthnRequest, JIT provisioning, the audit entry) that may still roll back:

1. :meth:`SessionStore.stage` inside the unit of work. The database store adds the row to
   that transaction, so the session exists exactly when the rest commits. The Redis store
   writes nothing yet.
2. :meth:`SessionStore.publish` after the transaction committed. The Redis store writes the
   session now, so a rolled-back sign-in never leaves a session behind; the database store
   has nothing left to do. Only ``publish`` returns the :class:`IssuedSession` a cookie is
   set from, so a session cannot be handed out before it is stored.

Ending sessions (:meth:`~SessionStore.end`, :meth:`~SessionStore.end_for`) takes the
caller's transaction too: the database store ends them in it; the Redis store ends them at
once, before that transaction commits, which errs on the safe side (a logout whose audit
entry then fails to commit has still logged the person out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.engine import Database
from propylon.sessions.service import (
    ActiveSession,
    IssuedSession,
    PendingSession,
    SessionDraft,
    SessionRecord,
    session_id_for,
    usable_handle,
)


class SessionStore(Protocol):
    backend: str
    """``"database"`` or ``"redis"``."""

    async def stage(self, s: AsyncSession, draft: SessionDraft, now: datetime) -> PendingSession:
        """Prepare a session lasting ``min(lifetime, draft.not_on_or_after)`` within the unit
        of work ``s``; :meth:`publish` it once ``s`` has committed."""
        ...

    async def publish(self, pending: PendingSession, now: datetime) -> IssuedSession:
        """Make a staged session usable; call after its unit of work committed."""
        ...

    async def get(self, s: AsyncSession, session_id: str) -> SessionRecord | None:
        """The stored session, active or not (ended and expired ones may be gone)."""
        ...

    async def load(self, s: AsyncSession, session_id: str, now: datetime) -> ActiveSession | None:
        """The session with its user and tenant, only if it is active."""
        ...

    async def end(self, s: AsyncSession, session_id: str, now: datetime) -> bool:
        """End one session; ``True`` if it was not ended before."""
        ...

    async def end_for(
        self,
        s: AsyncSession,
        connection_id: str,
        name_id: str,
        session_index: str | None,
        now: datetime,
    ) -> int:
        """End the sessions an IdP names in a SAML LogoutRequest (SAML Core §3.7.1): all of
        the NameID's sessions on that connection, or only those with the given SessionIndex
        (§3.7.3.2). Returns how many were ended. An OpenID Connect logout token names the
        session the same way: ``sub`` as the NameID, ``sid`` as the SessionIndex."""
        ...

    async def end_for_sid(
        self, s: AsyncSession, connection_id: str, sid: str, now: datetime
    ) -> int:
        """End the sessions an OpenID Provider's session ``sid`` started on that connection
        (a Back-Channel Logout 1.0 §2.4 logout token with a ``sid`` and no ``sub``). Returns
        how many were ended."""
        ...


async def load_active(
    store: SessionStore, s: AsyncSession, handle: str | None, now: datetime
) -> ActiveSession | None:
    """The active session of a cookie handle, or ``None``."""
    if not usable_handle(handle):
        return None
    return await store.load(s, session_id_for(handle), now)


async def create_session(
    store: SessionStore, db: Database, draft: SessionDraft, now: datetime
) -> IssuedSession:
    """Stage and publish a session in a unit of work of its own (nothing else to commit with
    it). Set the cookie with :func:`propylon.sessions.cookie.set_session_cookie`."""
    async with db.write() as s:
        pending = await store.stage(s, draft, now)
    return await store.publish(pending, now)
