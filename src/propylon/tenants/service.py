"""Tenant management: the same functions serve the CLI and the management API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain, User
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.ids import Kind, new_id

MAX_SEATS = 2**31 - 1
"""The largest seat limit (the column is a 32-bit integer on PostgreSQL)."""
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class TenantView:
    id: str
    slug: str
    name: str
    domains: list[str]
    seats: int | None
    seats_used: int
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "domains": self.domains,
            "seats": self.seats,
            "seats_used": self.seats_used,
            "created_at": self.created_at.isoformat(),
        }


def normalize_domain(domain: str) -> str:
    d = domain.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(d):
        raise InvalidInput(f"not a valid domain name: {domain!r}")
    return d


async def seats_used(session: AsyncSession, tenant_id: str) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == tenant_id, User.active.is_(True), User.deleted_at.is_(None))
    )
    return int(n or 0)


async def _view(session: AsyncSession, tenant: Tenant) -> TenantView:
    domains = (
        await session.scalars(
            select(TenantDomain.domain)
            .where(TenantDomain.tenant_id == tenant.id)
            .order_by(TenantDomain.domain)
        )
    ).all()
    return TenantView(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        domains=list(domains),
        seats=tenant.seats,
        seats_used=await seats_used(session, tenant.id),
        created_at=tenant.created_at,
    )


async def create_tenant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    domains: list[str],
    seats: int | None,
    now: datetime,
) -> TenantView:
    if not SLUG_RE.match(slug):
        raise InvalidInput("slug must be 1-64 lowercase letters, digits or hyphens")
    if not name.strip():
        raise InvalidInput("name must not be empty")
    if seats is not None and not 0 <= seats <= MAX_SEATS:
        raise InvalidInput(f"seats must be between 0 and {MAX_SEATS}")
    clean = sorted({normalize_domain(d) for d in domains})
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise AlreadyExists(f"a tenant with slug {slug!r} exists", "slug")
    taken = (
        await session.scalars(select(TenantDomain.domain).where(TenantDomain.domain.in_(clean)))
    ).all()
    if taken:
        raise AlreadyExists(f"domain already belongs to a tenant: {', '.join(taken)}", "domain")
    tenant = Tenant(
        id=new_id(Kind.TENANT),
        slug=slug,
        name=name.strip(),
        seats=seats,
        event_seq=0,
        created_at=now,
        updated_at=now,
    )
    session.add(tenant)
    session.add_all(
        TenantDomain(id=new_id(Kind.DOMAIN), tenant_id=tenant.id, domain=d, created_at=now)
        for d in clean
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise AlreadyExists(f"tenant {slug!r} or one of its domains exists", "slug") from exc
    return TenantView(tenant.id, slug, tenant.name, clean, seats, 0, now)


async def get_tenant(session: AsyncSession, ref: str) -> Tenant:
    """By id or slug; a deleted tenant is not found."""
    tenant = await session.scalar(
        select(Tenant).where((Tenant.id == ref) | (Tenant.slug == ref), Tenant.deleted_at.is_(None))
    )
    if tenant is None:
        raise NotFound(f"no tenant {ref!r}")
    return tenant


async def describe_tenant(session: AsyncSession, ref: str) -> TenantView:
    return await _view(session, await get_tenant(session, ref))


async def list_tenants(session: AsyncSession) -> list[TenantView]:
    live = select(Tenant).where(Tenant.deleted_at.is_(None))
    tenants = (await session.scalars(live.order_by(Tenant.slug))).all()
    return [await _view(session, t) for t in tenants]


async def update_tenant(
    session: AsyncSession,
    ref: str,
    *,
    name: str | None = None,
    seats: int | bool | None = False,
    now: datetime,
) -> TenantView:
    """``seats=False`` leaves seats unchanged; ``None`` removes the limit."""
    tenant = await get_tenant(session, ref)
    if name is not None:
        if not name.strip():
            raise InvalidInput("name must not be empty")
        tenant.name = name.strip()
    if seats is not False:
        if isinstance(seats, int) and not isinstance(seats, bool) and not 0 <= seats <= MAX_SEATS:
            raise InvalidInput(f"seats must be between 0 and {MAX_SEATS}")
        tenant.seats = seats if isinstance(seats, int) and not isinstance(seats, bool) else None
    tenant.updated_at = now
    return await _view(session, tenant)
