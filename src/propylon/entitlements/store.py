"""Reading and writing entitlements: the catalogue, tenants' rule sets, users' entitlements
and the group names the rules see."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Group, GroupMember, Tenant, core
from propylon.db.tables_entitlements import CatalogEntry, RuleSetRow, UserEntitlements
from propylon.entitlements.model import NONE, Entitlements, Grant
from propylon.entitlements.rules import RuleSet, parse

_UE = core(UserEntitlements)
_READ = select(_UE.c.version, _UE.c.roles, _UE.c.tier, _UE.c.programs, _UE.c.idp_groups).where(
    _UE.c.user_id == bindparam("user_id")
)
_GROUPS, _MEMBERS = core(Group), core(GroupMember)
_GROUP_NAMES = (
    select(_GROUPS.c.display_name)
    .join(_MEMBERS, _MEMBERS.c.group_id == _GROUPS.c.id)
    .where(_MEMBERS.c.member_id == bindparam("user_id"), _GROUPS.c.deleted_at.is_(None))
)


def names_of(doc: dict[str, Any] | None) -> list[str]:
    raw = (doc or {}).get("names") or []
    return [str(n) for n in raw]


def stored(row: UserEntitlements | None) -> Entitlements:
    if row is None:
        return NONE
    grant = Grant.of(names_of(row.roles), row.tier, names_of(row.programs))
    return Entitlements(row.version, grant)


async def read(s: AsyncSession, user_id: str) -> tuple[Entitlements, list[str]]:
    """A user's current entitlements and the IdP groups of their last SSO sign-in (one
    prebuilt statement; nothing stored: version 0, nothing granted)."""
    conn = await s.connection()
    row = (await conn.execute(_READ, {"user_id": user_id})).first()
    if row is None:
        return NONE, []
    version, roles, tier, programs, idp = row
    grant = Grant.of(names_of(roles), tier, names_of(programs))
    return Entitlements(version, grant), names_of(idp)


async def group_names(s: AsyncSession, user_id: str, idp_groups: Iterable[str]) -> list[str]:
    """The raw group names of a user: their SCIM groups and the IdP's group claim."""
    conn = await s.connection()
    scim = (await conn.execute(_GROUP_NAMES, {"user_id": user_id})).scalars().all()
    return sorted({*scim, *idp_groups})


async def catalog(s: AsyncSession) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"role": set(), "tier": set(), "program": set()}
    for kind, name in await s.execute(select(CatalogEntry.kind, CatalogEntry.name)):
        out.setdefault(kind, set()).add(name)
    return out


async def has_rules(s: AsyncSession, tenant_id: str) -> bool:
    q = select(Tenant.entitlement_rules_version).where(Tenant.id == tenant_id)
    return bool(await s.scalar(q))


async def rule_set(s: AsyncSession, tenant_id: str, *, lock: bool = False) -> RuleSetRow | None:
    q = select(RuleSetRow).where(RuleSetRow.tenant_id == tenant_id)
    return await s.scalar(q.with_for_update() if lock else q)


async def rules_of(s: AsyncSession, tenant_id: str) -> RuleSet | None:
    row = await rule_set(s, tenant_id)
    return parse(row.doc) if row is not None else None


async def user_rows(s: AsyncSession, user_ids: Sequence[str]) -> dict[str, UserEntitlements]:
    if not user_ids:
        return {}
    rows = await s.scalars(select(UserEntitlements).where(UserEntitlements.user_id.in_(user_ids)))
    return {r.user_id: r for r in rows}


async def scim_groups(s: AsyncSession, user_ids: Sequence[str]) -> dict[str, list[str]]:
    """Direct SCIM group names of each user."""
    out: dict[str, list[str]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return out
    q = (
        select(GroupMember.member_id, Group.display_name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.member_id.in_(user_ids), Group.deleted_at.is_(None))
    )
    for uid, name in await s.execute(q):
        out.setdefault(uid, []).append(name)
    return out
