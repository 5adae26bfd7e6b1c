"""Tables of the delivery queue (``delivery/``) and of webhook endpoints (``webhooks/``).

A queue item is ordered within its key ``(kind, destination, tenant_id)`` (``order_key``) by
its ``id``, which grows in the order of enqueueing; only the oldest ``pending`` item of a key
(its head) is ever attempted. Every attempt is a row of ``delivery_attempts`` (the log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""An auto-incrementing id: BIGINT identity on PostgreSQL, the rowid on SQLite."""


class DeliveryItem(Base):
    __tablename__ = "delivery_queue"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str | None] = mapped_column(String(64), default=None)
    order_key: Mapped[str] = mapped_column(String(200))
    """``kind`` / ``destination`` / ``tenant_id``: items of one key go out one at a time."""
    payload: Mapped[dict[str, Any]]
    event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending`` | ``delivered`` | ``dead`` | ``dropped`` (its destination is gone)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    retry_since: Mapped[datetime]
    """Start of the current retry period (the enqueueing, or the last replay)."""
    claim: Mapped[str | None] = mapped_column(String(32), default=None)
    """The token of the worker attempting it now, until ``claimed_until``."""
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_delivery_queue_key_state", "order_key", "state", "id"),
        Index("ix_delivery_queue_state_next", "state", "next_attempt_at"),
        Index("ix_delivery_queue_destination", "kind", "destination", "id"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(BigInteger, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    """``delivered`` | ``retry`` | ``dead`` | ``dropped``."""
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class WebhookEndpoint(Base):
    """A URL the platform registered for events (Standard Webhooks). The signing secret is
    sealed at rest (``crypto/secretbox``); during a rotation the previous one stays valid
    until ``previous_secret_expires_at`` and both signatures are sent."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    tenant_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """Only this tenant's events; none: every tenant's."""
    event_types: Mapped[dict[str, Any]]
    """``{"types": [...]}``; empty: every type. ``user.*`` matches a prefix."""
    description: Mapped[str] = mapped_column(String(255), default="")
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
