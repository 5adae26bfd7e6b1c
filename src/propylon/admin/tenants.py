"""Management operations on tenants, SCIM directories and their tokens, API keys, the audit
trail and purges, which the CLI and the management API both call.

Each opens its own transaction, calls the tenant/directory services and records an audit
entry in the same transaction; failures are audited after the rollback
(:mod:`propylon.admin.audited`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import (
    Actor,
    AuditRecord,
    list_entries,
)
from propylon.cache.fanout import publish_committed
from propylon.directory import scope_cache
from propylon.directory import session_events as se
from propylon.directory.events import Outbox, StoredEvent
from propylon.directory.retention import PurgeCandidate, purge
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.sessions.expiry import purge_expired
from propylon.sessions.service import NON_SSO_METHODS
from propylon.tenants import api_keys, directories, offboarding, service
from propylon.tenants.service import get_tenant


def _scope_lifetime(rt: Runtime) -> float:
    return rt.settings.scim_scope_cache_seconds


async def create_tenant(
    rt: Runtime, actor: Actor, *, slug: str, name: str, domains: list[str], seats: int | None
) -> service.TenantView:
    async def op(s: AsyncSession, rec: AuditRecord) -> service.TenantView:
        view = await service.create_tenant(
            s, slug=slug, name=name, domains=domains, seats=seats, now=rt.clock()
        )
        rec.tenant_id, rec.target_type, rec.target_id = view.id, "tenant", view.id
        rec.diff = {
            "slug": {"before": None, "after": slug},
            "seats": {"before": None, "after": seats},
        }
        return view

    return await audited(rt, actor, "tenant.create", op)


async def update_tenant(
    rt: Runtime, actor: Actor, ref: str, *, name: str | None, seats: int | bool | None
) -> service.TenantView:
    async def op(s: AsyncSession, rec: AuditRecord) -> service.TenantView:
        before = await service.describe_tenant(s, ref)
        view = await service.update_tenant(s, ref, name=name, seats=seats, now=rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = view.id, "tenant", view.id
        rec.diff = {
            k: {"before": getattr(before, k), "after": getattr(view, k)}
            for k in ("name", "seats")
            if getattr(before, k) != getattr(view, k)
        }
        return view

    view = await audited(rt, actor, "tenant.update", op)
    # cached scopes carry the seat limit
    await publish_committed(rt.cache, scope_cache.CHANNEL, view.id, _scope_lifetime(rt))
    return view


async def set_sign_in_policy(
    rt: Runtime, actor: Actor, ref: str, policy: service.SignInPolicy
) -> service.TenantView:
    """Enforce SSO (which ends the tenant's password and Google sessions), allow or refuse
    password and Google sign-in, set or remove the vanity host name; audited, and published
    so every process drops the login routes it keeps. Starting to enforce SSO emits
    ``tenant.sessions_revoked`` in the same transaction."""
    written: list[tuple[str, list[StoredEvent]]] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> service.TenantView:
        now = rt.clock()
        before = await service.describe_tenant(s, ref)
        view = await service.set_sign_in_policy(s, ref, policy, now)
        rec.tenant_id, rec.target_type, rec.target_id = view.id, "tenant", view.id
        rec.diff = {
            k: {"before": getattr(before, k), "after": getattr(view, k)}
            for k in ("enforce_sso", "allow_password", "allow_google", "hostname")
            if getattr(before, k) != getattr(view, k)
        }
        if view.enforce_sso and not before.enforce_sso:
            outbox = Outbox(view.id)
            outbox.emit(
                se.tenant_sessions_revoked(
                    tenant_id=view.id,
                    auth_methods=sorted(NON_SSO_METHODS),
                    before=now,
                    reason=se.SSO_ENFORCED,
                )
            )
            written.append((view.id, await outbox.flush(s, now)))
        return view

    view = await audited(rt, actor, "tenant.sign_in_policy", op)
    for tenant_id, stored in written:
        await rt.events.published(tenant_id, stored)
    await publish_committed(rt.cache, SIGN_IN_CHANNEL, view.id, rt.settings.sign_in_cache_seconds)
    return view


async def delete_tenant(rt: Runtime, actor: Actor, ref: str) -> dict[str, Any]:
    """The tenant is gone at once (sign-ins and tokens revoked, connections disabled); its
    data stays until ``purge`` after the retention period."""
    written: list[StoredEvent] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        tenant = await offboarding.delete_tenant(s, ref, now, written)
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "tenant", tenant.id
        rec.diff = {"deleted_at": {"before": None, "after": now.isoformat()}}
        return {"id": tenant.id, "slug": tenant.slug, "deleted_at": now.isoformat()}

    out = await audited(rt, actor, "tenant.delete", op)
    await rt.events.published(out["id"], written)
    settings = rt.settings  # after commit: token scopes, login routes, connections
    lifetime = max(settings.scim_scope_cache_seconds, settings.sign_in_cache_seconds)
    failed = await publish_committed(rt.cache, scope_cache.CHANNEL, out["id"], lifetime)
    failed |= await publish_committed(rt.cache, SIGN_IN_CHANNEL, out["id"], lifetime)
    return out | failed


async def list_tenants(rt: Runtime) -> list[service.TenantView]:
    async with rt.db.read() as s:
        return await service.list_tenants(s)


async def describe_tenant(rt: Runtime, ref: str) -> service.TenantView:
    async with rt.db.read() as s:
        return await service.describe_tenant(s, ref)


async def create_directory(
    rt: Runtime, actor: Actor, tenant_ref: str, *, name: str | None = None
) -> dict[str, str]:
    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, str]:
        tenant, issued = await directories.create_directory(
            s, tenant_ref, name=name, now=rt.clock()
        )
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "directory", issued.directory_id
        return {
            "directory_id": issued.directory_id,
            "tenant_id": tenant.id,
            "base_url": directories.scim_base_url(rt.settings.public_url, issued.directory_id),
            "token": issued.token,
            "token_id": issued.token_id,
        }

    return await audited(rt, actor, "scim.directory.create", op)


async def list_directories(rt: Runtime, tenant_ref: str) -> list[dict[str, str]]:
    async with rt.db.read() as s:
        rows = await directories.list_directories(s, tenant_ref)
    return [
        {
            "directory_id": d.id,
            "tenant_id": d.tenant_id,
            "name": d.name,
            "base_url": directories.scim_base_url(rt.settings.public_url, d.id),
            "created_at": d.created_at.isoformat(),
        }
        for d in rows
    ]


async def rotate_token(rt: Runtime, actor: Actor, directory_id: str) -> dict[str, str]:
    grace = timedelta(seconds=rt.settings.scim_token_grace_seconds)

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, str]:
        directory = await directories.get_directory(s, directory_id)
        issued = await directories.rotate_token(s, directory_id, grace=grace, now=rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = (
            directory.tenant_id,
            "directory",
            directory_id,
        )
        old_until = (rt.clock() + grace).isoformat()
        return {
            "directory_id": directory_id,
            "token": issued.token,
            "token_id": issued.token_id,
            "previous_tokens_valid_until": old_until,
        }

    out = await audited(rt, actor, "scim.token.rotate", op)
    return out | await publish_committed(
        rt.cache, scope_cache.CHANNEL, directory_id, _scope_lifetime(rt)
    )


async def revoke_tokens(rt: Runtime, actor: Actor, directory_id: str) -> dict[str, Any]:
    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        directory = await directories.get_directory(s, directory_id)
        n = await directories.revoke_tokens(s, directory_id, now=rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = (
            directory.tenant_id,
            "directory",
            directory_id,
        )
        return {"directory_id": directory_id, "revoked": n}

    out = await audited(rt, actor, "scim.token.revoke", op)
    return out | await publish_committed(
        rt.cache, scope_cache.CHANNEL, directory_id, _scope_lifetime(rt)
    )


async def delete_directory(rt: Runtime, actor: Actor, directory_id: str) -> dict[str, Any]:
    """Revoke the directory's tokens, deprovision its users and groups (kept for the
    retention period)."""
    written: list[StoredEvent] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        tenant_id, users = await offboarding.delete_directory(s, directory_id, rt.clock(), written)
        rec.tenant_id, rec.target_type, rec.target_id = tenant_id, "directory", directory_id
        rec.diff = {"users_deprovisioned": {"before": None, "after": users}}
        return {"directory_id": directory_id, "deleted": True, "users_deprovisioned": users}

    out = await audited(rt, actor, "scim.directory.delete", op)
    if written:
        await rt.events.published(written[0].tenant_id, written)
    lifetime = rt.settings.scim_scope_cache_seconds
    return out | await publish_committed(rt.cache, scope_cache.CHANNEL, directory_id, lifetime)


async def create_api_key(rt: Runtime, actor: Actor, name: str) -> dict[str, str]:
    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, str]:
        issued = await api_keys.create_api_key(s, name=name, now=rt.clock())
        rec.target_type, rec.target_id = "api_key", issued.id
        return {"id": issued.id, "name": issued.name, "key": issued.key}

    return await audited(rt, actor, "api_key.create", op)


async def list_api_keys(rt: Runtime) -> list[dict[str, Any]]:
    """Every API key ever made (never the key: only its SHA-256 is stored)."""
    async with rt.db.read() as s:
        rows = await api_keys.list_api_keys(s)
    return [
        {
            "id": k.id,
            "name": k.name,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in rows
    ]


async def revoke_api_key(rt: Runtime, actor: Actor, key_id: str) -> None:
    async def op(s: AsyncSession, rec: AuditRecord) -> None:
        await api_keys.revoke_api_key(s, key_id, now=rt.clock())
        rec.target_type, rec.target_id = "api_key", key_id

    await audited(rt, actor, "api_key.revoke", op)


async def audit_trail(
    rt: Runtime,
    tenant_ref: str | None,
    *,
    limit: int,
    action: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first: one tenant's entries, or with no tenant the whole trail (the platform's
    own actions, such as apps, API keys and signing keys, included); ``actor_id``: one
    actor's (an API key, an operator…); ``since``: from then on."""
    async with rt.db.read() as s:
        tenant_id = (await get_tenant(s, tenant_ref)).id if tenant_ref is not None else None
        rows = await list_entries(
            s, tenant_id=tenant_id, limit=limit, action=action, actor_id=actor_id, since=since
        )
    return [
        {
            "id": e.id,
            "time": e.created_at.isoformat(),
            "tenant_id": e.tenant_id,
            "directory_id": e.directory_id,
            "actor_type": e.actor_type,
            "actor_id": e.actor_id,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "outcome": e.outcome,
            "status": e.status,
            "reason": e.reason,
            "diff": e.diff,
            "request_id": e.request_id,
        }
        for e in rows
    ]


