"""Management of entitlements, which the CLI (``propylon roles ...``) and the management API
both call: the platform's catalogue of roles, tiers and programs; each tenant's rule set
(validated against the catalogue, versioned, audited with before/after, a dry run first if
asked); a user's entitlements; a tenant-wide recompute.

Saving a rule set recomputes every user of the tenant in the same transaction (events
``user.entitlements_changed``), raises ``tenants.entitlement_rules_version`` (which the SCIM
path reads with its token) and tells every process to drop its cached token scopes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord
from propylon.cache.fanout import publish_committed
from propylon.db.tables import User
from propylon.db.tables_entitlements import CatalogEntry, RuleSetRow, RuleSetVersion
from propylon.directory import scope_cache
from propylon.directory.events import Outbox, StoredEvent
from propylon.entitlements import plan, store
from propylon.entitlements.model import KINDS
from propylon.entitlements.recompute import recompute
from propylon.entitlements.rules import EMPTY_SET, parse
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.ids import Kind, new_id
from propylon.runtime import Runtime
from propylon.tenants.service import get_tenant

MAX_DESCRIPTION = 1000


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    return kind


def _entry_view(e: CatalogEntry) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "name": e.name,
        "description": e.description,
        "created_at": e.created_at.isoformat(),
    }


async def catalog_add(
    rt: Runtime, actor: Actor, kind: str, name: str, description: str | None = None
) -> dict[str, Any]:
    kind, name = _kind(kind), name.strip()
    if not name or len(name) > 255 or "\x00" in name:
        raise InvalidInput("name must be 1 to 255 characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters")

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        taken = await s.scalar(
            select(CatalogEntry).where(CatalogEntry.kind == kind, CatalogEntry.name == name)
        )
        if taken is not None:
            raise AlreadyExists(f"{kind} {name!r} is already declared", "name")
        entry = CatalogEntry(
            id=new_id(Kind.CATALOG_ENTRY),
            kind=kind,
            name=name,
            description=description,
            created_at=rt.clock(),
        )
        s.add(entry)
        rec.target_type, rec.target_id = "entitlement", entry.id  # the name can be 255 long
        rec.diff = {"entry": {"before": None, "after": {"kind": kind, "name": name}}}
        return _entry_view(entry)

    return await audited(rt, actor, "entitlements.catalog.add", op)


async def catalog_list(rt: Runtime, kind: str | None = None) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        q = select(CatalogEntry).order_by(CatalogEntry.kind, CatalogEntry.name)
        if kind is not None:
            q = q.where(CatalogEntry.kind == _kind(kind))
        return [_entry_view(e) for e in await s.scalars(q)]


async def catalog_remove(rt: Runtime, actor: Actor, kind: str, name: str) -> dict[str, Any]:
    """Remove a declared name; refused while any tenant's rule set grants it."""
    kind = _kind(kind)
    if not name or len(name) > 255 or "\x00" in name:
        raise NotFound(f"no {kind} {name[:255]!r} in the catalogue")

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        entry = await s.scalar(
            select(CatalogEntry).where(CatalogEntry.kind == kind, CatalogEntry.name == name)
        )
        if entry is None:
            raise NotFound(f"no {kind} {name!r} in the catalogue")
        for tenant_id, doc in await s.execute(select(RuleSetRow.tenant_id, RuleSetRow.doc)):
            if name in parse(doc).names()[kind]:
                raise InvalidInput(f"{kind} {name!r} is granted by the rules of {tenant_id}")
        await s.delete(entry)
        rec.target_type, rec.target_id = "entitlement", entry.id
        rec.diff = {"entry": {"before": {"kind": kind, "name": name}, "after": None}}
        return {"kind": kind, "name": name, "removed": True}

    return await audited(rt, actor, "entitlements.catalog.remove", op)


def _rules_view(tenant_id: str, row: RuleSetRow | None) -> dict[str, Any]:
    if row is None:
        return {"tenant_id": tenant_id, "version": 0, "rules": EMPTY_SET.as_dict()}
    return {
        "tenant_id": tenant_id,
        "version": row.version,
        "rules": row.doc,
        "updated_at": row.updated_at.isoformat(),
    }


