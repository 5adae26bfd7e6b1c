"""The authorization codes, refresh tokens and registered clients the token endpoint reads
and writes (``provider/exchange.py`` pre-loads them and records its writes): prebuilt Core
statements, no ORM identity map or unit of work on the sign-in path."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Executable, bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_sso import AuthorizationCode, OAuthClient, RefreshToken

Transaction: TypeAlias = AsyncSession
"""The transaction a route opened, which the exchange reads and writes in."""
Write: TypeAlias = tuple[Executable, dict[str, Any]]
"""A recorded write: a statement and its parameters, executed by :func:`execute`."""

_CLIENTS, _CODES, _REFRESH = core(OAuthClient), core(AuthorizationCode), core(RefreshToken)
_CLIENT = select(
    _CLIENTS.c.id,
    _CLIENTS.c.secret_hash,
    _CLIENTS.c.redirect_uris,
    _CLIENTS.c.post_logout_redirect_uris,
).where(_CLIENTS.c.id == bindparam("id"), _CLIENTS.c.revoked_at.is_(None))
_CODE_COLUMNS = (
    _CODES.c.code_hash,
    _CODES.c.client_id,
    _CODES.c.session_id,
    _CODES.c.redirect_uri,
    _CODES.c.scope,
    _CODES.c.nonce,
    _CODES.c.code_challenge,
    _CODES.c.code_challenge_method,
    _CODES.c.expires_at,
    _CODES.c.used_at,
)
_CODE = select(*_CODE_COLUMNS).where(_CODES.c.code_hash == bindparam("h")).with_for_update()
_REFRESH_COLUMNS = (
    _REFRESH.c.token_hash,
    _REFRESH.c.family_id,
    _REFRESH.c.client_id,
    _REFRESH.c.session_id,
    _REFRESH.c.scope,
    _REFRESH.c.generation,
    _REFRESH.c.expires_at,
    _REFRESH.c.used_at,
    _REFRESH.c.revoked_at,
)
_REFRESH_BY_HASH = select(*_REFRESH_COLUMNS).where(_REFRESH.c.token_hash == bindparam("h"))
_REFRESH_FOR_UPDATE = _REFRESH_BY_HASH.with_for_update()
_FAMILY_REVOKED = select(
    exists().where(_REFRESH.c.family_id == bindparam("f"), _REFRESH.c.revoked_at.is_not(None))
)
_INSERT_CODE = insert(_CODES)
_INSERT_REFRESH = insert(_REFRESH)
_USE_CODE = (
    update(_CODES).where(_CODES.c.code_hash == bindparam("h")).values(used_at=bindparam("now"))
)
_USE_REFRESH = (
    update(_REFRESH).where(_REFRESH.c.token_hash == bindparam("h")).values(used_at=bindparam("now"))
)
_REVOKE_FAMILY = (
    update(_REFRESH)
    .where(_REFRESH.c.family_id == bindparam("f"), _REFRESH.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


def insert_code(values: dict[str, Any]) -> Write:
    return (_INSERT_CODE, values)


def insert_refresh(values: dict[str, Any]) -> Write:
    return (_INSERT_REFRESH, values)


def use_code(code_hash: str, now: datetime) -> Write:
    return (_USE_CODE, {"h": code_hash, "now": now})


def use_refresh(token_hash: str, now: datetime) -> Write:
    return (_USE_REFRESH, {"h": token_hash, "now": now})


def revoke_family(family_id: str, now: datetime) -> Write:
    """Revoke every refresh token of the grant (and so its access tokens)."""
    return (_REVOKE_FAMILY, {"f": family_id, "now": now})


async def execute(session: Transaction, writes: list[Write]) -> None:
    """Execute recorded writes, in order, in ``session``'s transaction."""
    conn = await session.connection()
    for statement, params in writes:
        await conn.execute(statement, params)


async def read_client(session: Transaction, client_id: str) -> tuple[Any, ...] | None:
    """A live client: id, secret hash, redirect URIs, post-logout redirect URIs."""
    conn = await session.connection()
    row = (await conn.execute(_CLIENT, {"id": client_id})).first()
    return tuple(row) if row is not None else None


async def read_code(session: Transaction, code_hash: str) -> tuple[Any, ...] | None:
    """An authorization code by hash, locked (``FOR UPDATE``) until the transaction ends."""
    conn = await session.connection()
    row = (await conn.execute(_CODE, {"h": code_hash})).first()
    return tuple(row) if row is not None else None


async def read_refresh(
    session: Transaction, token_hash: str, *, lock: bool
) -> tuple[Any, ...] | None:
    """A refresh token by hash (``lock``: ``FOR UPDATE``, where it will be used)."""
    conn = await session.connection()
    statement = _REFRESH_FOR_UPDATE if lock else _REFRESH_BY_HASH
    row = (await conn.execute(statement, {"h": token_hash})).first()
    return tuple(row) if row is not None else None


async def family_revoked(session: Transaction, family_id: str) -> bool:
    conn = await session.connection()
    return bool((await conn.execute(_FAMILY_REVOKED, {"f": family_id})).scalar())
