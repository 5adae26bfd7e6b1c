"""What the platform's operators read of a tenant's directory: users and groups with their
memberships, filtered (``active``, ``email``, ``group``) and paged. Deprovisioned users and
deleted groups are left out, as SCIM leaves them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Group, GroupMember, User
from propylon.errors import NotFound


@dataclass(frozen=True)
class UserFilter:
    active: bool | None = None
    email: str | None = None
    """Exact, case-insensitive."""
    group_id: str | None = None
    """Direct members of this group."""


def user_view(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "directory_id": u.directory_id,
        "user_name": u.user_name,
        "external_id": u.external_id,
        "email": u.email,
        "display_name": u.display_name,
        "given_name": u.given_name,
        "family_name": u.family_name,
        "department": u.department,
        "active": u.active,
        "created_at": u.created_at.isoformat(),
        "updated_at": u.updated_at.isoformat(),
        "deactivated_at": u.deactivated_at.isoformat() if u.deactivated_at else None,
    }


def group_view(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "directory_id": g.directory_id,
        "display_name": g.display_name,
        "external_id": g.external_id,
        "created_at": g.created_at.isoformat(),
        "updated_at": g.updated_at.isoformat(),
    }


def _users(tenant_id: str) -> Select[User]:
    return select(User).where(User.tenant_id == tenant_id, User.deleted_at.is_(None))


def _groups(tenant_id: str) -> Select[Group]:
    return select(Group).where(Group.tenant_id == tenant_id, Group.deleted_at.is_(None))


async def list_users(
    s: AsyncSession, tenant_id: str, where: UserFilter, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    query = _users(tenant_id)
    if where.active is not None:
        query = query.where(User.active.is_(where.active))
    if where.email is not None:
        query = query.where(User.email == where.email.strip().lower())
    if where.group_id is not None:
        members = select(GroupMember.member_id).where(GroupMember.group_id == where.group_id)
        query = query.where(User.id.in_(members))
    rows = await s.scalars(query.order_by(User.created_at, User.id).offset(offset).limit(limit))
    return [user_view(u) for u in rows]


async def _group_refs(s: AsyncSession, tenant_id: str, user_id: str) -> list[dict[str, str]]:
    query = (
        select(Group.id, Group.display_name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(
            GroupMember.member_id == user_id,
            Group.tenant_id == tenant_id,
            Group.deleted_at.is_(None),
        )
        .order_by(Group.display_name)
    )
    return [{"id": gid, "display_name": name} for gid, name in await s.execute(query)]


async def get_user(s: AsyncSession, tenant_id: str, user_id: str) -> dict[str, Any]:
    """One user with the groups it is a direct member of."""
    user = await s.scalar(_users(tenant_id).where(User.id == user_id))
    if user is None:
        raise NotFound(f"no user {user_id!r}")
    return {**user_view(user), "groups": await _group_refs(s, tenant_id, user.id)}


async def list_groups(
    s: AsyncSession, tenant_id: str, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    rows = await s.scalars(
        _groups(tenant_id).order_by(Group.created_at, Group.id).offset(offset).limit(limit)
    )
    return [group_view(g) for g in rows]


async def get_group(
    s: AsyncSession, tenant_id: str, group_id: str, *, member_limit: int
) -> dict[str, Any]:
    """One group with its members (users first by name, then nested groups), at most
    ``member_limit`` of them; ``member_count`` says how many there are."""
    group = await s.scalar(_groups(tenant_id).where(Group.id == group_id))
    if group is None:
        raise NotFound(f"no group {group_id!r}")
    of_group = GroupMember.group_id == group.id
    users = await s.execute(
        select(User.id, User.user_name, User.email)
        .join(GroupMember, (GroupMember.member_id == User.id) & of_group)
        .where(User.deleted_at.is_(None))
        .order_by(User.user_name_ci)
        .limit(member_limit)
    )
    members: list[dict[str, Any]] = [
        {"type": "User", "id": uid, "user_name": name, "email": email} for uid, name, email in users
    ]
    if len(members) < member_limit:
        nested = await s.execute(
            select(Group.id, Group.display_name)
            .join(GroupMember, (GroupMember.member_id == Group.id) & of_group)
            .where(Group.deleted_at.is_(None))
            .order_by(Group.display_name)
            .limit(member_limit - len(members))
        )
        members += [{"type": "Group", "id": gid, "display_name": n} for gid, n in nested]
    count = await s.scalar(select(func.count()).select_from(GroupMember).where(of_group))
    return {**group_view(group), "member_count": int(count or 0), "members": members}
