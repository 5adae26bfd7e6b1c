"""The tables. Every tenant-owned row carries ``tenant_id`` so isolation is one predicate away.

Uniqueness rules from the SCIM issue live here as partial unique indexes, so two processes
racing on the same ``userName`` get one row and one ``IntegrityError``, never two users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from propylon.db.types import JSONDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LIVE = text("deleted_at IS NULL")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDoc,
    }


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    seats: Mapped[int | None] = mapped_column(Integer)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set: the tenant is gone for every caller (sign-ins ended, tokens revoked) and its data
    is kept until ``propylon purge`` removes it after the retention period."""
    enforce_sso: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set: people of the tenant's domains sign in only through its SSO connections."""
    allow_password: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    allow_google: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    hostname: Mapped[str | None] = mapped_column(String(253), unique=True, default=None)
    """A vanity host name (matched on ``Host``) whose sign-in goes straight to the SSO."""
    non_sso_sessions_before: Mapped[datetime | None] = mapped_column(default=None)
    """Password and Google sessions of the tenant created at or before this instant are dead
    (:func:`propylon.sessions.service.check_active`): set when the tenant starts enforcing
    SSO, only ever moved forward."""


class TenantDomain(Base):
    __tablename__ = "tenant_domains"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    connection_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """The tenant's connection (SAML or OIDC) this domain's people sign in through; none: the
    tenant's only connection (with several, a login from an unbound domain is refused)."""
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default="operator", server_default="operator")
    """``operator`` (CLI/API: trusted at once) or ``self_service`` (routes only once proved
    in DNS)."""
    verification_token: Mapped[str | None] = mapped_column(String(128), default=None)
    """The value of the DNS TXT record that proves control of the domain."""
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    lapsed_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set when a re-check no longer finds the proof: the domain stops routing."""


class ScimDirectory(Base):
    __tablename__ = "scim_directories"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set: tokens revoked, users deprovisioned; purged after the retention period."""


class ScimToken(Base):
    """A SCIM bearer token; only its SHA-256 is stored."""

    __tablename__ = "scim_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    directory_id: Mapped[str] = mapped_column(
        ForeignKey("scim_directories.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(Base):
    """A management API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A directory user. ``doc`` is the full SCIM representation (minus id/meta/groups), so
    extension attributes an IdP sends are kept; hot attributes are mirrored into columns."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    directory_id: Mapped[str | None] = mapped_column(
        ForeignKey("scim_directories.id", ondelete="SET NULL")
    )
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_ci: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    doc: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    """Set by SCIM DELETE: gone from SCIM, retained as deprovisioned until ``purge``."""
    revocation_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Goes up by one each time every sign-in of the user is revoked (deactivation,
    deprovisioning) and never goes back: a session, and so its tokens, is active only while
    it carries the epoch it was created in (:func:`propylon.sessions.service.check_active`)."""

    __table_args__ = (
        Index(
            "uq_users_tenant_username_live",
            "tenant_id",
            "user_name_ci",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "uq_users_directory_externalid_live",
            "directory_id",
            "external_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
        ),
        # A directory's live users in listing order: pages walk it, counts read only it.
        Index(
            "ix_users_live_listing",
            "tenant_id",
            "directory_id",
            "created_at",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index("ix_users_tenant_email", "tenant_id", "email"),
    )


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    directory_id: Mapped[str | None] = mapped_column(
        ForeignKey("scim_directories.id", ondelete="SET NULL")
    )
    display_name: Mapped[str] = mapped_column(String(255))
    display_name_ci: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_groups_directory_name", "directory_id", "display_name_ci"),
        Index(
            "uq_groups_directory_externalid_live",
            "directory_id",
            "external_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
        ),
    )


class GroupMember(Base):
    """Membership edge. ``member_type`` is ``User`` or ``Group`` (nested groups)."""

    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_type: Mapped[str] = mapped_column(String(8), default="User")
    tenant_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_group_members_member", "member_id"),)


class Event(Base):
    """Transactional outbox: written in the same transaction as the change it describes.

    ``seq`` is gapless per tenant, allocated from ``tenants.event_seq`` under the tenant row lock.
    """

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    directory_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(16))
    target_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),)


class ReplayEntry(Base):
    """Embedded-mode replay cache (assertion ids etc.): a key seen once until it expires."""

    __tablename__ = "replay_cache"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime]


def core(model: type[Base]) -> Table:
    """The Core ``Table`` of a mapped class, for prebuilt statements on hot paths."""
    return Base.metadata.tables[model.__tablename__]


def column_chars(model: type[Base], column: str) -> int:
    """The length of a ``String`` column: the most characters a value stored there may have
    (checked before the write, so an overlong value is refused, never a database error)."""
    kind = core(model).c[column].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{model.__tablename__}.{column} is not a bounded string column")
    return kind.length