async def purge_deprovisioned(rt: Runtime, actor: Actor, *, dry_run: bool) -> list[PurgeCandidate]:
    retention = timedelta(days=rt.settings.retention_days)
    if dry_run:
        async with rt.db.read() as s:
            return await purge(s, now=rt.clock(), retention=retention, dry_run=True)

    async def op(s: AsyncSession, rec: AuditRecord) -> list[PurgeCandidate]:
        found = await purge(s, now=rt.clock(), retention=retention, dry_run=False)
        rec.diff = {"purged": {"before": len(found), "after": 0}}
        return found

    return await audited(rt, actor, "retention.purge", op)


async def purge_expired_sign_in_state(
    rt: Runtime, actor: Actor, *, dry_run: bool
) -> dict[str, int]:
    """Expired codes, refresh tokens, pending AuthnRequests and database sessions
    (:mod:`propylon.sessions.expiry`): counted with ``dry_run``, else deleted and audited."""
    keep = timedelta(days=rt.settings.connection_test_retention_days)
    if dry_run:
        async with rt.db.read() as s:
            return await purge_expired(s, now=rt.clock(), dry_run=True, test_retention=keep)

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, int]:
        counts = await purge_expired(s, now=rt.clock(), dry_run=False, test_retention=keep)
        rec.diff = {"expired_removed": {"before": None, "after": counts}}
        return counts

    return await audited(rt, actor, "retention.purge_expired", op)
