"""Where to send a person who reaches the authorization endpoint without a session.

:class:`LoginRouter` resolves ``login_hint`` (an email; its domain names the tenant through
``tenant_domains``), ``organization`` (a tenant slug) or the vanity host name the request
came to (``tenants.hostname``) to a :class:`LoginRoute`:

- ``sso``: the tenant's SSO connection (SAML or OIDC) the domain is bound to, or the tenant's
  only one; the authorization endpoint sends the person straight to that IdP;
- ``methods``: a page offering the other ways in the tenant allows (password, Google where
  the platform configured it), or, for a domain no tenant owns, those of the platform's
  individual users (:mod:`propylon.tenants.individuals`);
- a page otherwise: ``ask_email`` (the email is needed), ``unknown_org``, ``unbound_domain``
  (several connections, none bound to the domain), ``no_method`` (no SSO and nothing else
  allowed, or SSO enforced while no connection is enabled).

A domain routes only if the operator added it or, claimed through self-service, it is proved
in DNS and not lapsed (:data:`propylon.tenants.domains.ROUTABLE`); any other is treated as
owned by no tenant. :attr:`LoginRoute.methods` is also the rule the password and Google
sign-ins apply (:meth:`LoginRoute.refuses`): a tenant that enforces SSO allows neither.

Each resolution is one prebuilt Core statement (the tenant, its SAML and OIDC connections and
the domain's binding together); a route to a connection may be kept as a per-process copy
(``Runtime.sign_in``), the others are read every time, so a new tenant, domain or connection
is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.cache.copies import LocalCopies
from propylon.db.tables import Tenant, TenantDomain, core
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.tenants.domains import ROUTABLE
from propylon.tenants.individuals import INDIVIDUALS_SLUG

_TENANTS, _DOMAINS = core(Tenant), core(TenantDomain)
_SAML, _OIDC = core(SamlConnection), core(OidcConnection)
PASSWORD, GOOGLE = "password", "google"


def _connection_columns(table: Any, bound: bool) -> list[ScalarSelect[Any]]:
    """The tenant's first live connection of ``table``, how many it has, and (``bound``) the
    live one the domain is bound to."""
    live = table.c.disabled_at.is_(None)
    of_tenant = (table.c.tenant_id == _TENANTS.c.id) & live
    first = select(table.c.id).where(of_tenant).order_by(table.c.created_at).limit(1)
    count = select(func.count()).select_from(table).where(of_tenant)
    columns = [first.scalar_subquery(), count.scalar_subquery()]
    if bound:
        columns.append(
            select(table.c.id).where(table.c.id == _DOMAINS.c.connection_id, live).scalar_subquery()
        )
    return columns


_TENANT_COLUMNS = (
    _TENANTS.c.id,
    _TENANTS.c.slug,
    _TENANTS.c.name,
    _TENANTS.c.enforce_sso,
    _TENANTS.c.allow_password,
    _TENANTS.c.allow_google,
)
_LIVE_TENANT = _TENANTS.c.deleted_at.is_(None)
_BY_TENANT_COLUMN: dict[str, Select[Any]] = {
    by: select(
        *_TENANT_COLUMNS, *_connection_columns(_SAML, False), *_connection_columns(_OIDC, False)
    ).where(_TENANTS.c[column] == bindparam(by), _LIVE_TENANT)
    for by, column in (("slug", "slug"), ("host", "hostname"))
}
_BY_DOMAIN: Select[Any] = (
    select(*_TENANT_COLUMNS, *_connection_columns(_SAML, True), *_connection_columns(_OIDC, True))
    .join_from(_TENANTS, _DOMAINS, _DOMAINS.c.tenant_id == _TENANTS.c.id)
    .where(_DOMAINS.c.domain == bindparam("domain"), ROUTABLE, _LIVE_TENANT)
)


@dataclass(frozen=True)
class LoginRoute:
    kind: str
    """``sso`` | ``methods`` | ``ask_email`` | ``unknown_org`` | ``unbound_domain`` |
    ``no_method`` (see the module docstring)."""
    tenant_name: str | None = None
    domain: str | None = None
    connection_id: str | None = None
    """With ``sso``: the connection the login starts on."""
    protocol: str | None = None
    """With ``sso``: ``saml`` or ``oidc``."""
    tenant_id: str | None = None
    tenant_slug: str | None = None
    methods: tuple[str, ...] = ()
    """Ways in besides SSO the person may use: ``password``, ``google``. None when the
    tenant enforces SSO."""
    enforce_sso: bool = False
    individuals: bool = False
    """No tenant owns the email's domain: the platform's individual accounts."""

    def refuses(self, method: str) -> bool:
        """Whether a ``password`` or ``google`` sign-in is refused for this route."""
        return method not in self.methods


Copies = LocalCopies[tuple[str, str], LoginRoute]


def email_domain(email: str) -> str | None:
    """The domain of an email address, normalised (lowercase, no trailing dot)."""
    if "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower().rstrip(".") or None


class LoginRouter:
    def __init__(self, google_enabled: bool = False) -> None:
        self.google_enabled = google_enabled

    async def route(
        self,
        s: AsyncSession,
        *,
        login_hint: str | None,
        organization: str | None,
        host: str | None = None,
        copies: Copies | None = None,
    ) -> LoginRoute:
        """``organization`` first, then the vanity ``host``, then the email's domain."""
        domain = email_domain(login_hint) if login_hint else None
        if organization == INDIVIDUALS_SLUG:
            return self.individuals(domain)
        for by, value in (("slug", organization), ("host", host)):
            if not value:
                continue
            found = await self._tenant(s, by, value.lower(), copies)
            if found is not None and found.kind == "unbound_domain":
                # several connections: the email's domain decides which, if it is the tenant's
                by_domain = await self._tenant(s, "domain", domain, copies) if domain else None
                if by_domain is not None and by_domain.tenant_id == found.tenant_id:
                    return by_domain
                found = LoginRoute(
                    "ask_email", tenant_name=found.tenant_name, tenant_id=found.tenant_id
                )
            if found is not None or by == "slug":
                return found or LoginRoute("unknown_org")
        if domain is not None:
            found = await self._tenant(s, "domain", domain, copies)
            return found or self.individuals(domain)
        return LoginRoute("ask_email")

    def individuals(self, domain: str | None) -> LoginRoute:
        """A domain no tenant owns: the platform's individual accounts."""
        methods = (PASSWORD, GOOGLE) if self.google_enabled else (PASSWORD,)
        return LoginRoute("methods", domain=domain, methods=methods, individuals=True)

    async def _tenant(
        self, s: AsyncSession, by: str, value: str, copies: Copies | None
    ) -> LoginRoute | None:
        """The tenant's way in, or ``None`` when no tenant matches: the connection the domain
        is bound to, else the tenant's only connection; with several and none bound,
        ``unbound_domain`` (never silently the oldest); with none, its other methods."""
        key = (by, value)
        kept = copies.get(key) if copies is not None else None
        if kept is not None:
            return kept
        query = _BY_DOMAIN if by == "domain" else _BY_TENANT_COLUMN[by]
        row = (await (await s.connection()).execute(query, {by: value})).first()
        if row is None:
            return None
        tid, slug, name, enforce, password, google = row[:6]
        if by == "domain":
            first_saml, n_saml, bound_saml, first_oidc, n_oidc, bound_oidc = row[6:]
        else:
            (first_saml, n_saml, first_oidc, n_oidc), bound_saml, bound_oidc = row[6:], None, None
        methods = () if enforce else self._methods(bool(password), bool(google))
        tenant = {"tenant_id": tid, "tenant_slug": slug, "tenant_name": name}
        common = {**tenant, "methods": methods, "enforce_sso": bool(enforce)}
        domain = value if by == "domain" else None
        if bound_saml or bound_oidc or n_saml + n_oidc == 1:
            if bound_saml or bound_oidc:
                connection_id, protocol = (
                    (bound_saml, "saml") if bound_saml else (bound_oidc, "oidc")
                )
            else:
                connection_id, protocol = (first_saml, "saml") if n_saml else (first_oidc, "oidc")
            route = LoginRoute(
                "sso", domain=domain, connection_id=connection_id, protocol=protocol, **common
            )
            if copies is not None:
                copies.put(key, route)
            return route
        if n_saml + n_oidc > 1:
            return LoginRoute("unbound_domain", domain=value, **common)
        return LoginRoute("methods" if methods else "no_method", domain=domain, **common)

    def _methods(self, password: bool, google: bool) -> tuple[str, ...]:
        allowed = (PASSWORD, password), (GOOGLE, google and self.google_enabled)
        return tuple(method for method, on in allowed if on)
