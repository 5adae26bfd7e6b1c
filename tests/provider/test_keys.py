"""The per-process signing key cache: a rotation reaches it within KEY_CACHE_SECONDS, the JWK
Set keeps the previous key meanwhile, and a key created in a rolled-back transaction is never
signed with."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import KeySet

from propylon.admin.keys import rotate_keys
from propylon.db.migrate import upgrade
from propylon.oauth_store import signing_keys as keys
from propylon.runtime import build_runtime
from propylon.settings import Settings
from tests.conftest import Server
from tests.provider.helpers import code_flow, decode, new_app, new_person


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_rotation_is_followed_within_the_cache_lifetime(server: Server) -> None:
    rt, clock = server.rt, Clock()
    alg = rt.settings.signing_alg
    cache = keys.SigningKeyCache(rt.secret_box, clock=clock)
    async with rt.db.write() as s:
        await cache.active(s, alg, rt.clock())  # the first key is created on first use
    async with rt.db.write() as s:
        before = await cache.active(s, alg, rt.clock())
    async with rt.db.write() as s:
        rotated = await keys.rotate(s, alg, rt.clock(), timedelta(days=1), rt.secret_box)
    assert rotated["kid"] != before.kid
    async with rt.db.read() as s:
        # within the cache lifetime this process may still sign with the previous key...
        assert (await cache.active(s, alg, rt.clock())).kid == before.kid
        clock.now += keys.KEY_CACHE_SECONDS
        # ...and not any longer
        after = await cache.active(s, alg, rt.clock())
    assert after.kid == rotated["kid"]
    async with httpx.AsyncClient(base_url=server.url) as c:
        published = KeySet.import_key_set((await c.get("/oauth2/jwks")).json())
    assert {before.kid, after.kid} <= {k.kid for k in published.keys}
    stored = keys.seal_jwk(rt.secret_box, after.kid, after.private.as_dict(private=True))
    assert cache.parsed(after.kid, stored) is after.private  # parsed once per kid


async def test_a_key_created_in_a_rolled_back_transaction_is_not_used(tmp_path: Path) -> None:
    rt = build_runtime(Settings(data_dir=tmp_path, log_level="warning"))
    try:
        await upgrade(rt.db)
        alg, cache = rt.settings.signing_alg, keys.SigningKeyCache(rt.secret_box, clock=Clock())
        with pytest.raises(RuntimeError):
            async with rt.db.write() as s:
                lost = await cache.active(s, alg, rt.clock())  # no key yet: created here
                raise RuntimeError("the request failed")
        async with rt.db.write() as s:
            kept = await cache.active(s, alg, rt.clock())
        assert kept.kid != lost.kid
        async with rt.db.read() as s:
            assert [k.kid for k in await keys.published(s, rt.clock())] == [kept.kid]
    finally:
        await rt.close()


async def test_a_rotation_reaches_a_running_server_at_once_through_the_accelerator(
    server: Server,
) -> None:
    """``propylon keys rotate`` publishes on the accelerator: a running server (another
    process) signs with the new key well before its cache lifetime would have run out."""
    if server.backend.name != "postgres":
        pytest.skip("the fan-out across processes is the production mode's (Redis)")
    app, person = await new_app(server), await new_person(server)
    await code_flow(server, app, person)  # a key exists (the very first one is not cached)
    first, _ = await code_flow(server, app, person)  # the server now holds its key fresh
    header, _ = await decode(server, first["id_token"])
    rotated = await rotate_keys(server.rt)
    assert rotated["kid"] != header["kid"]
    await asyncio.sleep(0.2)  # far below KEY_CACHE_SECONDS
    second, _ = await code_flow(server, app, person)
    assert (await decode(server, second["id_token"]))[0]["kid"] == rotated["kid"]
