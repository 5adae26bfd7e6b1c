"""The console's SSO callback: limited per client address before any database work, and a
code not issued to the console (junk, or another client's) refused after a read-only look-up,
so it never reaches the token exchange's write transaction."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from propylon.admin import console_sso
from propylon.db.tables import AuditEntry
from tests.conftest import Server
from tests.console.test_sso import sso_console


async def _state(browser: httpx.AsyncClient) -> str:
    r = await browser.get("/admin/sso/start")
    assert r.status_code == 302
    return parse_qs(urlsplit(r.headers["location"]).query)["state"][0]


async def test_junk_codes_are_refused_read_only_and_the_callback_is_limited(
    server: Server,
) -> None:
    env = {"PROPYLON_SIGN_IN_FINISH_RATE_LIMIT_PER_MINUTE": "4"}
    async with sso_console(server, env=env) as t:
        assert not await console_sso.code_is_ours(t.rt, "junk")
        assert not await console_sso.code_is_ours(t.rt, "")
        async with t.rt.db.read() as s:
            before = await s.scalar(select(func.count()).select_from(AuditEntry))
        async with httpx.AsyncClient(base_url=t.url, timeout=30) as browser:
            state = await _state(browser)
            for code in ("junk", "x" * 600, ""):
                r = await browser.get("/admin/sso/callback", params={"code": code, "state": state})
                assert r.status_code == 400 and "Sign-in not finished" in r.text
            r = await browser.get("/admin/sso/callback", params={"code": "junk", "state": state})
            assert r.status_code == 400
            r = await browser.get("/admin/sso/callback", params={"code": "junk", "state": state})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert all(c.name != "propylon_console" for c in browser.cookies.jar)
        async with t.rt.db.read() as s:
            after = await s.scalar(select(func.count()).select_from(AuditEntry))
        assert after == before
