"""Tenant management: the same functions serve the CLI and the management API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain, User
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.ids import Kind, new_id
from propylon.tenants.consumer_domains import refuse_consumer_domain

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
    enforce_sso: bool = False
    allow_password: bool = True
    allow_google: bool = True
    hostname: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "domains": self.domains,
            "seats": self.seats,
            "seats_used": self.seats_used,
            "created_at": self.created_at.isoformat(),
            "enforce_sso": self.enforce_sso,
            "allow_password": self.allow_password,
            "allow_google": self.allow_google,
            "hostname": self.hostname,
        }


@dataclass(frozen=True)
class SignInPolicy:
    """A change of the tenant's sign-in policy; ``None`` leaves a field as it is, and
    ``hostname=""`` removes the vanity host name."""

    enforce_sso: bool | None = None
    allow_password: bool | None = None
    allow_google: bool | None = None
    hostname: str | None = None


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
        enforce_sso=tenant.enforce_sso,
        allow_password=tenant.allow_password,
        allow_google=tenant.allow_google,
        hostname=tenant.hostname,
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
    for d in clean:
        refuse_consumer_domain(d)
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


async def has_live_sso(session: AsyncSession, tenant_id: str) -> bool:
    """The tenant has at least one enabled SAML or OIDC connection."""
    for table in (SamlConnection, OidcConnection):
        live = select(table.id).where(table.tenant_id == tenant_id, table.disabled_at.is_(None))
        if await session.scalar(live.limit(1)):
            return True
    return False


async def set_sign_in_policy(
    session: AsyncSession, ref: str, policy: SignInPolicy, now: datetime
) -> TenantView:
    """Change how the tenant's people may sign in. Enforcing SSO needs a live SSO connection
    and, when it starts, ends the tenant's password and Google sessions for good
    (``non_sso_sessions_before`` moves forward to now, never back)."""
    tenant = await get_tenant(session, ref)
    if policy.enforce_sso and not await has_live_sso(session, tenant.id):
        raise InvalidInput(
            f"tenant {tenant.slug!r} has no enabled SAML or OIDC connection: SSO cannot be enforced"
        )
    host = tenant.hostname
    if policy.hostname is not None:
        host = normalize_hostname(policy.hostname) if policy.hostname else None
    # checked before the row changes: a query would flush the change first
    if host and await session.scalar(
        select(Tenant.id).where(Tenant.hostname == host, Tenant.id != tenant.id)
    ):
        raise AlreadyExists(f"host name {host} belongs to another tenant", "hostname")
    if policy.enforce_sso and not tenant.enforce_sso:
        previous = tenant.non_sso_sessions_before
        tenant.non_sso_sessions_before = now if previous is None else max(previous, now)
    for field in ("enforce_sso", "allow_password", "allow_google"):
        value = getattr(policy, field)
        if value is not None:
            setattr(tenant, field, value)
    tenant.hostname = host
    tenant.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent update took the host name
        raise AlreadyExists(
            f"host name {tenant.hostname} belongs to another tenant", "hostname"
        ) from exc
    return await _view(session, tenant)


def normalize_hostname(host: str) -> str:
    """A host name as the ``Host`` header carries it, without port (RFC 9110 §7.2)."""
    clean = host.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(clean):
        raise InvalidInput(f"not a valid host name: {host!r}")
    return clean
