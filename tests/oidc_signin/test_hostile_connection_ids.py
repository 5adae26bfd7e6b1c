"""A connection id in a sign-in URL is input: a NUL (which PostgreSQL cannot take in a text
parameter) or an overlong id is no connection, a 4xx on both backends, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server

IDS = ["x%00y", "c" * 300]


@pytest.mark.parametrize("bad", IDS)
async def test_a_hostile_connection_id_is_not_found_at_every_sign_in_route(
    server: Server, bad: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        answers = [
            await browser.get(f"/oidc/{bad}/login?return_to=/oauth2/authorize?x=1"),
            await browser.get(f"/oidc/{bad}/callback?state=s&code=c"),
            await browser.post(f"/oidc/{bad}/backchannel-logout", data={"logout_token": "a.b.c"}),
            await browser.post(f"/saml/{bad}/acs", data={"SAMLResponse": "PHg+"}),
        ]
    for r in answers:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text[:200])
