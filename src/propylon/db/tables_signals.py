"""Tables of the signals Propylon sends the host platform about ended sessions and changed
claims: which apps each sign-in session reached (OpenID Connect Back-Channel Logout 1.0 §2.7:
the OP sends a logout token to every RP the session logged in to), and the Shared Signals
Framework 1.0 event streams registered by receivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class SessionGrant(Base):
    """One grant (refresh-token family, ``grant_id``) issued to an app for a sign-in session,
    written in the transaction that redeemed the authorization code. No foreign keys: the
    session may live in Redis, and the row outlives a revoked app harmlessly."""

    __tablename__ = "session_grants"
    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    auth_method: Mapped[str] = mapped_column(String(16))
    session_created_at: Mapped[datetime]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """When the session ends at the latest: the row is useless after (purged)."""
    logout_sent_at: Mapped[datetime | None]
    """When a logout token for this grant's session was enqueued (sent once per session)."""


class SsfStream(Base):
    """A Shared Signals Framework 1.0 event stream (SSF §8.1.1) with push delivery (RFC 8935)."""

    __tablename__ = "ssf_streams"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The ``stream_id``."""
    config: Mapped[dict[str, Any]]
    """The receiver-supplied properties kept as given: ``aud``, ``events_requested``,
    ``description``."""
    endpoint_url: Mapped[str] = mapped_column(Text)
    authorization_header: Mapped[str | None] = mapped_column(Text)
    """Sealed (``crypto/secretbox.py``): the ``Authorization`` value pushes carry."""
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    """Only this tenant's events (``None``: every tenant)."""
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    """``enabled`` | ``paused`` | ``disabled`` (SSF §8.1.2)."""
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_ssf_streams_status", "status"),)
