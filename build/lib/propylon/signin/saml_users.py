"""Who a SAML login is: the tenant's directory user an assertion names, matched by NameID,
email or externalId as the connection says (``match_by``), or a user provisioned just in time
where the connection allows it (:mod:`propylon.signin.user_match`, shared with OpenID
Connect)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.saml import Assertion
from propylon.signin.user_match import Column, Identity, find_by, first_value, provision
from propylon.tenants.saml_connections import ConnectionRecord

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

__all__ = ["EMAIL_FORMAT", "Identity", "attribute", "find_user", "provision_just_in_time"]


def attribute(assertion: Assertion, conn: ConnectionRecord, field: str) -> str | None:
    """The first value of the assertion attribute the connection maps ``field`` to."""
    return first_value(assertion.attributes, conn.attribute_map, field)


async def find_user(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion
) -> tuple[Identity | None, str | None]:
    """The directory user the assertion names (by the connection's ``match_by``) with its
    tenant, if any, and the email the assertion carries."""
    email = attribute(assertion, conn, "email")
    if email is None and (assertion.name_id_format == EMAIL_FORMAT or "@" in assertion.name_id):
        email = assertion.name_id
    column: Column
    if conn.match_by == "email":
        if not email:
            return None, None
        column, value = "email", email.lower()
    elif conn.match_by == "user_name":
        column, value = "user_name_ci", assertion.name_id.lower()
    else:
        column, value = "external_id", assertion.name_id
    return await find_by(s, conn.tenant_id, column, value), email


async def provision_just_in_time(
    s: AsyncSession, conn: ConnectionRecord, assertion: Assertion, email: str, now: datetime
) -> Identity:
    """A new directory user for ``email``, named by the connection's attribute mapping (the
    connection allows JIT provisioning; the tenant's seat limit applies)."""
    return await provision(s, conn.tenant_id, email, assertion.attributes, conn.attribute_map, now)
