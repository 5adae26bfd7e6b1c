"""Where to send a person who reaches the authorization endpoint without a session.

:class:`LoginRouter` resolves ``login_hint`` (an email; its domain names the tenant through
``tenant_domains``) or ``organization`` (a tenant slug) to a :class:`LoginRoute`: the
connection the domain is bound to, or the tenant's only one (the authorization endpoint
sends the person straight to that IdP); or a page: the organisation has no SSO connection,
no organisation uses the domain, the domain is bound to none of the tenant's several
connections, or the work email is needed. Each resolution is one prebuilt Core statement
(the tenant, its connections and the domain's binding together); a route to a connection
may be kept as a per-process copy (``Runtime.sign_in``), the others are read every time, so
a new tenant, domain or connection is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.cache.copies import LocalCopies
from propylon.db.tables import Tenant, TenantDomain, core
from propylon.db.tables_saml import SamlConnection

_TENANTS, _DOMAINS, _CONNECTIONS = core(Tenant), core(TenantDomain), core(SamlConnection)
_LIVE = _CONNECTIONS.c.disabled_at.is_(None)
_OF_TENANT = (_CONNECTIONS.c.tenant_id == _TENANTS.c.id) & _LIVE
_BOUND = (
    select(_CONNECTIONS.c.id).where(_CONNECTIONS.c.id == _DOMAINS.c.connection_id, _LIVE)
).scalar_subquery()
_FIRST_CONNECTION = (
    select(_CONNECTIONS.c.id).where(_OF_TENANT).order_by(_CONNECTIONS.c.created_at).limit(1)
).scalar_subquery()
_CONNECTION_COUNT = (
    select(func.count()).select_from(_CONNECTIONS).where(_OF_TENANT).scalar_subquery()
)
_BY_SLUG: Select[str, str | None, int, None] = select(
    _TENANTS.c.name, _FIRST_CONNECTION, _CONNECTION_COUNT, null()
).where(_TENANTS.c.slug == bindparam("slug"), _TENANTS.c.deleted_at.is_(None))
_BY_DOMAIN: Select[str, str | None, int, str | None] = (
    select(_TENANTS.c.name, _FIRST_CONNECTION, _CONNECTION_COUNT, _BOUND)
    .join_from(_TENANTS, _DOMAINS, _DOMAINS.c.tenant_id == _TENANTS.c.id)
    .where(_DOMAINS.c.domain == bindparam("domain"), _TENANTS.c.deleted_at.is_(None))
)


@dataclass(frozen=True)
class LoginRoute:
    kind: str
    """``ask_email`` | ``unknown_domain`` | ``unknown_org`` | ``no_connection`` |
    ``unbound_domain`` (several connections, none bound to the domain) | ``saml``"""
    tenant_name: str | None = None
    domain: str | None = None
    connection_id: str | None = None
    """With ``saml``: the SAML connection the login starts on."""


Copies = LocalCopies[tuple[str, str], LoginRoute]


class LoginRouter:
    async def route(
        self,
        s: AsyncSession,
        *,
        login_hint: str | None,
        organization: str | None,
        copies: Copies | None = None,
    ) -> LoginRoute:
        if organization:
            found = await self._tenant(s, "slug", organization.lower(), copies)
            if found is not None and found.kind == "unbound_domain":
                # several connections: the email's domain decides which
                return LoginRoute("ask_email", tenant_name=found.tenant_name)
            return found or LoginRoute("unknown_org")
        if login_hint and "@" in login_hint:
            domain = login_hint.rsplit("@", 1)[1].strip().lower().rstrip(".")
            found = await self._tenant(s, "domain", domain, copies)
            return found or LoginRoute("unknown_domain", domain=domain)
        return LoginRoute("ask_email")

    async def _tenant(
        self, s: AsyncSession, by: str, value: str, copies: Copies | None
    ) -> LoginRoute | None:
        """The tenant's upstream sign-in, or ``None`` when no tenant matches: the connection
        the domain is bound to, else the tenant's only connection; with several and none
        bound, ``unbound_domain`` (never silently the oldest)."""
        key = (by, value)
        kept = copies.get(key) if copies is not None else None
        if kept is not None:
            return kept
        query = _BY_SLUG if by == "slug" else _BY_DOMAIN
        row = (await (await s.connection()).execute(query, {by: value})).first()
        if row is None:
            return None
        name, first, count, bound = row
        connection_id = bound if bound is not None else first
        if bound is None and count == 0:
            return LoginRoute("no_connection", tenant_name=name)
        if bound is None and count > 1:
            return LoginRoute("unbound_domain", tenant_name=name, domain=value)
        route = LoginRoute("saml", tenant_name=name, connection_id=connection_id)
        if copies is not None:
            copies.put(key, route)
        return route
