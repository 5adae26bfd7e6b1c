"""Production-mode sessions in Redis, shared by every Propylon process.

Keys (all under the runtime's ``PROPYLON_REDIS_PREFIX``, like the accelerator's):

- ``{prefix}session:{id}``: a hash of the session's fields. Its key expiry is the session's
  end, ``min(lifetime, SessionNotOnOrAfter)``: whole milliseconds from the moment the key is
  written (a sign-in's ``now`` is when its request started, so the later of that and the wall
  clock), so Redis never keeps it longer; the stored ``expires_at`` is checked on every load
  as well. Ending a session sets ``ended_at`` and keeps the key's expiry, so an
  ended session is still found (not active) until it would have expired.
- ``{prefix}session-slo:{connection_id}:{sha256(NameID)}``: the set of session ids a SAML
  LogoutRequest (or an OpenID Connect logout token's ``sub``) naming that NameID reaches (SAML
  Core §3.7.1). Its expiry is stretched to the longest-lived member's; members whose session
  key is gone are dropped when it is read.
- ``{prefix}session-sid:{connection_id}:{sha256(sid)}``: likewise, the sessions an OpenID
  Provider's session ``sid`` started (OIDC and Google sessions only), for a logout token
  naming only the ``sid`` (Back-Channel Logout 1.0 §2.4).
- ``{prefix}session-user:{user_id}`` and ``{prefix}session-conn:{connection_id}``: likewise,
  every session of a user (the management API lists and ends them) and of a connection
  (disabling or deleting it ends them, each with its ``session.revoked`` event; the durable
  record that they are dead is the connection's cutoff in the database, which
  :func:`~propylon.sessions.service.check_active` reads).

A session ended one by one (logout, Single Logout, back-channel logout, an administrator's
revoke, its connection disabled) is also written to the ``ended_sessions`` table in the
transaction that ends it, and :func:`~propylon.sessions.service.with_identity` reads that with
the user: Redis restored from an older snapshot cannot bring it back.

The user and tenant always come from the database (:func:`~propylon.sessions.service.
with_identity`), so deactivation and deprovisioning take effect at once; the session's
``user_epoch`` field is compared with the user's revocation epoch there, so the sessions of a
deactivated user stay dead after a reactivation without being found by user (see
:mod:`propylon.sessions.service`). A staged session is
written only by :meth:`RedisSessionStore.publish`, after the sign-in's transaction committed
(see :mod:`propylon.sessions.store`).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import core
from propylon.db.tables_revoke import EndedSession
from propylon.sessions.service import (
    DEFAULT_LIFETIME,
    ActiveSession,
    IssuedSession,
    PendingSession,
    SessionDraft,
    SessionRecord,
    issued,
    new_pending,
    with_identity,
)
from propylon.tenants.credentials import hash_secret

# KEYS: session hash [, index sets]; ARGV: ttl ms, session id, field, value, ...
_CREATE = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[2])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[1]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return 1
"""

