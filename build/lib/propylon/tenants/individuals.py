"""The platform's individual users: people who belong to no customer organisation (a
password or Google account whose email domain no tenant owns).

They live in one reserved tenant, so every rule that reads a user's tenant (sessions, seats,
revocation, the audit trail) holds for them unchanged. Its slug, ``~individuals``, is one no
customer tenant can take (tenant slugs are lowercase letters, digits and hyphens), it owns no
domain and no connection, and tokens issued to its users carry no ``org_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant

INDIVIDUALS_TENANT_ID = "ten_individuals"
INDIVIDUALS_SLUG = "~individuals"


def is_individuals(tenant_id: str) -> bool:
    return tenant_id == INDIVIDUALS_TENANT_ID


async def individuals_tenant(session: AsyncSession, now: datetime) -> str:
    """The reserved tenant's id, creating it on first use (a concurrent first use is
    harmless: the loser's insert is rolled back to a savepoint and the row read)."""
    if await session.scalar(select(Tenant.id).where(Tenant.id == INDIVIDUALS_TENANT_ID)):
        return INDIVIDUALS_TENANT_ID
    try:
        async with session.begin_nested():
            session.add(
                Tenant(
                    id=INDIVIDUALS_TENANT_ID,
                    slug=INDIVIDUALS_SLUG,
                    name="Individual accounts",
                    seats=None,
                    event_seq=0,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass
    return INDIVIDUALS_TENANT_ID
