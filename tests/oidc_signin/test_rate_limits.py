"""Anonymous OIDC requests are limited per client address like SAML's (starts, callbacks,
back-channel logouts), counted in the accelerator: past the limit a 429 with
``Retry-After`` before any work, and nothing written."""

from __future__ import annotations

import httpx

from tests.conftest import Server, start_server, stop_server
from tests.oidc_signin.helpers import new_tenant, return_to
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import pkce


async def test_starts_callbacks_and_logouts_are_limited_per_client_address(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op)
    limits = {
        "PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE": "2",
        "PROPYLON_SIGN_IN_FINISH_RATE_LIMIT_PER_MINUTE": "2",
        "PROPYLON_TRUSTED_PROXIES": "127.0.0.1",
    }
    url, proc = start_server(server.backend, limits)
    try:
        # an address of this test's own: in production mode the counters live in Redis under
        # the session's prefix, which every other test's sign-ins from 127.0.0.1 also count in
        own = {"X-Forwarded-For": "192.0.2.71"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=own) as browser:
            params = {"return_to": return_to(tenant, pkce()[1])}
            login = f"/oidc/{tenant.connection_id}/login"
            starts = [(await browser.get(login, params=params)).status_code for _ in range(3)]
            assert starts == [302, 302, 429]
            callback = f"/oidc/{tenant.connection_id}/callback?code=c&state=" + "A" * 22
            ends = [(await browser.get(callback)) for _ in range(3)]
            assert [r.status_code for r in ends] == [400, 400, 429]
            assert int(ends[2].headers["retry-after"]) > 0
            bcl = f"/oidc/{tenant.connection_id}/backchannel-logout"
            posts = [(await browser.post(bcl, data={"logout_token": "x"})) for _ in range(3)]
            assert [r.status_code for r in posts] == [400, 400, 429]
    finally:
        stop_server(proc)
