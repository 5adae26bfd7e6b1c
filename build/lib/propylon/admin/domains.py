"""Management operations on email domains, shared by the CLI and the management API.

A self-service domain is proved in DNS (:mod:`propylon.tenants.domain_proof`): the lookup
runs outside any transaction, then its outcome is recorded and audited; verified domains are
re-checked by a background task (:func:`recheck_loop`), and one whose proof is gone lapses
(``domain.lapse``) and stops routing.

Each change is audited, and published on the sign-in channel once committed, so every
process drops the login routes it keeps (``Runtime.sign_in``) and routes by the new binding.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.background import every
from propylon.cache.fanout import publish_committed
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.tenants import domains
from propylon.tenants.domain_proof import VERIFIED, Challenge, lookup_txt, proof_outcome
from propylon.tenants.domains import DomainView

log = structlog.get_logger("propylon.domains")
RECHECK = Actor("system", "domain-recheck")
RECHECK_BATCH = 100
"""Domains re-checked per round at most (a round's DNS lookups run one after another)."""


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


async def start_verification(
    rt: Runtime, actor: Actor, tenant_ref: str, domain: str
) -> dict[str, Any]:
    """The TXT record to publish; the domain is created unverified if the tenant lacks it."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        tenant, view, challenge, created = await domains.start_verification(
            s, tenant_ref, domain, rt.clock()
        )
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "domain", view.id
        if created:
            rec.diff = {"domain": {"before": None, "after": view.domain}}
        return view.as_dict() | challenge.as_dict()

    return await audited(rt, actor, "domain.verify_start", op)


async def _prove(rt: Runtime, challenge: Challenge) -> str:
    settings = rt.settings
    answer = await lookup_txt(
        challenge.record_name, settings.dns_nameservers, settings.dns_timeout_seconds
    )
    return proof_outcome(answer, challenge.record_value)


async def _record(
    rt: Runtime, actor: Actor, action: str, tenant_id: str, challenge: Challenge, outcome: str
) -> DomainView:
    async def op(s: AsyncSession, rec: AuditRecord) -> DomainView:
        before, after = await domains.record_check(s, tenant_id, challenge, outcome, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = tenant_id, "domain", after.id
        was, now = before.as_dict(), after.as_dict()
        rec.diff = {"outcome": {"before": None, "after": outcome}} | {
            k: {"before": was[k], "after": now[k]}
            for k in ("verified", "verified_at", "lapsed_at")
            if was[k] != now[k]
        }
        return after

    view = await audited(rt, actor, action, op)
    await _published(rt, view.domain)
    return view


async def verify(rt: Runtime, actor: Actor, tenant_ref: str, domain: str) -> dict[str, Any]:
    """Look the domain's TXT record up and record the outcome: ``verified`` (the domain
    routes), ``record_missing``, ``value_mismatch`` or ``dns_error``."""
    async with rt.db.read() as s:
        tenant, challenge = await domains.proof_to_check(s, tenant_ref, domain)
    outcome = await _prove(rt, challenge)
    view = await _record(rt, actor, "domain.verify", tenant.id, challenge, outcome)
    return view.as_dict() | challenge.as_dict() | {"outcome": outcome}


async def recheck_due(rt: Runtime) -> dict[str, str]:
    """One round: re-prove the verified self-service domains not checked for
    ``domain_recheck_seconds``; a definitive absence lapses one (audited ``domain.lapse``),
    a DNS failure only notes the check. Returns each domain's outcome."""
    interval = timedelta(seconds=rt.settings.domain_recheck_seconds)
    async with rt.db.read() as s:
        due = await domains.due_for_recheck(s, rt.clock(), interval, RECHECK_BATCH)
    out: dict[str, str] = {}
    for tenant_id, challenge in due:
        try:
            outcome = await _prove(rt, challenge)
            action = "domain.recheck" if outcome in (VERIFIED, "dns_error") else "domain.lapse"
            await _record(rt, RECHECK, action, tenant_id, challenge, outcome)
            out[challenge.domain] = outcome
        except Exception as exc:  # one domain's failure must not stop the round
            out[challenge.domain] = type(exc).__name__
            log.exception("domain_recheck_error", domain=challenge.domain)
    return out


async def recheck_loop(rt: Runtime, interval_seconds: float) -> None:
    """Background task of the app lifespan: re-check the domains that fell due, at least
    hourly (so a domain is seen soon after it falls due), one process of those sharing the
    accelerator per round (:func:`every`)."""
    interval = min(interval_seconds, 3600.0)
    await every(
        interval,
        lambda: recheck_due(rt),
        once=rt.cache.remember_once,
        key="domains:recheck",
        retry_cap_seconds=rt.settings.background_retry_max_seconds,
        timeout_seconds=max(interval, RECHECK_BATCH * rt.settings.dns_timeout_seconds + 60),
        event="domain_recheck_loop_error",
    )
