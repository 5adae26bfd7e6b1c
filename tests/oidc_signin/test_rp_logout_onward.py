"""RP-initiated logout of a session an OIDC connection started goes on to the OP's
``end_session_endpoint`` (RP-Initiated Logout 1.0 §2: ``client_id``,
``post_logout_redirect_uri``, ``state``), and when the OP sends the person back to
``/oidc/{id}/signed-out`` they continue to the app's registered address, kept only in their
own browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import Server
from tests.oidc_signin.helpers import new_tenant, sign_in
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import LOGOUT


async def test_logout_continues_to_the_op_and_back_to_the_app(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    op.claims = {"sub": "op-bye", "email": f"bye@{tenant.domain}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(browser, tenant)
        hint = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT}
        r = await browser.get("/oauth2/logout", params={**hint, "state": "bye"})
        assert r.status_code == 302 and 'propylon_session=""' in r.headers["set-cookie"]
        to_op = urlsplit(r.headers["location"])
        assert f"{to_op.scheme}://{to_op.netloc}{to_op.path}" == op.issuer + "/end_session"
        q = {k: v[0] for k, v in parse_qs(to_op.query).items()}
        back = f"{server.url}/oidc/{tenant.connection_id}/signed-out"
        assert q["client_id"] == tenant.client_id and q["post_logout_redirect_uri"] == back
        # the OP sends the person back with the state: on to the app's address
        r = await browser.get(urlsplit(back).path, params={"state": q["state"]})
        assert r.status_code == 302 and r.headers["location"] == LOGOUT + "?state=bye"
        # the same state from another browser, or again: a page, no redirect
        again = await browser.get(urlsplit(back).path, params={"state": q["state"]})
        assert again.status_code == 200 and "Signed out" in again.text
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as other:
        r = await other.get(urlsplit(back).path, params={"state": q["state"]})
        assert r.status_code == 200 and "location" not in r.headers


async def test_an_op_without_end_session_signs_out_here_only(
    server: Server, op: LoopbackOp
) -> None:
    op.with_end_session = False
    tenant = await new_tenant(server, op, jit=True)
    op.claims = {"sub": "op-here", "email": f"here@{tenant.domain}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(browser, tenant)
        r = await browser.get("/oauth2/logout", params={"id_token_hint": tokens["id_token"]})
        assert r.status_code == 200 and "Signed out" in r.text
