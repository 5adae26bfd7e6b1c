"""Retention: deprovisioned users, deleted groups, SCIM directories and tenants are purged
after the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Group, ScimDirectory, Tenant, User


@dataclass(frozen=True)
class PurgeCandidate:
    kind: str
    id: str
    tenant_slug: str
    name: str
    deleted_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "id": self.id,
            "tenant": self.tenant_slug,
            "name": self.name,
            "deleted_at": self.deleted_at.isoformat(),
        }


async def purge(
    session: AsyncSession, *, now: datetime, retention: timedelta, dry_run: bool
) -> list[PurgeCandidate]:
    """Remove what was deleted before ``now - retention``; with ``dry_run`` only list it."""
    cutoff = now - retention
    users = await session.execute(
        select(User.id, Tenant.slug, User.user_name, User.deleted_at)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.deleted_at.is_not(None), User.deleted_at < cutoff)
        .order_by(User.deleted_at)
    )
    groups = await session.execute(
        select(Group.id, Tenant.slug, Group.display_name, Group.deleted_at)
        .join(Tenant, Tenant.id == Group.tenant_id)
        .where(Group.deleted_at.is_not(None), Group.deleted_at < cutoff)
        .order_by(Group.deleted_at)
    )
    tenants = await session.execute(
        select(Tenant.id, Tenant.slug, Tenant.name, Tenant.deleted_at)
        .where(Tenant.deleted_at.is_not(None), Tenant.deleted_at < cutoff)
        .order_by(Tenant.deleted_at)
    )
    directories = await session.execute(
        select(ScimDirectory.id, Tenant.slug, ScimDirectory.name, ScimDirectory.deleted_at)
        .join(Tenant, Tenant.id == ScimDirectory.tenant_id)
        .where(ScimDirectory.deleted_at.is_not(None), ScimDirectory.deleted_at < cutoff)
        .order_by(ScimDirectory.deleted_at)
    )
    found = [
        PurgeCandidate(kind, rid, slug, name, deleted)
        for kind, rows in (
            ("user", users),
            ("group", groups),
            ("directory", directories),
            ("tenant", tenants),
        )
        for rid, slug, name, deleted in rows
        if deleted is not None
    ]
    if not dry_run and found:
        ids = [c.id for c in found]
        await session.execute(
            delete(User).where(User.id.in_([c.id for c in found if c.kind == "user"]))
        )
        await session.execute(
            delete(Group).where(Group.id.in_([i for i in ids if i.startswith("grp_")]))
        )
        # a tenant's rows go with it (foreign keys cascade); its audit trail stays
        for kind, table in (("directory", ScimDirectory), ("tenant", Tenant)):
            gone = [c.id for c in found if c.kind == kind]
            if gone:
                await session.execute(delete(table).where(table.id.in_(gone)))
    return found
