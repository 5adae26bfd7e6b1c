"""Management operations on email domains, shared by the CLI and the management API.

Each change is audited, and published on the sign-in channel once committed, so every
process drops the login routes it keeps (``Runtime.sign_in``) and routes by the new binding.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.cache.fanout import publish_committed
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.tenants import domains
from propylon.tenants.domains import DomainView


async def _published(rt: Runtime, domain: str) -> None:
    """After the commit, tell every process to drop its login routes (a failed publish is
    logged; their copies expire within ``sign_in_cache_seconds``)."""
    await publish_committed(rt.cache, SIGN_IN_CHANNEL, domain, rt.settings.sign_in_cache_seconds)


async def list_domains(rt: Runtime, tenant_ref: str) -> list[DomainView]:
    async with rt.db.read() as s:
        return await domains.list_domains(s, tenant_ref)


async def add_domain(
    rt: Runtime, actor: Actor, tenant_ref: str, domain: str, connection_id: str | None
) -> DomainView:
    async def op(s: AsyncSession, rec: AuditRecord) -> DomainView:
        tenant, view = await domains.add_domain(s, tenant_ref, domain, connection_id, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "domain", view.id
        rec.diff = {
            "domain": {"before": None, "after": view.domain},
            "connection_id": {"before": None, "after": connection_id},
        }
        return view

    view = await audited(rt, actor, "domain.add", op)
    await _published(rt, view.domain)
    return view


async def bind_domain(
    rt: Runtime, actor: Actor, tenant_ref: str, domain: str, connection_id: str | None
) -> DomainView:
    async def op(s: AsyncSession, rec: AuditRecord) -> DomainView:
        tenant, view, before = await domains.bind_domain(s, tenant_ref, domain, connection_id)
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "domain", view.id
        rec.diff = {"connection_id": {"before": before, "after": connection_id}}
        return view

    view = await audited(rt, actor, "domain.bind", op)
    await _published(rt, view.domain)
    return view


async def remove_domain(rt: Runtime, actor: Actor, tenant_ref: str, domain: str) -> str:
    async def op(s: AsyncSession, rec: AuditRecord) -> str:
        tenant, gone = await domains.remove_domain(s, tenant_ref, domain)
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "domain", gone.id
        rec.diff = {"domain": {"before": gone.domain, "after": None}}
        return gone.domain

    removed = await audited(rt, actor, "domain.remove", op)
    await _published(rt, removed)
    return removed
