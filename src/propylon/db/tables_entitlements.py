"""Tables of entitlements: the platform's catalogue of roles, tiers and programs, each
tenant's versioned rule set with its history, and each user's computed entitlements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from propylon.db.tables import Base


class CatalogEntry(Base):
    """A role, tier or program the platform declares: rules grant nothing else."""

    __tablename__ = "entitlement_catalog"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """``role``, ``tier`` or ``program``."""
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("kind", "name"),)


class RuleSetRow(Base):
    """A tenant's current rule set (``entitlements/rules.py``); its version is mirrored in
    ``tenants.entitlement_rules_version`` so the SCIM path knows for free whether it has one."""

    __tablename__ = "entitlement_rule_sets"
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class RuleSetVersion(Base):
    """Every saved version of a tenant's rule set (the audit entry has the before/after)."""

    __tablename__ = "entitlement_rule_versions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict[str, Any]]
    actor: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("tenant_id", "version"),)


class UserEntitlements(Base):
    """A user's computed entitlements with their version, and the IdP groups last seen at an
    SSO sign-in (inputs of the rules beside the SCIM groups)."""

    __tablename__ = "user_entitlements"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    roles: Mapped[dict[str, Any]]
    """``{"names": [...]}``"""
    tier: Mapped[str | None] = mapped_column(String(255), default=None)
    programs: Mapped[dict[str, Any]]
    """``{"names": [...]}``"""
    idp_groups: Mapped[dict[str, Any]]
    """``{"names": [...]}``: the group claim of the last SAML/OIDC sign-in."""
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_user_entitlements_tenant", "tenant_id"),)