async def rules_show(rt: Runtime, tenant_ref: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        return _rules_view(tenant.id, await store.rule_set(s, tenant.id))


async def rules_history(rt: Runtime, tenant_ref: str) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        q = (
            select(RuleSetVersion)
            .where(RuleSetVersion.tenant_id == tenant.id)
            .order_by(RuleSetVersion.version.desc())
        )
        return [
            {
                "version": v.version,
                "rules": v.doc,
                "actor": v.actor,
                "created_at": v.created_at.isoformat(),
            }
            for v in await s.scalars(q)
        ]


async def rules_dry_run(rt: Runtime, tenant_ref: str, doc: Any) -> dict[str, Any]:
    """What saving ``doc`` would change, without saving (validated like a save)."""
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        rules = parse(doc, await store.catalog(s))
        row = await store.rule_set(s, tenant.id)
        out = await plan.dry_run(s, tenant.id, rules)
        return {"tenant_id": tenant.id, "dry_run": True, "version": row.version if row else 0} | out


async def rules_set(rt: Runtime, actor: Actor, tenant_ref: str, doc: Any) -> dict[str, Any]:
    """Validate and save a tenant's rule set as its next version; recompute its users."""
    written: list[StoredEvent] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        tenant = await get_tenant(s, tenant_ref)
        rules = parse(doc, await store.catalog(s))
        saved = rules.as_dict()
        row = await store.rule_set(s, tenant.id, lock=True)  # one edit at a time
        before = row.doc if row is not None else None
        version = (row.version if row is not None else 0) + 1
        outbox = Outbox(tenant.id)
        ids = await plan.live_user_ids(s, tenant.id)
        changes = await recompute(s, outbox, tenant.id, ids, now, rules=rules)
        if row is None:
            s.add(RuleSetRow(tenant_id=tenant.id, version=version, doc=saved, updated_at=now))
        else:
            row.version, row.doc, row.updated_at = version, saved, now
        s.add(
            RuleSetVersion(
                id=new_id(Kind.RULE_VERSION),
                tenant_id=tenant.id,
                version=version,
                doc=saved,
                actor=f"{actor.type}:{actor.id}" if actor.id else actor.type,
                created_at=now,
            )
        )
        tenant.entitlement_rules_version = version
        written.extend(await outbox.flush(s, now))  # takes the tenant lock: last
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "rules", tenant.id
        rec.diff = {
            "rules": {"before": before, "after": saved},
            "version": {"before": version - 1, "after": version},
            "users_changed": len(changes),
        }
        view = _rules_view(tenant.id, None) | {"version": version, "rules": saved}
        return view | {"users_changed": len(changes)}

    out = await audited(rt, actor, "entitlements.rules.set", op)
    if written:
        await rt.events.published(out["tenant_id"], written)
    lifetime = rt.settings.scim_scope_cache_seconds  # cached token scopes carry the version
    return out | await publish_committed(rt.cache, scope_cache.CHANNEL, out["tenant_id"], lifetime)


async def recompute_tenant(rt: Runtime, actor: Actor, tenant_ref: str) -> dict[str, Any]:
    """Recompute every user of the tenant with its stored rules (what changes is evented)."""
    written: list[StoredEvent] = []

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        tenant = await get_tenant(s, tenant_ref)
        outbox = Outbox(tenant.id)
        ids = await plan.live_user_ids(s, tenant.id)
        changes = await recompute(s, outbox, tenant.id, ids, now)
        written.extend(await outbox.flush(s, now))
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "rules", tenant.id
        rec.diff = {"users_changed": len(changes)}
        return {"tenant_id": tenant.id, "evaluated": len(ids), "users_changed": len(changes)}

    out = await audited(rt, actor, "entitlements.recompute", op)
    if written:
        await rt.events.published(out["tenant_id"], written)
    return out


async def user_entitlements(rt: Runtime, tenant_ref: str, user_id: str) -> dict[str, Any]:
    """A user's current entitlements and the group names the rules see."""
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        owner = await s.scalar(
            select(RuleSetRow.tenant_id).where(RuleSetRow.tenant_id == tenant.id)
        )
        found = await s.scalar(
            select(User.id).where(User.id == user_id, User.tenant_id == tenant.id)
        )
        if found is None:
            raise NotFound(f"no user {user_id!r}")
        current, idp = await store.read(s, user_id)
        scim = (await store.scim_groups(s, [user_id]))[user_id]
        return {
            "user_id": user_id,
            "tenant_id": tenant.id,
            "rules": owner is not None,
            "entitlements": current.as_dict(),
            "groups": {"scim": sorted(scim), "idp": idp},
        }
