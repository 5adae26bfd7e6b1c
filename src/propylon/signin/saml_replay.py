"""Accepted SAML assertion ids, remembered in the database (SAML Profiles §4.1.4.5).

"The service provider MUST ensure that bearer assertions are not replayed, by maintaining the
set of used ID values for the length of time for which the assertion would be considered
valid." The set is the ``saml_assertion_ids`` table, written in the sign-in's own
transaction: an id counts as used exactly when the sign-in it allowed committed, and it
survives a restart of Redis or of the process until the assertion's own expiry (then
``propylon purge`` removes it). A cache in Redis alone forgot them on a restart without
persistence.

One statement per sign-in, on both backends: an insert that does nothing when a live row
exists (``ON CONFLICT ... DO UPDATE ... WHERE expired``), so a row left over from an expired
assertion with the same id (an IdP that reuses ids) is renewed rather than refusing a new
assertion forever. Two concurrent sign-ins with one assertion: on PostgreSQL the second
insert waits for the first transaction and then finds its row; SQLite runs writers one at a
time. The id is stored as its SHA-256: bounded length, whatever the IdP sends.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_saml import SamlAssertionId

__all__ = ["remember_assertion"]

_TABLE: Final = core(SamlAssertionId)


def _statement(insert: Any) -> Any:
    stmt = insert(_TABLE).values(
        connection_id=bindparam("connection_id"),
        id_hash=bindparam("id_hash"),
        expires_at=bindparam("expires_at", type_=_TABLE.c.expires_at.type),
    )
    return stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.connection_id, _TABLE.c.id_hash],
        set_={"expires_at": stmt.excluded.expires_at},
        where=_TABLE.c.expires_at <= bindparam("now", type_=_TABLE.c.expires_at.type),
    ).returning(_TABLE.c.id_hash)


# built once (hot path): the two dialects spell the upsert alike but are separate constructs
_REMEMBER: Final = {
    "postgresql": _statement(postgresql.insert),
    "sqlite": _statement(sqlite.insert),
}


async def remember_assertion(
    s: AsyncSession, connection_id: str, assertion_id: str, expires_at: datetime, now: datetime
) -> bool:
    """Record ``assertion_id`` of ``connection_id`` as used until ``expires_at`` in the
    caller's transaction; False when it is already recorded and not expired (a replay)."""
    conn = await s.connection()
    params = {
        "connection_id": connection_id,
        "id_hash": hashlib.sha256(assertion_id.encode("utf-8")).hexdigest(),
        "expires_at": expires_at,
        "now": now,
    }
    row = (await conn.execute(_REMEMBER[conn.dialect.name], params)).first()
    return row is not None
