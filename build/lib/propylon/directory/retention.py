"""Retention: deprovisioned users, deleted groups, SCIM directories and tenants are purged
after the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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

    async def deleted(table: Any, name: Any, owned: bool) -> Any:
        query = select(table.id, Tenant.slug, name, table.deleted_at)
        if owned:
            query = query.join(Tenant, Tenant.id == table.tenant_id)
        gone = table.deleted_at.is_not(None) & (table.deleted_at < cutoff)
        return await session.execute(query.where(gone).order_by(table.deleted_at))

    users = await deleted(User, User.user_name, True)
    groups = await deleted(Group, Group.display_name, True)
    directories = await deleted(ScimDirectory, ScimDirectory.name, True)
    tenants = await deleted(Tenant, Tenant.name, False)
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
