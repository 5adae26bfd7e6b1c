"""Dry run: whose entitlements a rule set would add or remove, before it is saved, compared
with what each user holds now. Read-only; the same evaluation as :mod:`.recompute`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import User
from propylon.entitlements import store
from propylon.entitlements.model import EMPTY, Grant
from propylon.entitlements.recompute import CHUNK, evaluate
from propylon.entitlements.rules import RuleSet


async def live_user_ids(s: AsyncSession, tenant_id: str) -> list[str]:
    q = select(User.id).where(User.tenant_id == tenant_id, User.deleted_at.is_(None))
    return sorted((await s.scalars(q)).all())


def difference(before: Grant, after: Grant) -> dict[str, Any]:
    return {
        "added": {
            "roles": sorted(after.roles - before.roles),
            "programs": sorted(after.programs - before.programs),
        },
        "removed": {
            "roles": sorted(before.roles - after.roles),
            "programs": sorted(before.programs - after.programs),
        },
        "tier": {"before": before.tier, "after": after.tier},
    }


async def dry_run(s: AsyncSession, tenant_id: str, rules: RuleSet) -> dict[str, Any]:
    """Every live user whose entitlements ``rules`` would change, with what is added and
    removed (``changes``), and how many users were evaluated."""
    ids = await live_user_ids(s, tenant_id)
    changes: list[dict[str, Any]] = []
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        users = list(await s.scalars(select(User).where(User.id.in_(chunk))))
        groups = await store.scim_groups(s, chunk)
        rows = await store.user_rows(s, chunk)
        for user in sorted(users, key=lambda u: u.id):
            row = rows.get(user.id)
            before = store.stored(row).grant
            idp = store.names_of(row.idp_groups if row else None)
            after = evaluate(rules, groups.get(user.id, []), idp, user) if user else EMPTY
            if after != before:
                entry = {"user_id": user.id, "user_name": user.user_name, "email": user.email}
                changes.append(entry | difference(before, after))
    return {"evaluated": len(ids), "changed": len(changes), "changes": changes}
