"""Which organisation a Google sign-in belongs to (Google is the platform-wide OpenID
Provider: one client for everyone, ``PROPYLON_GOOGLE_*``; the tenant is decided per person).

The person's verified email domain, else the ``hd`` claim (the Google Workspace domain that
manages the account), is looked up in ``tenant_domains`` (a domain routes once trusted: added
by an operator, or proved in DNS and not lapsed):

- a tenant that enforces SSO (``tenants.enforce_sso``) owns it: the person is never signed in
  by Google, but sent to the tenant's own SSO;
- a tenant that allows Google (``tenants.allow_google``) owns it: the tenant's directory user
  with that verified email signs in. A tenant whose users come from a SCIM directory
  provisions them there, so Google creates no one in it; a tenant without a directory gets
  its Google users created just in time (as a connection with JIT would);
- a tenant that does neither owns it: refused;
- no tenant owns it: the person is an individual user (:mod:`propylon.tenants.individuals`),
  found or created by verified email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import ScimDirectory, Tenant, TenantDomain
from propylon.runtime import Runtime
from propylon.signin.saml_sso import LoginRefused
from propylon.tenants.domains import ROUTABLE
from propylon.tenants.individuals import individuals_tenant, is_individuals
from propylon.tenants.login_routes import email_domain


@dataclass(frozen=True)
class GoogleRoute:
    tenant_id: str | None
    """The tenant owning the person's domain; ``None``: an individual user."""
    enforce_sso: bool = False
    tenant_slug: str | None = None
    """With ``enforce_sso``: the tenant whose SSO the person is sent to (by ``organization``,
    as the ``hd`` claim may name a domain other than the email's)."""


def domains_of(email: str, claims: Mapping[str, Any]) -> list[str]:
    """The email's domain, then the Workspace ``hd`` claim if it differs."""
    found = [email_domain(email) or ""]
    hd = claims.get("hd")
    if isinstance(hd, str) and hd and hd.lower() not in found:
        found.append(hd.lower()[:255])
    return found


_OWNER = (
    select(Tenant.id, Tenant.enforce_sso, Tenant.allow_google, TenantDomain.domain, Tenant.slug)
    .join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
    .where(
        Tenant.deleted_at.is_(None),
        ROUTABLE,
    )
)


async def route(rt: Runtime, email: str, claims: Mapping[str, Any]) -> GoogleRoute:
    """Where the Google sign-in of ``email`` goes (see the module doc); :class:`LoginRefused`
    when the owning tenant allows neither Google nor SSO-only."""
    domains = domains_of(email, claims)
    async with rt.db.read() as s:
        rows = (await s.execute(_OWNER.where(TenantDomain.domain.in_(domains)))).all()
    if not rows:
        return GoogleRoute(None)
    tenant_id, enforce_sso, allow_google, _, slug = min(rows, key=lambda r: domains.index(r[3]))
    if enforce_sso:
        return GoogleRoute(tenant_id, enforce_sso=True, tenant_slug=slug)
    if not allow_google:
        raise LoginRefused(
            "google_not_allowed", "Your organisation does not allow signing in with Google."
        )
    return GoogleRoute(tenant_id)


async def tenant_of(s: AsyncSession, routed: GoogleRoute, now: datetime) -> str:
    """The tenant the person signs in to: the routed one, or the individuals' tenant."""
    return routed.tenant_id or await individuals_tenant(s, now)


async def may_join(s: AsyncSession, tenant_id: str) -> bool:
    """Whether a Google sign-in may create its user in ``tenant_id``: the individuals'
    tenant, or a tenant without a SCIM directory (see the module doc)."""
    if is_individuals(tenant_id):
        return True
    query = (
        select(ScimDirectory.id)
        .where(ScimDirectory.tenant_id == tenant_id, ScimDirectory.deleted_at.is_(None))
        .limit(1)
    )
    return await s.scalar(query) is None