# KEYS: session hash; ARGV: ended_at, "1" to require a SessionIndex, that SessionIndex.
# -1: no such session; 0: already ended or another SessionIndex; 1: ended now.
_END = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then return 0 end
if ARGV[2] == '1' and redis.call('HGET', KEYS[1], 'idp_session_index') ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'ended_at', ARGV[1])
return 1
"""

_OPTIONAL = (
    "connection_id",
    "idp_session_index",
    "name_id",
    "name_id_format",
    "name_qualifier",
    "sp_name_qualifier",
)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _fields(r: SessionRecord) -> dict[str, str]:
    out = {
        "tenant_id": r.tenant_id,
        "user_id": r.user_id,
        "auth_method": r.auth_method,
        "created_at": r.created_at.isoformat(),
        "expires_at": r.expires_at.isoformat(),
        "user_epoch": str(r.user_epoch),
    }
    for name in _OPTIONAL:
        value = getattr(r, name)
        if value is not None:
            out[name] = value
    if r.authenticated_at is not None:
        out["authenticated_at"] = r.authenticated_at.isoformat()
    return out


def _record(session_id: str, h: dict[str, str]) -> SessionRecord | None:
    try:
        ended, authenticated = h.get("ended_at"), h.get("authenticated_at")
        return SessionRecord(
            id=session_id,
            tenant_id=h["tenant_id"],
            user_id=h["user_id"],
            auth_method=h["auth_method"],
            connection_id=h.get("connection_id"),
            idp_session_index=h.get("idp_session_index"),
            name_id=h.get("name_id"),
            created_at=datetime.fromisoformat(h["created_at"]),
            expires_at=datetime.fromisoformat(h["expires_at"]),
            ended_at=datetime.fromisoformat(ended) if ended else None,
            authenticated_at=datetime.fromisoformat(authenticated) if authenticated else None,
            user_epoch=int(h.get("user_epoch", "0")),
            name_id_format=h.get("name_id_format"),
            name_qualifier=h.get("name_qualifier"),
            sp_name_qualifier=h.get("sp_name_qualifier"),
        )
    except (KeyError, ValueError):
        return None  # not a session this code wrote: treat as absent


_ENDED = core(EndedSession)

class RedisSessionStore:
    backend = "redis"

    def __init__(self, redis: Redis, prefix: str, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self._redis = redis
        self._prefix = prefix
        self.lifetime = lifetime
        self._create = redis.register_script(_CREATE)
        self._end = redis.register_script(_END)

    def session_key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def slo_key(self, connection_id: str, name_id: str) -> str:
        return f"{self._prefix}session-slo:{connection_id}:{hash_secret(name_id)}"

    def sid_key(self, connection_id: str, sid: str) -> str:
        return f"{self._prefix}session-sid:{connection_id}:{hash_secret(sid)}"

    def user_key(self, user_id: str) -> str:
        return f"{self._prefix}session-user:{user_id}"

    def connection_key(self, connection_id: str) -> str:
        return f"{self._prefix}session-conn:{connection_id}"

    async def stage(self, s: AsyncSession, draft: SessionDraft, now: datetime) -> PendingSession:
        return new_pending(draft, now, self.lifetime)  # written by publish(), after commit

    async def publish(self, pending: PendingSession, now: datetime) -> IssuedSession:
        r = pending.record
        written = max(now.timestamp(), time.time())
        ttl_ms = int((r.expires_at.timestamp() - written) * 1000)
        if ttl_ms > 0:  # an already-expired session is never stored
            keys = [self.session_key(r.id), self.user_key(r.user_id)]
            if r.connection_id is not None:
                keys.append(self.connection_key(r.connection_id))
            if r.connection_id is not None and r.name_id is not None:
                keys.append(self.slo_key(r.connection_id, r.name_id))
            oidc = r.auth_method in ("oidc", "google")  # SAML ends by NameID: no sid set
            if oidc and r.connection_id is not None and r.idp_session_index is not None:
                keys.append(self.sid_key(r.connection_id, r.idp_session_index))
            args: list[Any] = [ttl_ms, r.id]
            for name, value in _fields(r).items():
                args += [name, value]
            await self._create(keys=keys, args=args)
        return issued(pending)

    async def get(self, s: AsyncSession, session_id: str) -> SessionRecord | None:
        found = await self._redis.hgetall(self.session_key(session_id))
        if not found:
            return None
        return _record(session_id, {_text(k): _text(v) for k, v in found.items()})

    async def load(self, s: AsyncSession, session_id: str, now: datetime) -> ActiveSession | None:
        return await with_identity(s, await self.get(s, session_id), now)

    async def end(self, s: AsyncSession, session_id: str, now: datetime) -> bool:
        record = await self.get(s, session_id)
        done = await self._end(keys=[self.session_key(session_id)], args=[now.isoformat(), "0", ""])
        if int(done) == 1 and record is not None:
            await _remember_ended(s, [record])
        return int(done) == 1

    async def end_for(
        self,
        s: AsyncSession,
        connection_id: str,
        name_id: str,
        session_index: str | None,
        now: datetime,
    ) -> list[SessionRecord]:
        index = self.slo_key(connection_id, name_id)
        return await self._end_indexed(s, index, session_index, now)

    async def end_for_sid(
        self, s: AsyncSession, connection_id: str, sid: str, now: datetime
    ) -> list[SessionRecord]:
        return await self._end_indexed(s, self.sid_key(connection_id, sid), sid, now)

    async def end_for_connection(
        self, s: AsyncSession, connection_id: str, now: datetime
    ) -> list[SessionRecord]:
        return await self._end_indexed(s, self.connection_key(connection_id), None, now)

    async def list_for_user(
        self, s: AsyncSession, user_id: str, now: datetime
    ) -> list[SessionRecord]:
        index = self.user_key(user_id)
        members = sorted(_text(m) for m in await self._redis.smembers(index))
        found = await self._records(members)
        gone = [sid for sid, rec in zip(members, found, strict=True) if rec is None]
        if gone:
            await self._redis.srem(index, *gone)
        live = [r for r in found if r is not None and r.ended_at is None and r.expires_at > now]
        return sorted(live, key=lambda r: (r.created_at, r.id))

    async def _records(self, session_ids: list[str]) -> list[SessionRecord | None]:
        if not session_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                await pipe.hgetall(self.session_key(session_id))
            hashes = await pipe.execute()
        return [
            _record(sid, {_text(k): _text(v) for k, v in h.items()}) if h else None
            for sid, h in zip(session_ids, hashes, strict=True)
        ]

    async def _end_indexed(
        self, s: AsyncSession, index: str, session_index: str | None, now: datetime
    ) -> list[SessionRecord]:
        """End the sessions of the index set ``index`` (those of ``session_index`` only,
        if given); drop the members whose session is gone. The records of those ended now."""
        members = sorted(_text(m) for m in await self._redis.smembers(index))
        if not members:
            return []
        args = [now.isoformat(), "0" if session_index is None else "1", session_index or ""]
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in members:
                await self._end(keys=[self.session_key(session_id)], args=args, client=pipe)
            results = [int(x) for x in await pipe.execute()]
        gone = [sid for sid, res in zip(members, results, strict=True) if res == -1]
        if gone:
            await self._redis.srem(index, *gone)
        ended = [sid for sid, res in zip(members, results, strict=True) if res == 1]
        records = [r for r in await self._records(ended) if r is not None]
        await _remember_ended(s, records)
        return records


async def _remember_ended(s: AsyncSession, records: list[SessionRecord]) -> None:
    """The durable record of sessions just ended in Redis (``ended_sessions``), in the
    caller's transaction: :func:`~propylon.sessions.service.with_identity` refuses them
    whatever Redis holds later."""
    if not records:
        return
    rows = [{"session_id": r.id, "expires_at": r.expires_at} for r in records]
    dialect = (await s.connection()).dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await s.execute(insert(_ENDED).on_conflict_do_nothing(index_elements=["session_id"]), rows)
