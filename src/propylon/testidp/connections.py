"""The Propylon connections the test IdP answers, and the one rule of which they are.

The test IdP signs whatever identity anyone picks, so a connection trusting it must never
let anyone into anything: it answers only **drafts** (disabled connections, so a connection
can be tested before it goes live), plus the demo tenant's while ``PROPYLON_DEMO_ENABLED``
(``propylon demo`` signs in through it); and no connection trusting it may be made live,
except the demo tenant's while the demo is enabled (:func:`check_may_be_live`, called by the
service layer on every create and update). The picker's suggestions of a tenant's people are
offered for the demo tenant only: elsewhere nobody's addresses are shown to an anonymous
visitor. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.errors import InvalidInput
from propylon.ids import plausible
from propylon.testidp.identity import oidc_issuer, saml_entity_id
from propylon.testidp.saml_response import Person

__all__ = [
    "DEMO_TENANT",
    "SUGGESTIONS",
    "TestIdpNotLive",
    "TrustingConnection",
    "TrustingOidcConnection",
    "check_may_be_live",
    "suggestions",
    "trusting_connection",
    "trusting_oidc_connection",
    "trusts_test_idp",
]

SUGGESTIONS: Final = 8
DEMO_TENANT: Final = "demo"
"""The slug of ``propylon demo``'s tenant (``demo/state.py`` takes it from here)."""


class TestIdpNotLive(InvalidInput):
    """A connection whose IdP is the test IdP was to be made live (reason
    ``test_idp_connection_not_live``)."""

    __test__ = False
    reason: Final = "test_idp_connection_not_live"

    def __init__(self) -> None:
        super().__init__(
            f"{self.reason}: a connection to Propylon's test IdP stays a draft (disabled): "
            "the test IdP signs in anyone as anyone, so it is for testing a setup, never "
            "for real sign-in"
        )


def trusts_test_idp(public_url: str, idp: str) -> bool:
    """Whether ``idp`` (a SAML IdP entity id or an OIDC issuer) is the test IdP."""
    return idp in (saml_entity_id(public_url), oidc_issuer(public_url))


def _demo(demo_enabled: bool) -> ColumnElement[bool]:
    return Tenant.slug == DEMO_TENANT if demo_enabled else false()


def _answered(disabled_at: ColumnElement[bool], demo_enabled: bool) -> ColumnElement[bool]:
    """The rule: a draft, or the demo tenant's while the demo is enabled."""
    return or_(disabled_at, _demo(demo_enabled))


async def check_may_be_live(
    s: AsyncSession,
    tenant_id: str,
    idp: str,
    *,
    live: bool,
    public_url: str,
    demo_enabled: bool,
) -> None:
    """Refuse (:class:`TestIdpNotLive`) a live connection of ``tenant_id`` to the test IdP
    unless the tenant is the demo's and the demo is enabled."""
    if not live or not trusts_test_idp(public_url, idp):
        return
    slug = (await s.execute(select(Tenant.slug).where(Tenant.id == tenant_id))).scalar()
    if not (demo_enabled and slug == DEMO_TENANT):
        raise TestIdpNotLive()


@dataclass(frozen=True)
class TrustingConnection:
    id: str
    tenant_id: str
    sp_entity_id: str
    allow_idp_initiated: bool
    demo: bool
    """The demo tenant's (its people may be suggested)."""


async def trusting_connection(
    s: AsyncSession, connection_id: str, idp_entity_id: str, *, demo_enabled: bool
) -> TrustingConnection | None:
    """The SAML connection ``connection_id`` if it trusts the test IdP and the test IdP may
    answer it (a draft, or the demo's), else None."""
    if not plausible(connection_id):
        return None
    row = (
        await s.execute(
            select(
                SamlConnection.id,
                SamlConnection.tenant_id,
                SamlConnection.sp_entity_id,
                SamlConnection.allow_idp_initiated,
                Tenant.slug,
            )
            .join(Tenant, Tenant.id == SamlConnection.tenant_id)
            .where(
                SamlConnection.id == connection_id,
                SamlConnection.idp_entity_id == idp_entity_id,
                Tenant.deleted_at.is_(None),
                _answered(SamlConnection.disabled_at.is_not(None), demo_enabled),
            )
        )
    ).first()
    if row is None:
        return None
    return TrustingConnection(
        row[0], row[1], row[2], row[3], demo_enabled and row[4] == DEMO_TENANT
    )


async def suggestions(s: AsyncSession, tenant_id: str, *, demo: bool) -> list[Person]:
    """A few active people of the demo tenant to pick from; none for any other tenant
    (anyone can type any address anyway)."""
    if not demo:
        return []
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
    demo: bool


async def trusting_oidc_connection(
    s: AsyncSession, connection_id: str, issuer: str, client_id: str, *, demo_enabled: bool
) -> TrustingOidcConnection | None:
    """The OIDC connection ``connection_id`` if it is a client of the test OpenID Provider
    under ``client_id`` and the provider may answer it (a draft, or the demo's), else None."""
    if not plausible(connection_id):
        return None
    row = (
        await s.execute(
            select(
                OidcConnection.id, OidcConnection.tenant_id, OidcConnection.client_id, Tenant.slug
            )
            .join(Tenant, Tenant.id == OidcConnection.tenant_id)
            .where(
                OidcConnection.id == connection_id,
                OidcConnection.issuer == issuer,
                OidcConnection.client_id == client_id,
                Tenant.deleted_at.is_(None),
                _answered(OidcConnection.disabled_at.is_not(None), demo_enabled),
            )
        )
    ).first()
    if row is None:
        return None
    return TrustingOidcConnection(row[0], row[1], row[2], demo_enabled and row[3] == DEMO_TENANT)
