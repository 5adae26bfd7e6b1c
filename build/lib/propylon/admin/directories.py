"""What the CLI and the management API read of a tenant's directory (users, groups and
their memberships); reads only, nothing audited: SCIM is how the directory changes."""

from __future__ import annotations

from typing import Any

from propylon.directory import views
from propylon.directory.views import UserFilter
from propylon.runtime import Runtime
from propylon.tenants.service import get_tenant

MEMBER_LIMIT = 1000
"""Most members a group view lists (``member_count`` gives the total)."""


async def list_users(
    rt: Runtime, tenant_ref: str, *, offset: int, limit: int, where: UserFilter | None = None
) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        return await views.list_users(
            s, tenant.id, where or UserFilter(), offset=offset, limit=limit
        )


async def get_user(rt: Runtime, tenant_ref: str, user_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        return await views.get_user(s, tenant.id, user_id)


async def list_groups(
    rt: Runtime, tenant_ref: str, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        return await views.list_groups(s, tenant.id, offset=offset, limit=limit)


async def get_group(rt: Runtime, tenant_ref: str, group_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        return await views.get_group(s, tenant.id, group_id, member_limit=MEMBER_LIMIT)
