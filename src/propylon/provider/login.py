"""Where to send a person who reaches the authorization endpoint without a session.

:class:`LoginRouter` resolves ``login_hint`` (an email; its domain names the tenant through
``tenant_domains``) or ``organization`` (a tenant slug) to a :class:`LoginRoute`. Upstream SSO
connections land separately: they will replace :meth:`LoginRouter.connection_for` to return
a redirect to the tenant's IdP. Until then the route says that the organisation has no SSO
connection, or that no organisation uses the domain, or asks for the work email.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain
from propylon.db.tables_saml import SamlConnection


@dataclass(frozen=True)
class LoginRoute:
    kind: str
    """``ask_email`` | ``unknown_domain`` | ``unknown_org`` | ``no_connection`` | ``redirect``"""
    tenant: Tenant | None = None
    domain: str | None = None
    redirect_to: str | None = None


class LoginRouter:
    async def route(
        self, s: AsyncSession, *, login_hint: str | None, organization: str | None
    ) -> LoginRoute:
        if organization:
            tenant = await s.scalar(select(Tenant).where(Tenant.slug == organization.lower()))
            if tenant is None:
                return LoginRoute("unknown_org")
            return await self.connection_for(s, tenant)
        if login_hint and "@" in login_hint:
            domain = login_hint.rsplit("@", 1)[1].strip().lower().rstrip(".")
            tenant = await s.scalar(
                select(Tenant)
                .join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
                .where(TenantDomain.domain == domain)
            )
            if tenant is None:
                return LoginRoute("unknown_domain", domain=domain)
            return await self.connection_for(s, tenant)
        return LoginRoute("ask_email")

    async def connection_for(self, s: AsyncSession, tenant: Tenant) -> LoginRoute:
        """The tenant's upstream sign-in: its first SAML connection, if it has one."""
        conn = await s.scalar(
            select(SamlConnection.id)
            .where(SamlConnection.tenant_id == tenant.id)
            .order_by(SamlConnection.created_at)
            .limit(1)
        )
        if conn is None:
            return LoginRoute("no_connection", tenant=tenant)
        return LoginRoute("redirect", tenant=tenant, redirect_to=f"/saml/{conn}/login")
