"""Tables of the setup a customer's IT admin is guided through: the results of test
connections (``setup/tests_store.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class ConnectionTestRow(Base):
    """One test of a SAML or OIDC connection: a real sign-in at the IdP that starts no
    session. Written ``pending`` when started (by a portal or console user) and once more
    with the result when the IdP's answer came back to the browser that started it. No
    foreign keys: a test outlives the connection it tried harmlessly (purged with it)."""

    __tablename__ = "connection_tests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    connection_id: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(8))
    """``saml`` | ``oidc``"""
    vendor: Mapped[str] = mapped_column(String(32), default="generic")
    """The IdP's vendor as the admin chose it (``okta``, ``entra``…): remedies name its fields."""
    status: Mapped[str] = mapped_column(String(16))
    """``pending`` | ``passed`` | ``failed``"""
    result_path: Mapped[str] = mapped_column(Text)
    """Where the browser goes once the result is recorded (a local path)."""
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """A pending test is answered before this (the pending login's lifetime) or never."""
    finished_at: Mapped[datetime | None]
    failed_stage: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any]]
    """``{"stages": [...], "remedy", "attributes", "mapped", "user"}``, bounded."""

    __table_args__ = (
        Index("ix_connection_tests_tenant_id_connection_id", "tenant_id", "connection_id"),
    )
