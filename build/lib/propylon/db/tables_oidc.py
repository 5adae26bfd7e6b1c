"""Tables of upstream OpenID Connect: per-tenant OpenID Providers Propylon signs people in
through as a relying party, and the tokens it accepts only once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base
from propylon.db.types import JSONDoc


class OidcConnection(Base):
    """One OpenID Provider of a tenant (a tenant may have several, beside SAML ones)."""

    __tablename__ = "oidc_connections"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(Text)
    """The OP's issuer identifier; its discovery document must name exactly this one."""
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str | None] = mapped_column(Text)
    """Sealed (``crypto/secretbox.py``): ``client_secret_basic`` / ``client_secret_post``."""
    private_key_pem: Mapped[str | None] = mapped_column(Text)
    """Sealed PEM of the key ``private_key_jwt`` client assertions are signed with."""
    auth_method: Mapped[str] = mapped_column(String(32), default="client_secret_basic")
    """Token endpoint client authentication (OpenID Connect Core §9)."""
    scopes: Mapped[list[str]] = mapped_column(JSONDoc)
    trusted_audiences: Mapped[list[str]] = mapped_column(JSONDoc)
    """Audiences besides the client an ID token may name (Core §3.1.3.7 point 3)."""
    preset: Mapped[str] = mapped_column(String(16), default="generic")
    claim_map: Mapped[dict[str, Any]]
    """Propylon field -> claim name or list of candidate names, as a SAML attribute map."""
    use_userinfo: Mapped[bool] = mapped_column(Boolean, default=False)
    jit: Mapped[bool] = mapped_column(Boolean, default=False)
    match_by: Mapped[str] = mapped_column(String(16), default="email")
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OidcTokenUse(Base):
    """An accepted ID token or logout token (SHA-256 of issuer, kind and ``jti`` or the whole
    token), remembered until it expires so it is never accepted twice; ``connection_id``
    names a row of ``oidc_connections`` or a platform-wide provider (``google``)."""

    __tablename__ = "oidc_token_uses"
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]
