"""The Propylon connections the test IdP answers: SAML connections that trust it (their IdP
entity id is the test IdP's), drafts included, so a connection can be tested before it goes
live. Reads only; the suggestions the picker shows are the connection's tenant's people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import User
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.ids import plausible
from propylon.testidp.saml_response import Person

__all__ = [
    "SUGGESTIONS",
    "TrustingConnection",
    "TrustingOidcConnection",
    "suggestions",
    "trusting_connection",
    "trusting_oidc_connection",
]

SUGGESTIONS: Final = 8


@dataclass(frozen=True)
class TrustingConnection:
    id: str
    tenant_id: str
    sp_entity_id: str
    allow_idp_initiated: bool


async def trusting_connection(
    s: AsyncSession, connection_id: str, idp_entity_id: str
) -> TrustingConnection | None:
    """The SAML connection ``connection_id`` if it trusts the test IdP (else None)."""
    if not plausible(connection_id):
        return None
    row = (
        await s.execute(
            select(
                SamlConnection.id,
                SamlConnection.tenant_id,
                SamlConnection.sp_entity_id,
                SamlConnection.allow_idp_initiated,
            ).where(
                SamlConnection.id == connection_id,
                SamlConnection.idp_entity_id == idp_entity_id,
            )
        )
    ).first()
    return TrustingConnection(*row) if row is not None else None


async def suggestions(s: AsyncSession, tenant_id: str) -> list[Person]:
    """A few active people of the tenant to pick from (anyone can type any address anyway)."""
    rows = await s.execute(
        select(User.email, User.given_name, User.family_name, User.department)
        .where(
            User.tenant_id == tenant_id,
            User.active.is_(True),
            User.deleted_at.is_(None),
            User.email.is_not(None),
        )
        .order_by(User.email)
        .limit(SUGGESTIONS)
    )
    return [Person(r[0] or "", r[1] or "", r[2] or "", r[3] or "") for r in rows]


@dataclass(frozen=True)
class TrustingOidcConnection:
    id: str
    tenant_id: str
    client_id: str


async def trusting_oidc_connection(
    s: AsyncSession, connection_id: str, issuer: str, client_id: str
) -> TrustingOidcConnection | None:
    """The OIDC connection ``connection_id`` if it is a client of the test OpenID Provider
    under ``client_id`` (else None)."""
    if not plausible(connection_id):
        return None
    row = (
        await s.execute(
            select(OidcConnection.id, OidcConnection.tenant_id, OidcConnection.client_id).where(
                OidcConnection.id == connection_id,
                OidcConnection.issuer == issuer,
                OidcConnection.client_id == client_id,
            )
        )
    ).first()
    return TrustingOidcConnection(*row) if row is not None else None
