"""Tables of password accounts: a user's password credential, and the single-use links
(email verification, password reset) mailed to people, stored by the SHA-256 of their token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class PasswordCredential(Base):
    """A user's password (at most one). It exists only once its email was proved by a link,
    so a credential always names a verified address (``email_verified_at``)."""

    __tablename__ = "password_credentials"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    """The verified address (lower case) the password signs in with, one per tenant."""
    password_hash: Mapped[str] = mapped_column(Text)
    """The argon2id PHC string (RFC 9106), with its own salt and parameters."""
    email_verified_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("uq_password_credentials_tenant_email", "tenant_id", "email", unique=True),
    )


class PasswordToken(Base):
    """A link mailed to a person: ``verify`` (finishes a sign-up: the pending account is
    here, password hash included) or ``reset``. Used at most once (``used_at``), never after
    ``expires_at``."""

    __tablename__ = "password_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the token in the link; the token itself is never stored."""
    purpose: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    browser_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """SHA-256 of a cookie the signing-up browser got: the link signs in only that browser."""
    return_to: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_password_tokens_expires_at", "expires_at"),)
