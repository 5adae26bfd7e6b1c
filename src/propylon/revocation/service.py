"""Ending sessions and token families, each with its event in the same transaction.

Every path that ends sign-ins (logout, SAML Single Logout and OpenID Connect Back-Channel
Logout from the IdP, an administrator's revoke, a connection disabled or deleted) goes
through here, so the session store's change, the refresh tokens' ``revoked_at`` and the
``session.revoked`` events (:mod:`propylon.directory.session_events`) commit together; the
events are written through each tenant's :class:`~propylon.directory.events.Outbox`
(gapless per-tenant sequence) as the unit of work's last statements.

With the Redis session store a session ends at once, before the transaction commits (see
:mod:`propylon.sessions.store`): a rolled-back unit leaves it ended without its event, which
errs on the safe side. What makes a connection's sessions dead for good is its cutoff row
(:class:`~propylon.db.tables_revoke.ConnectionCutoff`), read by
:func:`propylon.sessions.service.check_active` in both stores, so a session the Redis indexes
do not name (created before they existed) is dead too, without its own event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_revoke import ConnectionCutoff
from propylon.db.tables_sso import RefreshToken
from propylon.directory import session_events as se
from propylon.directory.events import DomainEvent, EventBus, Outbox, StoredEvent
from propylon.sessions.service import SessionRecord
from propylon.sessions.store import SessionStore

_REFRESH = core(RefreshToken)
_CHUNK = 500


@dataclass
class Outboxes:
    """The events of one unit of work, one :class:`Outbox` per tenant, flushed in tenant
    order (so two units never take two tenants' row locks in opposite orders)."""

    by_tenant: dict[str, Outbox] = field(default_factory=dict)
    written: list[tuple[str, list[StoredEvent]]] = field(default_factory=list)

    def outbox(self, tenant_id: str) -> Outbox:
        if tenant_id not in self.by_tenant:
            self.by_tenant[tenant_id] = Outbox(tenant_id)
        return self.by_tenant[tenant_id]

    def emit(self, tenant_id: str, event: DomainEvent) -> None:
        self.outbox(tenant_id).emit(event)

    async def flush(self, s: AsyncSession, now: datetime) -> None:
        """Write the events: the unit of work's last statements."""
        for tenant_id in sorted(self.by_tenant):
            stored = await self.by_tenant[tenant_id].flush(s, now)
            if stored:
                self.written.append((tenant_id, stored))

    async def published(self, bus: EventBus) -> None:
        """After the commit: tell this process's subscribers (the feed's sequencer)."""
        written, self.written = self.written, []
        for tenant_id, stored in written:
            await bus.published(tenant_id, stored)


def session_event(record: SessionRecord, reason: str) -> DomainEvent:
    return se.session_revoked(
        sid=record.id,
        user_id=record.user_id,
        tenant_id=record.tenant_id,
        auth_method=record.auth_method,
        connection_id=record.connection_id,
        reason=reason,
    )


async def revoke_session_tokens(s: AsyncSession, session_ids: Iterable[str], now: datetime) -> int:
    """Revoke the refresh tokens (so the families, and their access tokens through the
    ``grant_id`` claim) of the given sessions; how many tokens."""
    ids = sorted(set(session_ids))
    conn = await s.connection()
    done = 0
    for i in range(0, len(ids), _CHUNK):
        result = await conn.execute(
            update(_REFRESH)
            .where(_REFRESH.c.session_id.in_(ids[i : i + _CHUNK]), _REFRESH.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        done += int(getattr(result, "rowcount", 0) or 0)
    return done


async def sessions_ended(
    s: AsyncSession,
    records: Sequence[SessionRecord],
    reason: str,
    out: Outboxes,
    now: datetime,
) -> int:
    """Record sessions the store has just ended: their token families revoked, one
    ``session.revoked`` event each. How many."""
    for record in records:
        out.emit(record.tenant_id, session_event(record, reason))
    if records:
        await revoke_session_tokens(s, (r.id for r in records), now)
    return len(records)


async def end_session(
    s: AsyncSession,
    store: SessionStore,
    record: SessionRecord,
    reason: str,
    out: Outboxes,
    now: datetime,
) -> bool:
    """End one session (``record``, as read); ``True`` if it was live until now."""
    if not await store.end(s, record.id, now):
        return False
    await sessions_ended(s, [record], reason, out, now)
    return True


async def cut_off_connection(
    s: AsyncSession,
    store: SessionStore,
    connection_id: str,
    tenant_id: str | None,
    reason: str,
    out: Outboxes,
    now: datetime,
) -> int:
    """The connection is being disabled or deleted: every session it started until now is
    dead for good (its cutoff moves forward to ``now``, never back), those the store can
    find end now with their event and token families. How many ended now."""
    cutoff = await s.get(ConnectionCutoff, connection_id, with_for_update=True)
    if cutoff is None:
        s.add(
            ConnectionCutoff(
                connection_id=connection_id,
                tenant_id=tenant_id,
                sessions_before=now,
                reason=reason,
                updated_at=now,
            )
        )
    else:
        cutoff.sessions_before = max(cutoff.sessions_before, now)
        cutoff.reason, cutoff.updated_at = reason, now
    await s.flush()
    ended = await store.end_for_connection(s, connection_id, now)
    return await sessions_ended(s, ended, reason, out, now)
