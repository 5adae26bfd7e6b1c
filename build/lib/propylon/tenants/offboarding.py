"""Deleting a tenant or a SCIM directory: gone at once for every caller, data kept for the
retention period, then purged (:mod:`propylon.directory.retention`).

Deletion revokes rather than hides: SCIM tokens get ``revoked_at``, every affected user's
``revocation_epoch`` goes up (so their sessions, refresh tokens and access tokens stay dead in
either session store, see :func:`propylon.directory.users.revoke_sign_ins`), a tenant's SAML
connections are disabled. Nothing comes back if a row is later restored by hand.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Group, ScimToken, Tenant, User
from propylon.db.tables_saml import SamlConnection
from propylon.directory.users import revoke_sign_ins_where
from propylon.tenants.directories import get_directory
from propylon.tenants.service import get_tenant


async def delete_tenant(s: AsyncSession, ref: str, now: datetime) -> Tenant:
    tenant = await get_tenant(s, ref)
    tenant.deleted_at = tenant.updated_at = now
    await s.execute(
        update(ScimToken)
        .where(ScimToken.tenant_id == tenant.id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await s.execute(
        update(SamlConnection)
        .where(SamlConnection.tenant_id == tenant.id, SamlConnection.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    await revoke_sign_ins_where(s, User.tenant_id == tenant.id, now)
    await s.flush()
    return tenant


async def delete_directory(s: AsyncSession, directory_id: str, now: datetime) -> tuple[str, int]:
    """Revoke the directory's tokens and deprovision its users and groups (kept for the
    retention period, as a SCIM DELETE keeps them); returns the tenant id and how many users
    were deprovisioned."""
    directory = await get_directory(s, directory_id)
    directory.deleted_at = now
    await s.execute(
        update(ScimToken)
        .where(ScimToken.directory_id == directory.id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    live = (User.directory_id == directory.id) & User.deleted_at.is_(None)
    await revoke_sign_ins_where(s, live, now)
    done = await s.execute(update(User).where(live).values(deleted_at=now, active=False))
    await s.execute(
        update(Group)
        .where(Group.directory_id == directory.id, Group.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    await s.flush()
    return directory.tenant_id, int(done.rowcount or 0)  # type: ignore[attr-defined]
