"""Who an upstream sign-in is, whatever the protocol: the tenant's directory user found by one
column (email, userName or externalId), or a user provisioned just in time from the profile
the IdP sent, through the connection's attribute (SAML) or claim (OpenID Connect) map. Both
come with what a session needs of the user and tenant
(:data:`~propylon.sessions.service.IDENTITY_COLUMNS`), so a sign-in reads them once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain, User, core
from propylon.directory.errors import SeatLimitReached
from propylon.directory.events import Outbox
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA
from propylon.directory.scope import DirectoryScope, ensure_seat_available
from propylon.directory.users import UserDraft, create_user
from propylon.sessions.service import IDENTITY_COLUMNS, SessionTenant, SessionUser, identity_of
from propylon.tenants.attribute_maps import values_of
from propylon.tenants.domains import ROUTABLE
from propylon.tenants.login_routes import email_domain

Identity = tuple[SessionUser, SessionTenant]
Column = Literal["email", "user_name_ci", "external_id"]

_USERS, _TENANTS, _DOMAINS = core(User), core(Tenant), core(TenantDomain)
_OWNED = select(_DOMAINS.c.domain).where(_DOMAINS.c.tenant_id == bindparam("tenant_id"), ROUTABLE)
_SEATS = select(_TENANTS.c.seats, _TENANTS.c.slug, _TENANTS.c.name).where(
    _TENANTS.c.id == bindparam("tenant_id")
)
# How a login finds its user, with what its session needs of the user and tenant; a live
# record wins over a deprovisioned one.
_MATCH = {
    column: select(*IDENTITY_COLUMNS)
    .join_from(_USERS, _TENANTS, _TENANTS.c.id == _USERS.c.tenant_id)
    .where(_USERS.c.tenant_id == bindparam("tenant_id"), _USERS.c[column] == bindparam("value"))
    .order_by(_USERS.c.deleted_at.is_not(None))
    .limit(1)
    for column in ("email", "user_name_ci", "external_id")
}


def first_value(
    attributes: Mapping[str, Sequence[str]], attribute_map: Mapping[str, Any], field: str
) -> str | None:
    """The first value of the attribute (or claim) the map names for ``field``."""
    values = values_of(attributes, attribute_map, field)
    return values[0] if values else None


async def find_by(s: AsyncSession, tenant_id: str, column: Column, value: str) -> Identity | None:
    """The tenant's user whose ``column`` is ``value`` (lower-cased by the caller for the
    case-insensitive columns), with its tenant."""
    params = {"tenant_id": tenant_id, "value": value}
    row = (await (await s.connection()).execute(_MATCH[column], params)).first()
    return identity_of(row) if row is not None else None


class JitRefused(Exception):
    """Just-in-time provisioning refused: ``reason`` (stable, for the audit trail and the test
    connection's ``user`` stage), the message for the person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


_JIT_REFUSALS = {
    "email_domain_not_owned": "Your email address is not of a domain of this organization, so "
    "no account can be made for it. Ask your IT administrator.",
    "seat_limit_reached": "This organization has no licence seat left for a new account. Ask "
    "your IT administrator.",
}


async def jit_refusal(
    s: AsyncSession, tenant_id: str, email: str, vouched: Sequence[str] = ()
) -> JitRefused | None:
    """Why a user for ``email`` may not be made just in time, if not: the email's domain is
    not one of the tenant's domains (those that route its people: ``tenants/domains.py``
    ``ROUTABLE``) when the tenant has any (an IdP that sends people of another domain would
    otherwise fill the tenant with strangers; ``vouched``: other domains the IdP proves the
    person belongs to, such as Google Workspace's ``hd``), or every licence seat is taken (the check
    :func:`~propylon.directory.scope.ensure_seat_available` makes, in this transaction)."""
    params = {"tenant_id": tenant_id}
    owned = set((await s.execute(_OWNED, params)).scalars())
    if owned and not owned & {email_domain(email), *vouched}:
        return JitRefused("email_domain_not_owned", _JIT_REFUSALS["email_domain_not_owned"])
    seats = (await s.execute(_SEATS, params)).one().seats
    try:
        await ensure_seat_available(s, DirectoryScope(tenant_id, None, None, seats))
    except SeatLimitReached:
        return JitRefused("seat_limit_reached", _JIT_REFUSALS["seat_limit_reached"])
    return None


async def provision(
    s: AsyncSession,
    tenant_id: str,
    email: str,
    attributes: Mapping[str, Sequence[str]],
    attribute_map: Mapping[str, Any],
    now: datetime,
    vouched: Sequence[str] = (),
) -> Identity:
    """A new directory user of ``tenant_id`` for ``email``, named by the map;
    :class:`JitRefused` when :func:`jit_refusal` says no."""
    refused = await jit_refusal(s, tenant_id, email, vouched)
    if refused is not None:
        raise refused
    seats, slug, name = (await s.execute(_SEATS, {"tenant_id": tenant_id})).one()
    scope = DirectoryScope(tenant_id, None, None, seats)
    outbox = Outbox(tenant_id)

    def field(name: str) -> str | None:
        return first_value(attributes, attribute_map, name)

    draft = UserDraft(
        user_name=email,
        email=email,
        display_name=field("display_name"),
        given_name=field("given_name"),
        family_name=field("family_name"),
        department=field("department"),
        doc=_jit_doc(email, field("department")),
    )
    try:
        user = await create_user(s, scope, draft, outbox, now)
    except SeatLimitReached as exc:
        raise JitRefused("seat_limit_reached", _JIT_REFUSALS["seat_limit_reached"]) from exc
    await outbox.flush(s, now)
    found = SessionUser(
        user.id,
        tenant_id,
        user.email,
        user.display_name,
        user.given_name,
        user.family_name,
        user.active,
        user.deleted_at,
        user.revocation_epoch,
    )
    return found, SessionTenant(tenant_id, slug, name)


def _jit_doc(email: str, department: str | None) -> dict[str, Any]:
    """The SCIM document of a user made at sign-in (what rules on attributes read): the
    address, and the department in the enterprise extension (RFC 7643 §4.3) when mapped."""
    doc: dict[str, Any] = {"userName": email, "emails": [{"value": email, "primary": True}]}
    if department:
        doc[ENTERPRISE_USER_SCHEMA] = {"department": department}
    return doc
