"""Tables of upstream SAML 2.0: per-tenant IdP connections and pending AuthnRequests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class SamlConnection(Base):
    """One SAML IdP of a tenant (a tenant may have several)."""

    __tablename__ = "saml_connections"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    idp_entity_id: Mapped[str] = mapped_column(Text)
    sso_url: Mapped[str] = mapped_column(Text)
    slo_url: Mapped[str | None] = mapped_column(Text)
    slo_response_url: Mapped[str | None] = mapped_column(Text)
    """The IdP's SLO ``ResponseLocation`` when it differs from ``slo_url``."""
    idp_certificates: Mapped[dict[str, Any]]
    """``{"pem": [...]}``: every trusted signing certificate (rotation without downtime)."""
    metadata_url: Mapped[str | None] = mapped_column(Text)
    metadata_refreshed_at: Mapped[datetime | None]
    sp_entity_id: Mapped[str] = mapped_column(String(512), unique=True)
    sp_private_key_pem: Mapped[str] = mapped_column(Text)
    """The connection's SP key, sealed (``tenants/saml_connections.py seal_sp_key``; plain PEM
    only in a row from before sealing, until the next start seals it): decrypts
    EncryptedAssertions, signs AuthnRequests and LogoutRequests/Responses. Never leaves the
    server; the certificate is in SP metadata."""
    sp_certificate_pem: Mapped[str] = mapped_column(Text)
    sign_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_idp_initiated: Mapped[bool] = mapped_column(Boolean, default=False)
    idp_initiated_client_id: Mapped[str | None] = mapped_column(String(64))
    """The app (OAuth ``client_id``) IdP-initiated logins land in; ``None``: the only
    confidential app, if there is exactly one (:mod:`propylon.signin.landing`). No foreign
    key: apps are revoked, not deleted, so the app is checked when it is used."""
    jit: Mapped[bool] = mapped_column(Boolean, default=False)
    match_by: Mapped[str] = mapped_column(String(16), default="email")
    """How a login finds its directory user: ``email``, ``user_name`` or ``external_id``
    (compared with the NameID for the last two)."""
    attribute_map: Mapped[dict[str, Any]]
    """Propylon field -> IdP attribute name, or a list of candidate names (the first the
    assertion carries wins): ``email``, ``given_name``, ``family_name``, ``display_name``,
    ``department``, ``groups`` (:mod:`propylon.tenants.attribute_maps`)."""
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set: no sign-in or logout uses the connection (kept, can be enabled again)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SamlRequest(Base):
    """A pending SP-initiated LogoutRequest (``signin/saml_slo.py``): its ID is checked as
    InResponseTo of the IdP's LogoutResponse. Pending AuthnRequests are no longer stored here
    (since issue 12 they live in the starting browser's sealed cookie,
    ``sessions/pending_cookie.py``); rows from before are removed by ``propylon purge``."""

    __tablename__ = "saml_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("saml_connections.id", ondelete="CASCADE")
    )
    relay_state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    return_to: Mapped[str] = mapped_column(Text)
    force_authn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The request asked the IdP to authenticate the person anew (SAML Core §3.4.1)."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class SamlAssertionId(Base):
    """An accepted assertion's id (SHA-256, hex), remembered per connection until the
    assertion could no longer be valid (SAML Profiles §4.1.4.5): written in the sign-in's
    transaction, so it survives a restart of any cache; ``propylon purge`` removes it after
    ``expires_at``."""

    __tablename__ = "saml_assertion_ids"
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("saml_connections.id", ondelete="CASCADE"), primary_key=True
    )
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]
