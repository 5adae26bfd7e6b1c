"""Guessing at the console is slowed per account (and per client address) with growing
delays: wrong passwords and wrong codes alike; during a delay even the right answer gets 429
with ``Retry-After`` and is not checked; an email without an account is slowed the same."""

from __future__ import annotations

import secrets

from tests.conftest import Server, start_server, stop_server
from tests.console.helpers import browser, code_step, new_email, new_operator, password_step


async def test_wrong_passwords_and_codes_impose_growing_delays(server: Server) -> None:
    extra = {
        "PROPYLON_PASSWORD_FREE_FAILURES": "2",
        "PROPYLON_PASSWORD_BACKOFF_BASE_SECONDS": "30",
        "PROPYLON_PASSWORD_BACKOFF_MAX_SECONDS": "60",
    }
    prefix = server.backend.env.get("PROPYLON_REDIS_PREFIX")
    if prefix:
        extra["PROPYLON_REDIS_PREFIX"] = f"{prefix}cthr-{secrets.token_hex(3)}:"
    url, proc = start_server(server.backend, extra)
    try:
        op, other = await new_operator(server), await new_operator(server)
        for who in (op["email"], new_email()):
            async with browser(url) as b:
                for _ in range(3):  # two free failures; the third imposes 30 s
                    assert (await password_step(b, who, "wrong wrong wrong")).status_code == 401
                refused = await password_step(b, who)
                assert refused.status_code == 429, refused.text
                assert 1 <= int(refused.headers["retry-after"]) <= 30
        # wrong codes count against the account too
        async with browser(url) as b:
            assert (await password_step(b, other["email"])).status_code == 303
            for _ in range(3):
                assert (await code_step(b, "000000")).status_code in (401, 303)
            assert (await code_step(b, "000000")).status_code == 429
    finally:
        stop_server(proc)
