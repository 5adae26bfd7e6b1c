"""A tenant's email domains and the connection each one signs in through.

A domain belongs to at most one tenant (``tenant_domains.domain`` is unique), and no consumer
mail domain belongs to any (:mod:`propylon.tenants.consumer_domains`). Binding it to a
connection (SAML or OIDC) decides where a login for ``someone@domain`` goes when the tenant
has several connections (``tenants/login_routes.py``); a connection must belong to the
domain's tenant.

A domain the operator adds (CLI or management API, ``source=operator``) is trusted at once.
A claimed one (``source=self_service``) routes only once proved in DNS
(:mod:`propylon.tenants.domain_proof`) and while re-checks still find the proof: a lapsed one
(``lapsed_at``) stops routing until proved again. :data:`ROUTABLE` is that rule as a SQL
condition, the one the login routes read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, TenantDomain, core
from propylon.db.tables_oidc import OidcConnection
from propylon.db.tables_saml import SamlConnection
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.ids import Kind, new_id
from propylon.tenants.consumer_domains import refuse_consumer_domain
from propylon.tenants.domain_proof import VERIFIED, Challenge, challenge_for, new_verification_value
from propylon.tenants.service import get_tenant, normalize_domain

OPERATOR, SELF_SERVICE = "operator", "self_service"
_DOMAINS = core(TenantDomain)
ROUTABLE: ColumnElement[bool] = or_(
    _DOMAINS.c.source == OPERATOR,
    _DOMAINS.c.verified_at.is_not(None) & _DOMAINS.c.lapsed_at.is_(None),
)
"""A domain that routes its people to its tenant."""


@dataclass(frozen=True)
class DomainView:
    id: str
    domain: str
    tenant_id: str
    connection_id: str | None
    created_at: datetime
    source: str = OPERATOR
    verified_at: datetime | None = None
    last_checked_at: datetime | None = None
    lapsed_at: datetime | None = None

    @property
    def routes(self) -> bool:
        return self.source == OPERATOR or (self.verified_at is not None and self.lapsed_at is None)

    def as_dict(self) -> dict[str, object]:
        def when(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "domain": self.domain,
            "tenant_id": self.tenant_id,
            "connection_id": self.connection_id,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "verified": self.routes,
            "verified_at": when(self.verified_at),
            "last_checked_at": when(self.last_checked_at),
            "lapsed_at": when(self.lapsed_at),
        }


def _view(row: TenantDomain) -> DomainView:
    return DomainView(
        row.id,
        row.domain,
        row.tenant_id,
        row.connection_id,
        row.created_at,
        row.source,
        row.verified_at,
        row.last_checked_at,
        row.lapsed_at,
    )


async def _check_connection(s: AsyncSession, tenant: Tenant, connection_id: str | None) -> None:
    if connection_id is None:
        return
    owners = {
        await s.scalar(select(SamlConnection.tenant_id).where(SamlConnection.id == connection_id)),
        await s.scalar(select(OidcConnection.tenant_id).where(OidcConnection.id == connection_id)),
    }
    if tenant.id not in owners:
        raise InvalidInput(f"tenant {tenant.slug!r} has no connection {connection_id!r}")


async def _find(s: AsyncSession, tenant_id: str, clean: str) -> TenantDomain | None:
    of_tenant = (TenantDomain.tenant_id == tenant_id) & (TenantDomain.domain == clean)
    return await s.scalar(select(TenantDomain).where(of_tenant))


async def _get(s: AsyncSession, tenant: Tenant, domain: str) -> TenantDomain:
    row = await _find(s, tenant.id, normalize_domain(domain))
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


def _needs_no_proof(domain: str) -> InvalidInput:
    return InvalidInput(f"domain {domain} was added by the operator and needs no DNS proof")


async def _insert(
    s: AsyncSession,
    tenant_id: str,
    clean: str,
    now: datetime,
    source: str,
    *,
    connection_id: str | None = None,
    token: str | None = None,
) -> TenantDomain:
    """A new domain of the tenant; :class:`AlreadyExists` if any tenant has it."""
    taken = AlreadyExists(f"domain {clean} already belongs to a tenant", "domain")
    if await s.scalar(select(TenantDomain.id).where(TenantDomain.domain == clean)):
        raise taken
    row = TenantDomain(
        id=new_id(Kind.DOMAIN),
        tenant_id=tenant_id,
        domain=clean,
        connection_id=connection_id,
        created_at=now,
        source=source,
        verification_token=token,
    )
    s.add(row)
    try:
        await s.flush()
    except IntegrityError as exc:  # a concurrent add of the same domain
        raise taken from exc
    return row


async def add_domain(
    s: AsyncSession, tenant_ref: str, domain: str, connection_id: str | None, now: datetime
) -> tuple[Tenant, DomainView]:
    """The operator adds a domain: trusted at once."""
    tenant = await get_tenant(s, tenant_ref)
    clean = normalize_domain(domain)
    refuse_consumer_domain(clean)
    await _check_connection(s, tenant, connection_id)
    row = await _insert(s, tenant.id, clean, now, OPERATOR, connection_id=connection_id)
    return tenant, _view(row)


async def start_verification(
    s: AsyncSession, tenant_ref: str, domain: str, now: datetime
) -> tuple[Tenant, DomainView, Challenge, bool]:
    """The TXT record that proves ``domain`` for the tenant: the domain is created
    (``self_service``, unverified, routing nowhere) if the tenant does not have it yet, and
    keeps its value once issued (so a record already published stays good). Also returns
    whether the domain was created. A domain the operator added needs no proof."""
    tenant = await get_tenant(s, tenant_ref)
    clean = normalize_domain(domain)
    refuse_consumer_domain(clean)
    row = await _find(s, tenant.id, clean)
    created = row is None
    if row is None:
        token = new_verification_value()
        row = await _insert(s, tenant.id, clean, now, SELF_SERVICE, token=token)
    elif row.source == OPERATOR:
        raise _needs_no_proof(clean)
    elif row.verification_token is None:
        row.verification_token = new_verification_value()
        await s.flush()
    assert row.verification_token is not None
    return tenant, _view(row), challenge_for(clean, row.verification_token), created


async def proof_to_check(s: AsyncSession, tenant_ref: str, domain: str) -> tuple[Tenant, Challenge]:
    """The challenge a self-service domain of the tenant is proved by."""
    tenant = await get_tenant(s, tenant_ref)
    row = await _get(s, tenant, domain)
    if row.source == OPERATOR:
        raise _needs_no_proof(row.domain)
    if row.verification_token is None:
        raise InvalidInput(f"no verification was started for {row.domain}: run verify-start")
    return tenant, challenge_for(row.domain, row.verification_token)


async def record_check(
    s: AsyncSession, tenant_id: str, challenge: Challenge, outcome: str, now: datetime
) -> tuple[DomainView, DomainView]:
    """Record a DNS check of ``challenge`` (the value still the domain's): proved, the domain
    routes (``verified_at`` kept from its first proof, a lapse cleared); a definitive absence
    lapses a verified domain; a DNS failure changes nothing but ``last_checked_at``.
    Returns the domain before and after."""
    row = await s.scalar(
        select(TenantDomain)
        .where(TenantDomain.tenant_id == tenant_id, TenantDomain.domain == challenge.domain)
        .with_for_update()
    )
    if row is None or row.verification_token != challenge.record_value:
        raise NotFound(f"domain {challenge.domain} changed while it was checked")
    before = _view(row)
    row.last_checked_at = now
    if outcome == VERIFIED:
        row.verified_at = row.verified_at or now
        row.lapsed_at = None
    elif outcome != "dns_error" and row.verified_at is not None and row.lapsed_at is None:
        row.lapsed_at = now
    await s.flush()
    return before, _view(row)


async def due_for_recheck(
    s: AsyncSession, now: datetime, interval: timedelta, limit: int
) -> list[tuple[str, Challenge]]:
    """Verified, unlapsed self-service domains not checked for ``interval``, oldest check
    first, at most ``limit``: (tenant id, challenge)."""
    rows = await s.execute(
        select(TenantDomain.tenant_id, TenantDomain.domain, TenantDomain.verification_token)
        .join(Tenant, Tenant.id == TenantDomain.tenant_id)
        .where(
            TenantDomain.source == SELF_SERVICE,
            TenantDomain.verified_at.is_not(None),
            TenantDomain.lapsed_at.is_(None),
            TenantDomain.verification_token.is_not(None),
            or_(
                TenantDomain.last_checked_at.is_(None),
                TenantDomain.last_checked_at <= now - interval,
            ),
            Tenant.deleted_at.is_(None),
        )
        .order_by(TenantDomain.last_checked_at)
        .limit(limit)
    )
    return [(tid, challenge_for(d, token)) for tid, d, token in rows if token is not None]


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
