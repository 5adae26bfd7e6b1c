"""Which apps each sign-in session reached: one row per grant (refresh-token family),
written in the transaction that redeemed the authorization code, so the OpenID Provider can
send a logout token to every app the ended session logged in to (OpenID Connect
Back-Channel Logout 1.0 §2.7). Prebuilt Core statements, like ``grants.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_signals import SessionGrant
from propylon.db.tables_sso import OAuthClient
from propylon.oauth_store.grants import Write

_GRANTS, _CLIENTS = core(SessionGrant), core(OAuthClient)
_INSERT = insert(_GRANTS)
_REACHED = (
    select(_GRANTS.c.grant_id, _GRANTS.c.session_id, _GRANTS.c.client_id, _GRANTS.c.user_id)
    .join(_CLIENTS, _CLIENTS.c.id == _GRANTS.c.client_id)
    .where(
        _GRANTS.c.logout_sent_at.is_(None),
        _CLIENTS.c.revoked_at.is_(None),
        _CLIENTS.c.backchannel_logout_uri.is_not(None),
    )
    .order_by(_GRANTS.c.created_at, _GRANTS.c.grant_id)
)


@dataclass(frozen=True)
class Reached:
    """A grant whose app takes logout tokens and has not been told yet."""

    grant_id: str
    sid: str
    client_id: str
    user_id: str


def insert_grant(values: dict[str, Any]) -> Write:
    """Record a grant for a session (``values``: the columns of ``session_grants``)."""
    return (_INSERT, values)


async def reached(
    s: AsyncSession,
    *,
    sid: str | None = None,
    grant_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
    auth_methods: Sequence[str] | None = None,
    before: datetime | None = None,
) -> list[Reached]:
    """Grants of live apps with a ``backchannel_logout_uri`` not yet told, matching every
    condition given (a session; a grant; a user's or a tenant's sessions created at or
    before ``before``, of the given sign-in methods)."""
    g = _GRANTS.c
    conditions = []
    if sid is not None:
        conditions.append(g.session_id == sid)
    if grant_id is not None:
        conditions.append(g.grant_id == grant_id)
    if user_id is not None:
        conditions.append(g.user_id == user_id)
    if tenant_id is not None:
        conditions.append(g.tenant_id == tenant_id)
    if auth_methods is not None:
        conditions.append(g.auth_method.in_(list(auth_methods)))
    if before is not None:
        conditions.append(g.session_created_at <= before)
    if not conditions:
        return []
    rows = (await s.execute(_REACHED.where(and_(*conditions)))).all()
    return [Reached(*row) for row in rows]


MARK_CHUNK = 500
_MARK = (
    update(_GRANTS)
    .where(_GRANTS.c.grant_id.in_(bindparam("ids", expanding=True)))
    .values(logout_sent_at=bindparam("now"))
)


async def mark_told(s: AsyncSession, grant_ids: Sequence[str], now: datetime) -> None:
    """These grants' sessions were announced: never again (in chunks, within the bound
    parameter limits of both backends)."""
    ids = list(dict.fromkeys(grant_ids))
    for start in range(0, len(ids), MARK_CHUNK):
        await s.execute(_MARK, {"ids": ids[start : start + MARK_CHUNK], "now": now})


async def backchannel_target(s: AsyncSession, client_id: str) -> str | None:
    """The live app's ``backchannel_logout_uri`` (``None``: revoked, or no URI now)."""
    row = (
        await s.execute(
            select(_CLIENTS.c.backchannel_logout_uri).where(
                _CLIENTS.c.id == client_id, _CLIENTS.c.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else row[0]
