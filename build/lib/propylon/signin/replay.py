"""Messages accepted once, remembered in the database until they expire.

SAML assertion ids (SAML Profiles §4.1.4.5, ``saml_assertion_ids``) and OpenID Connect ID and
logout tokens (``oidc_token_uses``: Core §3.1.3.7 asks the client to refuse a replayed ID
token through its nonce, Back-Channel Logout 1.0 §2.6 a logout token's ``jti``) are written
in the sign-in's (or logout's) own transaction: a message counts as used exactly when what it
allowed committed, and it survives a restart of Redis or of the process until its own expiry
(then ``propylon purge`` removes it).

One statement per message, on both backends: an insert that does nothing when a live row
exists (``ON CONFLICT ... DO UPDATE ... WHERE expired``), so a row left over from an expired
message with the same key is renewed rather than refusing a new one forever. Two concurrent
uses of one message: on PostgreSQL the second insert waits for the first transaction and then
finds its row; SQLite runs writers one at a time. The key is stored as its SHA-256: bounded
length, whatever the IdP sends.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_oidc import OidcTokenUse
from propylon.db.tables_saml import SamlAssertionId

__all__ = ["OIDC_TOKENS", "SAML_ASSERTIONS", "remember_once"]


def _statement(insert: Any, table: Table) -> Any:
    stmt = insert(table).values(
        connection_id=bindparam("connection_id"),
        id_hash=bindparam("id_hash"),
        expires_at=bindparam("expires_at", type_=table.c.expires_at.type),
    )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.connection_id, table.c.id_hash],
        set_={"expires_at": stmt.excluded.expires_at},
        where=table.c.expires_at <= bindparam("now", type_=table.c.expires_at.type),
    ).returning(table.c.id_hash)


def _statements(table: Table) -> dict[str, Any]:
    """Built once (hot path): the two dialects spell the upsert alike but are separate."""
    return {
        "postgresql": _statement(postgresql.insert, table),
        "sqlite": _statement(sqlite.insert, table),
    }


SAML_ASSERTIONS: Final = _statements(core(SamlAssertionId))
OIDC_TOKENS: Final = _statements(core(OidcTokenUse))


async def remember_once(
    s: AsyncSession,
    statements: dict[str, Any],
    connection_id: str,
    key: str,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """Record ``key`` of ``connection_id`` as used until ``expires_at`` in the caller's
    transaction (``statements``: :data:`SAML_ASSERTIONS` or :data:`OIDC_TOKENS`); False when
    it is already recorded and not expired (a replay)."""
    conn = await s.connection()
    params = {
        "connection_id": connection_id,
        "id_hash": hashlib.sha256(key.encode("utf-8")).hexdigest(),
        "expires_at": expires_at,
        "now": now,
    }
    row = (await conn.execute(statements[conn.dialect.name], params)).first()
    return row is not None
