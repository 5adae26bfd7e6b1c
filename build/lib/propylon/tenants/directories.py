"""SCIM directories and their bearer tokens.

A tenant may have several directories (a merger brings a second IdP). Each directory has its
own tokens; rotating keeps the previous token valid for a grace period so the admin can
update the IdP without a provisioning gap; revoking ends every token of the directory now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import ScimDirectory, ScimToken, Tenant
from propylon.directory.scope import DirectoryScope
from propylon.errors import NotFound, Unauthenticated
from propylon.ids import Kind, new_id
from propylon.tenants.credentials import hash_secret, mint
from propylon.tenants.service import get_tenant

if TYPE_CHECKING:
    from propylon.directory.scope_cache import ScopeCache

TOKEN_PREFIX = "scim"


@dataclass(frozen=True)
class IssuedToken:
    directory_id: str
    token_id: str
    token: str


def scim_base_url(public_url: str, directory_id: str) -> str:
    return f"{public_url.rstrip('/')}/scim/v2/{directory_id}"


async def _issue(session: AsyncSession, directory: ScimDirectory, now: datetime) -> IssuedToken:
    token, digest = mint(TOKEN_PREFIX)
    row = ScimToken(
        id=new_id(Kind.SCIM_TOKEN),
        directory_id=directory.id,
        tenant_id=directory.tenant_id,
        token_hash=digest,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return IssuedToken(directory.id, row.id, token)


async def create_directory(
    session: AsyncSession, tenant_ref: str, *, name: str | None, now: datetime
) -> tuple[Tenant, IssuedToken]:
    tenant = await get_tenant(session, tenant_ref)
    directory = ScimDirectory(
        id=new_id(Kind.DIRECTORY),
        tenant_id=tenant.id,
        name=name or f"{tenant.name} directory",
        created_at=now,
    )
    session.add(directory)
    await session.flush()
    return tenant, await _issue(session, directory, now)


async def get_directory(session: AsyncSession, directory_id: str) -> ScimDirectory:
    directory = await session.get(ScimDirectory, directory_id) if len(directory_id) <= 64 else None
    if directory is None or directory.deleted_at is not None:
        raise NotFound(f"no SCIM directory {directory_id!r}")
    return directory


async def list_directories(session: AsyncSession, tenant_ref: str) -> list[ScimDirectory]:
    tenant = await get_tenant(session, tenant_ref)
    rows = await session.scalars(
        select(ScimDirectory)
        .where(ScimDirectory.tenant_id == tenant.id, ScimDirectory.deleted_at.is_(None))
        .order_by(ScimDirectory.created_at)
    )
    return list(rows.all())


async def rotate_token(
    session: AsyncSession, directory_id: str, *, grace: timedelta, now: datetime
) -> IssuedToken:
    """Issue a new token; tokens issued before keep working until ``now + grace``."""
    directory = await get_directory(session, directory_id)
    expires = now + grace
    await session.execute(
        update(ScimToken)
        .where(
            ScimToken.directory_id == directory.id,
            ScimToken.revoked_at.is_(None),
            or_(ScimToken.expires_at.is_(None), ScimToken.expires_at > expires),
        )
        .values(expires_at=expires)
    )
    return await _issue(session, directory, now)


async def revoke_tokens(session: AsyncSession, directory_id: str, *, now: datetime) -> int:
    """Revoke every live token of the directory at once; returns how many."""
    directory = await get_directory(session, directory_id)
    result = await session.execute(
        update(ScimToken)
        .where(ScimToken.directory_id == directory.id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def authenticate(
    session: AsyncSession, token: str, *, now: datetime, cache: ScopeCache | None = None
) -> DirectoryScope:
    """Resolve a bearer token to its directory scope, or raise :class:`Unauthenticated`."""
    if not token.startswith(TOKEN_PREFIX + "_") or len(token) > 256:
        raise Unauthenticated("unknown token")
    digest = hash_secret(token)
    cached = cache.get(digest, now) if cache is not None else None
    if cached is not None:
        return cached
    found = (
        await session.execute(
            select(ScimToken, Tenant.seats)
            .join(Tenant, Tenant.id == ScimToken.tenant_id)
            .where(ScimToken.token_hash == digest)
        )
    ).first()
    if found is None or found[0].revoked_at is not None:
        raise Unauthenticated("unknown or revoked token")
    row, seats = found
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("token expired")
    scope = DirectoryScope(row.tenant_id, row.directory_id, row.id, seats)
    if cache is not None:
        cache.put(digest, scope, row.expires_at)
    return scope
