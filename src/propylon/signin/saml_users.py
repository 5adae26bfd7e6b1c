"""Who a SAML login is: the tenant's directory user an assertion names, matched by NameID,
email or externalId as the connection says (``match_by``), or a user provisioned just in time
where the connection allows it. Both come with what a session needs of the user and tenant
(:data:`~propylon.sessions.service.IDENTITY_COLUMNS`), so the login reads them once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User, core
from propylon.directory.events import Outbox
from propylon.directory.scope import DirectoryScope
from propylon.directory.users import UserDraft, create_user
from propylon.saml import Assertion
from propylon.sessions.service import IDENTITY_COLUMNS, SessionTenant, SessionUser, identity_of
from propylon.tenants.attribute_maps import values_of
from propylon.tenants.saml_connections import ConnectionRecord

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
Identity = tuple[SessionUser, SessionTenant]

_USERS, _TENANTS = core(User), core(Tenant)
# How a login finds its user (``match_by``), with what its session needs of the user and
# tenant; a live record wins over a deprovisioned one.
_MATCH = {
    column: select(*IDENTITY_COLUMNS)
    .join_from(_USERS, _TENANTS, _TENANTS.c.id == _USERS.c.tenant_id)
    .where(_USERS.c.tenant_id == bindparam("tenant_id"), _USERS.c[column] == bindparam("value"))
    .order_by(_USERS.c.deleted_at.is_not(None))
    .limit(1)
    for column in ("email", "user_name_ci", "external_id")
}


def attribute(assertion: Assertion, conn: ConnectionRecord, field: str) -> str | None:
    """The first value of the assertion attribute the connection maps ``field`` to."""
    values = values_of(assertion.attributes, conn.attribute_map, field)
    return values[0] if values else None


async def find_user(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion
) -> tuple[Identity | None, str | None]:
    """The directory user the assertion names (by the connection's ``match_by``) with its
    tenant, if any, and the email the assertion carries."""
    email = attribute(assertion, conn, "email")
    if email is None and (assertion.name_id_format == EMAIL_FORMAT or "@" in assertion.name_id):
        email = assertion.name_id
    if conn.match_by == "email":
        if not email:
            return None, None
        column, value = "email", email.lower()
    elif conn.match_by == "user_name":
        column, value = "user_name_ci", assertion.name_id.lower()
    else:
        column, value = "external_id", assertion.name_id
    params = {"tenant_id": conn.tenant_id, "value": value}
    row = (await (await s.connection()).execute(_MATCH[column], params)).first()
    return (identity_of(row) if row is not None else None), email


async def provision_just_in_time(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion, email: str, now: datetime
) -> Identity:
    """A new directory user for ``email``, named by the connection's attribute mapping (the
    connection allows JIT provisioning; the tenant's seat limit applies)."""
    query = select(_TENANTS.c.seats, _TENANTS.c.slug, _TENANTS.c.name)
    seats, slug, name = (await s.execute(query.where(_TENANTS.c.id == conn.tenant_id))).one()
    scope = DirectoryScope(conn.tenant_id, None, None, seats)
    outbox = Outbox(conn.tenant_id)
    draft = UserDraft(
        user_name=email,
        email=email,
        display_name=attribute(assertion, conn, "display_name"),
        given_name=attribute(assertion, conn, "given_name"),
        family_name=attribute(assertion, conn, "family_name"),
        department=attribute(assertion, conn, "department"),
        doc={"userName": email, "emails": [{"value": email, "primary": True}]},
    )
    user = await create_user(s, scope, draft, outbox, now)
    await outbox.flush(s, now)
    found = SessionUser(
        user.id,
        conn.tenant_id,
        user.email,
        user.display_name,
        user.given_name,
        user.family_name,
        user.active,
        user.deleted_at,
        user.revocation_epoch,
    )
    return found, SessionTenant(conn.tenant_id, slug, name)
