"""Tables of revocation: the per-connection cutoff that ends a SAML or OIDC connection's
sessions for good when it is disabled or deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class ConnectionCutoff(Base):
    """Sessions a connection started at or before ``sessions_before`` are dead
    (:func:`propylon.sessions.service.check_active`), in either session store. Set when the
    connection is disabled or deleted, moved forward only, never removed: re-enabling the
    connection (or a new one reusing nothing of it) brings none of them back. No foreign key:
    the row outlives a deleted connection."""

    __tablename__ = "connection_cutoffs"
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    sessions_before: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class EndedSession(Base):
    """A Redis-held session ended one by one (logout, SAML SLO, OIDC back-channel logout, an
    administrator's revoke, a connection disabled): its durable record, written in the
    transaction that ended it and read with the session's user
    (:func:`propylon.sessions.service.with_identity`), so the session stays dead whatever
    Redis later holds (a restore from an older snapshot). Kept until the session would have
    expired (``propylon purge``). The database store's rows carry ``ended_at`` themselves."""

    __tablename__ = "ended_sessions"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]
