"""Tables of sign-in: OAuth clients (the host platform's apps), signing keys, sessions,
authorization codes and refresh tokens. Secrets and tokens are stored as SHA-256 only;
private keys sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class OAuthClient(Base):
    """A downstream application registered with ``propylon app create``."""

    __tablename__ = "oauth_clients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The ``client_id``."""
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the client secret; ``None`` for a public client (PKCE required)."""
    redirect_uris: Mapped[dict[str, Any]]
    """``{"uris": [...]}``, matched exactly."""
    post_logout_redirect_uris: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SigningKey(Base):
    """An asymmetric signing key: ``private_jwk`` is ``{"sealed": ...}``, the private JWK
    sealed (``oauth_store/signing_keys.py seal_jwk``; the plain JWK only in a row from before
    sealing, until the next start seals it). Old keys stay published in JWKS
    until ``retire_at`` so tokens they signed keep verifying during rotation."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    active_from: Mapped[datetime]
    retire_at: Mapped[datetime | None]


class LoginSession(Base):
    """A server-side sign-in session (the ``sid`` claim) in the embedded mode; production
    mode keeps sessions in Redis instead (:mod:`propylon.sessions.store_redis`)."""

    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_method: Mapped[str] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    idp_session_index: Mapped[str | None] = mapped_column(String(255))
    name_id: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    authenticated_at: Mapped[datetime | None]
    user_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The user's ``revocation_epoch`` when the session was created."""
    name_id_format: Mapped[str | None] = mapped_column(Text)
    name_qualifier: Mapped[str | None] = mapped_column(Text)
    sp_name_qualifier: Mapped[str | None] = mapped_column(Text)
    """The NameID's Format and qualifiers (SAML Core §2.2.3), repeated in a LogoutRequest."""

    __table_args__ = (
        Index("ix_login_sessions_name_id", "connection_id", "name_id"),
        Index("ix_login_sessions_idp_session", "connection_id", "idp_session_index"),
    )


class AuthorizationCode(Base):
    __tablename__ = "oauth_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    """The sign-in session (``sid``). No foreign key: in production mode sessions live in
    Redis, so the code is checked against the session store when redeemed."""
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RefreshToken(Base):
    """Refresh tokens rotate on every use; presenting a used one revokes its whole family
    (OAuth 2.0 Security BCP, RFC 9700 §4.14.2)."""

    __tablename__ = "oauth_refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    """The sign-in session (no foreign key, see :class:`AuthorizationCode`): every refresh
    loads it from the session store, so an ended or expired session refuses the token."""
    scope: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
