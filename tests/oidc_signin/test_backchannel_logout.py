"""Back-Channel Logout 1.0 as relying party: the OP's logout token ends the sessions it names
(and with them the app's refresh tokens); hostile or replayed logout tokens get 400 with a JSON
error (§2.8) and end nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.oidc_signin.helpers import Tenant, new_tenant, sign_in
from tests.oidc_signin.op import LoopbackOp, attacker_key, unsigned
from tests.provider.helpers import token_request
from tests.revocation.helpers import events

EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def _signed_in(
    server: Server, op: LoopbackOp, tenant: Tenant, sub: str, sid: str
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    op.claims = {"sub": sub, "sid": sid, "email": f"{sub}@{tenant.domain}"}
    browser = httpx.AsyncClient(base_url=server.url, timeout=30)
    tokens = await sign_in(browser, tenant)
    return browser, tokens


async def _post(server: Server, tenant: Tenant, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as op_side:
        path = f"/oidc/{tenant.connection_id}/backchannel-logout"
        return await op_side.post(path, data={"logout_token": token})


async def _refresh_works(
    browser: httpx.AsyncClient, tenant: Tenant, tokens: dict[str, Any]
) -> bool:
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    r = await token_request(browser, tenant.app, data)
    if r.status_code == 200:
        tokens["refresh_token"] = r.json()["refresh_token"]
    return r.status_code == 200


@pytest.mark.parametrize("names", ["sub_and_sid", "sid_only", "sub_only"])
async def test_logout_token_ends_the_session_and_its_refresh_tokens(
    server: Server, op: LoopbackOp, names: str
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    browser, tokens = await _signed_in(server, op, tenant, "bcl-user", "op-session-1")
    other, other_tokens = await _signed_in(server, op, tenant, "bcl-other", "op-session-2")
    try:
        assert await _refresh_works(browser, tenant, tokens)
        claims = {
            "sub_and_sid": {"sub": "bcl-user", "sid": "op-session-1"},
            "sid_only": {"sid": "op-session-1"},
            "sub_only": {"sub": "bcl-user"},
        }[names]
        r = await _post(server, tenant, op.logout_token(tenant.client_id, **claims))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        assert not await _refresh_works(browser, tenant, tokens)
        # another person's session of the same OP is untouched
        assert await _refresh_works(other, tenant, other_tokens)
    finally:
        await browser.aclose()
        await other.aclose()
    rows = server.cli_json("audit", "list", tenant.slug, "--action", "sso.oidc.backchannel_logout")
    assert [r["diff"]["sessions_ended"]["after"] for r in rows if r["outcome"] == "success"] == [1]
    # with its event, in the same transaction
    [event] = await events(server, tenant.id, "session.revoked")
    assert event["data"]["reason"] == "idp_logout"
    assert event["data"]["session"]["auth_method"] == "oidc"
    assert event["data"]["session"]["connection_id"] == tenant.connection_id


def _hostile(op: LoopbackOp, client_id: str) -> dict[str, str]:
    def token(**over: Any) -> str:
        return op.logout_token(client_id, sub="bcl-user", **over)

    key = attacker_key()
    return {
        "wrong_issuer": token(iss="https://evil.example"),
        "wrong_audience": token(aud="another-client"),
        "wrong_algorithm": op.sign(
            {
                "iss": op.issuer,
                "aud": client_id,
                "sub": "bcl-user",
                "iat": 1,
                "jti": "x",
                "events": {EVENT: {}},
            },
            header={"alg": "ES256", "typ": "logout+jwt"},
            key=key,
        ),
        "alg_none": unsigned(
            {
                "iss": op.issuer,
                "aud": client_id,
                "sub": "bcl-user",
                "jti": "n",
                "events": {EVENT: {}},
            }
        ),
        "with_nonce": token(nonce="n-1"),
        "no_events": token(events=None),
        "wrong_event": token(events={"http://schemas.openid.net/event/other": {}}),
        "neither_sub_nor_sid": op.logout_token(client_id),
    }


async def test_hostile_logout_tokens_get_400_and_end_nothing(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    browser, tokens = await _signed_in(server, op, tenant, "bcl-user", "op-session-9")
    try:
        for name, token in _hostile(op, tenant.client_id).items():
            r = await _post(server, tenant, token)
            assert r.status_code == 400, (name, r.status_code, r.text)
            assert r.json()["error"] == "invalid_request", name
            assert r.headers["cache-control"] == "no-store"
        for body in ({}, {"logout_token": ""}, {"logout_token": "x" * 20_000}):
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                path = f"/oidc/{tenant.connection_id}/backchannel-logout"
                r = await c.post(path, data=body)
            assert r.status_code == 400, body.keys()
        assert await _refresh_works(browser, tenant, tokens), "no hostile token ended it"
        # a replayed jti: the second delivery is refused
        good = op.logout_token(tenant.client_id, sub="someone-else")
        assert (await _post(server, tenant, good)).status_code == 200
        replayed = await _post(server, tenant, good)
        assert replayed.status_code == 400
        assert replayed.json()["error_description"] == "logout_token_replayed"
    finally:
        await browser.aclose()
