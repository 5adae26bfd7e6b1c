"""Tables of the operator console (``/admin``): operator accounts and the console's
server-side sessions, each session stored by the SHA-256 of its cookie's token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class Operator(Base):
    """A person of the platform team who may use the console: a password (argon2id PHC
    string) and a TOTP secret sealed by ``crypto/secretbox`` (purpose ``operator-totp``, row
    the operator id)."""

    __tablename__ = "operators"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    totp_secret: Mapped[str] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The last RFC 6238 time step a code was accepted for: no code of it or before again."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsoleSession(Base):
    """A signed-in console: by password and TOTP (``operator_id``) or by SSO through one of
    Propylon's tenants (``subject``: that tenant's user id). Ends at ``expires_at``, after
    ``idle_seconds`` without a request, or when revoked (sign-out, operator removed)."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the cookie's token; the token itself is never stored."""
    operator_id: Mapped[str | None] = mapped_column(String(64), default=None)
    subject: Mapped[str | None] = mapped_column(String(64), default=None)
    email: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_console_sessions_operator_id", "operator_id"),
        Index("ix_console_sessions_expires_at", "expires_at"),
    )
