"""Tables of the setup portal: the links a host platform hands a customer's IT admin, and
the browser sessions they open (``portal/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class PortalLink(Base):
    """A setup link (``plk_…``): the bearer token it carries (``ptl_…``) stored as SHA-256
    only, scoped to one tenant and some intents, redeemable once before ``expires_at`` unless
    revoked. Revoking it ends the portal session it opened at once."""

    __tablename__ = "portal_links"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    intents: Mapped[dict[str, Any]]
    """``{"intents": ["sso", …]}``"""
    expires_at: Mapped[datetime]
    return_url: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    """Who asked for it (``api_key:key_…``, ``cli``, ``operator:…``)."""
    created_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class PortalSession(Base):
    """The portal session a link opened in one browser: its cookie's secret stored as
    SHA-256 only; checked with its link on every request."""

    __tablename__ = "portal_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    link_id: Mapped[str] = mapped_column(
        ForeignKey("portal_links.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
