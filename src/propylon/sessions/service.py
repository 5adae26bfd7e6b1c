"""Sign-in sessions: what a session is, and the one rule that makes it active.

The browser holds a random 256-bit handle in the ``propylon_session`` cookie; the session id
is the SHA-256 of that handle, so a leak of the store yields no usable cookie and the id can be
published as the ``sid`` claim (OpenID Connect Front/Back-Channel Logout §2).

A session lasts ``min(lifetime, the IdP's SessionNotOnOrAfter)`` (SAML Core §2.7.2: the IdP
asks the SP to end the session by then). It is *active* only while it is not ended, not
expired, its user is neither deactivated (``users.active`` false) nor deprovisioned
(``deleted_at`` set), and it was created in the user's current *revocation epoch*; a
password or Google session must also be younger than its tenant's
``non_sso_sessions_before`` (set when the tenant starts enforcing SSO, never moved back:
those sessions stay dead if enforcement ends), and a SAML or OIDC session younger than its
connection's cutoff (``connection_cutoffs.sessions_before``, set when the connection is
disabled or deleted, likewise never moved back).

The epoch is the durable record of a revocation: deactivating or deprovisioning a user
raises ``users.revocation_epoch`` in the same transaction (:func:`propylon.directory.users.
revoke_sign_ins`), and nothing ever lowers it. A session records the epoch it was created in
(read with the user in the sign-in's own statement, so a deactivation racing the sign-in
leaves it dead either way), so every session of before, and every refresh token and access
token naming it, stays refused after a reactivation: a reactivated user signs in afresh.
Neither store has to find a user's sessions to end them, which Redis cannot.
:func:`check_active` is the whole rule, in one place; both stores
(:mod:`propylon.sessions.store_db`, :mod:`propylon.sessions.store_redis`) apply it, always
against the user and tenant read from the database, so a SCIM deactivation is seen at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User, core
from propylon.db.tables_revoke import ConnectionCutoff, EndedSession
from propylon.ids import new_secret
from propylon.tenants.credentials import hash_secret

COOKIE_NAME = "propylon_session"
AUTH_METHODS = frozenset({"saml", "oidc", "password", "google"})
NON_SSO_METHODS = frozenset({"password", "google"})
"""Methods a tenant that enforces SSO refuses (and whose sessions of before it ends)."""
DEFAULT_LIFETIME = timedelta(hours=8)
MAX_HANDLE_LENGTH = 256


@dataclass(frozen=True)
class SessionDraft:
    """What a sign-in knows about the session it starts."""

    tenant_id: str
    user_id: str
    auth_method: str
    connection_id: str | None = None
    name_id: str | None = None
    """The SAML NameID, kept so an IdP's LogoutRequest can name the session."""
    session_index: str | None = None
    """The IdP's SessionIndex (SAML Core §2.7.2)."""
    not_on_or_after: datetime | None = None
    """The IdP's SessionNotOnOrAfter: the session never outlives it."""
    authenticated_at: datetime | None = None
    """When the person authenticated (a SAML AuthnInstant); the sign-in's own time if
    unknown, and never later than it."""
    user_epoch: int = 0
    """The user's ``revocation_epoch`` as read with the user when the sign-in checked that
    they are active (:attr:`SessionUser.revocation_epoch`)."""
    name_id_format: str | None = None
    name_qualifier: str | None = None
    sp_name_qualifier: str | None = None
    """The NameID's Format, NameQualifier and SPNameQualifier (SAML Core §2.2.3): an
    SP-initiated LogoutRequest names the NameID with them (§3.7.1)."""


@dataclass(frozen=True)
class SessionRecord:
    """A stored session, whichever store holds it."""

    id: str
    tenant_id: str
    user_id: str
    auth_method: str
    connection_id: str | None
    idp_session_index: str | None
    name_id: str | None
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    authenticated_at: datetime | None = None
    """When the person authenticated at the IdP (``None``: a session stored before this was
    kept, :attr:`auth_time` is then its creation)."""
    user_epoch: int = 0
    """The user's revocation epoch the session was created in (see the module docstring)."""
    name_id_format: str | None = None
    name_qualifier: str | None = None
    sp_name_qualifier: str | None = None

    @property
    def auth_time(self) -> datetime:
        """OpenID Connect Core §2 ``auth_time``: when the authentication occurred."""
        return self.authenticated_at or self.created_at


@dataclass(frozen=True)
class IssuedSession:
    """A stored session: ``handle`` goes into the cookie (shown once), ``id`` is the ``sid``."""

    id: str
    handle: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class PendingSession:
    """A session staged in a unit of work and not yet published (see
    :meth:`propylon.sessions.store.SessionStore.stage`). It is not an :class:`IssuedSession`,
    so no cookie can be set from it."""

    record: SessionRecord
    handle: str = field(repr=False)

    @property
    def id(self) -> str:
        return self.record.id


@dataclass(frozen=True)
class SessionUser:
    """The session's directory user, as read for this request."""

    id: str
    tenant_id: str
    email: str | None
    display_name: str | None
    given_name: str | None
    family_name: str | None
    active: bool
    deleted_at: datetime | None
    revocation_epoch: int = 0


@dataclass(frozen=True)
class SessionTenant:
    id: str
    slug: str
    name: str
    non_sso_sessions_before: datetime | None = None
    """Password and Google sessions created at or before it are dead (the tenant enforces
    SSO, or did)."""


@dataclass(frozen=True)
class ActiveSession:
    record: SessionRecord
    user: SessionUser
    tenant: SessionTenant

    @property
    def id(self) -> str:
        return self.record.id


def session_id_for(handle: str) -> str:
    return hash_secret(handle)


