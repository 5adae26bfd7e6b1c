"""A tenant's email domains and the connection each one signs in through.

A domain belongs to at most one tenant (``tenant_domains.domain`` is unique). Binding it to a
connection decides where a login for ``someone@domain`` goes when the tenant has several
connections (``tenants/login_routes.py``); a connection must belong to the domain's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.ids import Kind, new_id
from propylon.tenants.service import get_tenant, normalize_domain


@dataclass(frozen=True)
class DomainView:
    id: str
    domain: str
    tenant_id: str
    connection_id: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "tenant_id": self.tenant_id,
            "connection_id": self.connection_id,
            "created_at": self.created_at.isoformat(),
        }


def _view(row: TenantDomain) -> DomainView:
    return DomainView(row.id, row.domain, row.tenant_id, row.connection_id, row.created_at)


async def _check_connection(s: AsyncSession, tenant: Tenant, connection_id: str | None) -> None:
    if connection_id is None:
        return
    owners = {
        await s.scalar(select(SamlConnection.tenant_id).where(SamlConnection.id == connection_id)),
        await s.scalar(select(OidcConnection.tenant_id).where(OidcConnection.id == connection_id)),
    }
    if tenant.id not in owners:
        raise InvalidInput(f"tenant {tenant.slug!r} has no connection {connection_id!r}")


async def _get(s: AsyncSession, tenant: Tenant, domain: str) -> TenantDomain:
    row = await s.scalar(
        select(TenantDomain).where(
            TenantDomain.tenant_id == tenant.id, TenantDomain.domain == normalize_domain(domain)
        )
    )
    if row is None:
        raise NotFound(f"tenant {tenant.slug!r} has no domain {domain!r}")
    return row


async def list_domains(s: AsyncSession, tenant_ref: str) -> list[DomainView]:
    tenant = await get_tenant(s, tenant_ref)
    rows = await s.scalars(
        select(TenantDomain)
        .where(TenantDomain.tenant_id == tenant.id)
        .order_by(TenantDomain.domain)
    )
    return [_view(r) for r in rows]


async def add_domain(
    s: AsyncSession, tenant_ref: str, domain: str, connection_id: str | None, now: datetime
) -> tuple[Tenant, DomainView]:
    tenant = await get_tenant(s, tenant_ref)
    clean = normalize_domain(domain)
    await _check_connection(s, tenant, connection_id)
    if await s.scalar(select(TenantDomain.id).where(TenantDomain.domain == clean)):
        raise AlreadyExists(f"domain {clean} already belongs to a tenant", "domain")
    row = TenantDomain(
        id=new_id(Kind.DOMAIN),
        tenant_id=tenant.id,
        domain=clean,
        connection_id=connection_id,
        created_at=now,
    )
    s.add(row)
    try:
        await s.flush()
    except IntegrityError as exc:  # a concurrent add of the same domain
        raise AlreadyExists(f"domain {clean} already belongs to a tenant", "domain") from exc
    return tenant, _view(row)


async def bind_domain(
    s: AsyncSession, tenant_ref: str, domain: str, connection_id: str | None
) -> tuple[Tenant, DomainView, str | None]:
    """Bind (or, with ``None``, unbind) a domain; also returns the previous binding."""
    tenant = await get_tenant(s, tenant_ref)
    row = await _get(s, tenant, domain)
    await _check_connection(s, tenant, connection_id)
    before, row.connection_id = row.connection_id, connection_id
    await s.flush()
    return tenant, _view(row), before


async def remove_domain(s: AsyncSession, tenant_ref: str, domain: str) -> tuple[Tenant, DomainView]:
    tenant = await get_tenant(s, tenant_ref)
    row = await _get(s, tenant, domain)
    view = _view(row)
    await s.delete(row)
    await s.flush()
    return tenant, view
