"""Management API keys for the host platform, stored as SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import ApiKey
from propylon.errors import InvalidInput, NotFound, Unauthenticated
from propylon.ids import Kind, new_id
from propylon.tenants.credentials import hash_secret, mint

KEY_PREFIX = "pk"


@dataclass(frozen=True)
class IssuedKey:
    id: str
    name: str
    key: str


async def create_api_key(session: AsyncSession, *, name: str, now: datetime) -> IssuedKey:
    if not name.strip():
        raise InvalidInput("name must not be empty")
    key, digest = mint(KEY_PREFIX)
    row = ApiKey(id=new_id(Kind.API_KEY), name=name.strip(), key_hash=digest, created_at=now)
    session.add(row)
    await session.flush()
    return IssuedKey(row.id, row.name, key)


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all())


async def revoke_api_key(session: AsyncSession, key_id: str, *, now: datetime) -> None:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id!r}")
    row.revoked_at = row.revoked_at or now


async def authenticate_api_key(session: AsyncSession, key: str) -> ApiKey:
    if not key.startswith(KEY_PREFIX + "_") or len(key) > 256:
        raise Unauthenticated("unknown API key")
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(key)))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked API key")
    return row