def usable_handle(handle: str | None) -> TypeGuard[str]:
    """A cookie value worth looking up (bounded length, not empty)."""
    return handle is not None and 0 < len(handle) <= MAX_HANDLE_LENGTH


def new_pending(draft: SessionDraft, now: datetime, lifetime: timedelta) -> PendingSession:
    """A fresh handle and the record of a session lasting ``min(lifetime,
    SessionNotOnOrAfter)``. Pure: the store decides where and when it is written."""
    if draft.auth_method not in AUTH_METHODS:
        raise ValueError(f"unknown auth method {draft.auth_method!r}")
    expires = now + lifetime
    if draft.not_on_or_after is not None and draft.not_on_or_after < expires:
        expires = draft.not_on_or_after
    handle = new_secret("ps")
    record = SessionRecord(
        id=session_id_for(handle),
        tenant_id=draft.tenant_id,
        user_id=draft.user_id,
        auth_method=draft.auth_method,
        connection_id=draft.connection_id,
        idp_session_index=draft.session_index,
        name_id=draft.name_id,
        created_at=now,
        expires_at=expires,
        authenticated_at=min(draft.authenticated_at or now, now),
        user_epoch=draft.user_epoch,
        name_id_format=draft.name_id_format,
        name_qualifier=draft.name_qualifier,
        sp_name_qualifier=draft.sp_name_qualifier,
    )
    return PendingSession(record, handle)


def issued(pending: PendingSession) -> IssuedSession:
    return IssuedSession(pending.record.id, pending.handle, pending.record.expires_at)


def check_active(
    record: SessionRecord | None,
    user: SessionUser | None,
    tenant: SessionTenant | None,
    now: datetime,
    connection_cutoff: datetime | None = None,
) -> bool:
    """The one validity rule (see the module docstring). ``connection_cutoff`` is the
    ``sessions_before`` of the session's connection, if it has one."""
    return (
        record is not None
        and user is not None
        and tenant is not None
        and user.id == record.user_id
        and user.tenant_id == record.tenant_id
        and tenant.id == record.tenant_id
        and record.ended_at is None
        and record.expires_at > now
        and user.active
        and user.deleted_at is None
        and record.user_epoch == user.revocation_epoch
        and not _ended_by_enforcement(record, tenant)
        and not ended_by_connection(record, connection_cutoff)
    )


def ended_by_connection(record: SessionRecord, cutoff: datetime | None) -> bool:
    """The session came through a connection that was disabled or deleted after it began."""
    return cutoff is not None and record.connection_id is not None and record.created_at <= cutoff


def _ended_by_enforcement(record: SessionRecord, tenant: SessionTenant) -> bool:
    cutoff = tenant.non_sso_sessions_before
    return (
        cutoff is not None and record.auth_method in NON_SSO_METHODS and record.created_at <= cutoff
    )


_USERS, _TENANTS, _CUTOFFS = core(User), core(Tenant), core(ConnectionCutoff)
_ENDED = core(EndedSession)
CONNECTION_CUTOFF = _CUTOFFS.c.sessions_before
"""The column of a session's connection cutoff (outer-joined on its ``connection_id``)."""
IDENTITY_COLUMNS = (
    _USERS.c.id,
    _USERS.c.tenant_id,
    _USERS.c.email,
    _USERS.c.display_name,
    _USERS.c.given_name,
    _USERS.c.family_name,
    _USERS.c.active,
    _USERS.c.deleted_at,
    _USERS.c.revocation_epoch,
    _TENANTS.c.slug,
    _TENANTS.c.name,
    _TENANTS.c.non_sso_sessions_before,
)
"""What a session needs of its user and tenant, read with one prebuilt Core statement (the
last :data:`IDENTITY_COLUMNS` columns of a row, see :func:`identity_of`)."""
# By the user's primary key alone: :func:`check_active` compares the tenant. (With the tenant
# in the WHERE clause too, PostgreSQL may walk the tenant's users on ``ix_users_tenant_email``.)
_IDENTITY = (
    select(CONNECTION_CUTOFF, _ENDED.c.session_id, *IDENTITY_COLUMNS)
    .join_from(_USERS, _TENANTS, _TENANTS.c.id == _USERS.c.tenant_id)
    .outerjoin(_CUTOFFS, _CUTOFFS.c.connection_id == bindparam("connection_id"))
    .outerjoin(_ENDED, _ENDED.c.session_id == bindparam("session_id"))
    .where(_USERS.c.id == bindparam("user_id"))
)


def identity_of(row: Sequence[Any]) -> tuple[SessionUser, SessionTenant]:
    """The user and tenant in the last ``len(IDENTITY_COLUMNS)`` columns of ``row``."""
    uid, tid, email, display, given, family, active, deleted, epoch, slug, name, cutoff = row[
        -len(IDENTITY_COLUMNS) :
    ]
    user = SessionUser(uid, tid, email, display, given, family, bool(active), deleted, epoch)
    return user, SessionTenant(tid, slug, name, cutoff)


async def with_identity(
    s: AsyncSession, record: SessionRecord | None, now: datetime
) -> ActiveSession | None:
    """``record`` with its user and tenant read from the database, if the session is active."""
    if record is None or not check_active_times(record, now):
        return None
    conn = await s.connection()
    params = {
        "user_id": record.user_id,
        "connection_id": record.connection_id,
        "session_id": record.id,
    }
    found = (await conn.execute(_IDENTITY, params)).first()
    if found is None or found[1] is not None:  # a durable record says it ended
        return None
    user, tenant = identity_of(found)
    if not check_active(record, user, tenant, now, found[0]):
        return None
    return ActiveSession(record, user, tenant)


def check_active_times(record: SessionRecord, now: datetime) -> bool:
    """The session half of :func:`check_active`, to skip a database read for a dead session."""
    return record.ended_at is None and record.expires_at > now
