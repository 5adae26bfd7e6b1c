"""Token signing keys: ``propylon keys rotate`` (RFC 7517 key sets; the previous keys stay
published until they retire)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from propylon.admin.audited import CLI
from propylon.audit import AuditRecord, record
from propylon.cache.fanout import publish_committed
from propylon.oauth_store import signing_keys as keys
from propylon.runtime import Runtime


async def rotate_keys(rt: Runtime) -> dict[str, Any]:
    now = rt.clock()
    async with rt.db.write() as s:
        out = await keys.rotate(
            s,
            rt.settings.signing_alg,
            now,
            timedelta(seconds=rt.settings.signing_key_retire_seconds),
            rt.secret_box,
        )
        record(s, CLI, AuditRecord("keys.rotate", "signing_key", out["kid"]), now)
    # after commit: processes re-read now
    return out | await publish_committed(rt.cache, keys.CHANNEL, out["kid"], keys.KEY_CACHE_SECONDS)
