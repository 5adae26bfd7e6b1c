"""Guessing slowed per account and per client address with growing, capped delays: 429 with
``Retry-After`` (RFC 6585 §4), never a sleeping server, and the right password works again
once the delay has passed."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.conftest import Server, start_server, stop_server
from tests.password.helpers import PASSWORD, browser, new_account, new_email, sign_in

WRONG = "not the password 1"


@asynccontextmanager
async def throttled_server(server: Server, env: dict[str, str]) -> AsyncIterator[str]:
    """A server of its own, with its own Redis keys (its address counters must not slow the
    other tests' servers)."""
    extra = {**env, "PROPYLON_PASSWORD_FAILURE_MEMORY_SECONDS": "60"}
    prefix = server.backend.env.get("PROPYLON_REDIS_PREFIX")
    if prefix:
        extra["PROPYLON_REDIS_PREFIX"] = f"{prefix}thr-{secrets.token_hex(3)}:"
    url, proc = start_server(server.backend, extra)
    try:
        yield url
    finally:
        stop_server(proc)


async def _attempt(url: str, address: str, password: str) -> httpx.Response:
    async with browser(url) as b:
        return await sign_in(b, address, password)


async def test_an_account_waits_longer_after_each_failure_up_to_the_cap(server: Server) -> None:
    env = {
        "PROPYLON_PASSWORD_FREE_FAILURES": "2",
        "PROPYLON_PASSWORD_BACKOFF_BASE_SECONDS": "2",
        "PROPYLON_PASSWORD_BACKOFF_MAX_SECONDS": "3",
    }
    address, nobody = new_email(), new_email()
    async with throttled_server(server, env) as url:
        probe = Server(server.backend, url, server.proc, server.rt)
        await new_account(probe, address)
        for who in (address, nobody):  # an email without an account is slowed alike
            for _ in range(3):  # two free failures, the third imposes 2 s
                assert (await _attempt(url, who, WRONG)).status_code == 400
            refused = await _attempt(url, who, PASSWORD)
            assert refused.status_code == 429, refused.text
            assert 1 <= int(refused.headers["retry-after"]) <= 2
        await asyncio.sleep(2.2)
        assert (await _attempt(url, address, WRONG)).status_code == 400  # 4 s, capped at 3
        refused = await _attempt(url, address, PASSWORD)
        assert refused.status_code == 429
        assert 2 <= int(refused.headers["retry-after"]) <= 3
        await asyncio.sleep(int(refused.headers["retry-after"]) + 0.2)
        ok = await _attempt(url, address, PASSWORD)
        assert ok.status_code == 200 and "Signed in" in ok.text
        # a success forgets the failures: the free ones are free again
        assert (await _attempt(url, address, WRONG)).status_code == 400


async def test_an_address_is_slowed_across_accounts(server: Server) -> None:
    env = {
        "PROPYLON_PASSWORD_ADDRESS_FREE_FAILURES": "3",
        "PROPYLON_PASSWORD_FREE_FAILURES": "100",
        "PROPYLON_PASSWORD_BACKOFF_BASE_SECONDS": "30",
    }
    address = new_email()
    async with throttled_server(server, env) as url:
        await new_account(Server(server.backend, url, server.proc, server.rt), address)
        for _ in range(4):
            assert (await _attempt(url, new_email(), WRONG)).status_code == 400
        refused = await _attempt(url, address, PASSWORD)
        assert refused.status_code == 429
        assert 25 <= int(refused.headers["retry-after"]) <= 30
        assert "propylon_session" not in refused.cookies


async def test_parallel_guesses_are_counted_before_any_is_verified(server: Server) -> None:
    env = {"PROPYLON_PASSWORD_SIGN_IN_RATE_LIMIT_PER_MINUTE": "3"}
    async with throttled_server(server, env) as url:
        answers = await asyncio.gather(*(_attempt(url, new_email(), WRONG) for _ in range(5)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [400, 400, 400, 429, 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in answers if r.status_code == 429)
