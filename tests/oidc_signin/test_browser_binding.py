"""An OpenID Connect login is bound to the browser that started it and to its connection:
another browser, another ``state``, a replayed code or ID token, and a response of another
tenant's OP (mix-up, RFC 9207) are refused at the real callback, with no session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import Server
from tests.oidc_signin.helpers import (
    audit_reasons,
    finish,
    new_tenant,
    refused_without_session,
    start,
)
from tests.oidc_signin.op import Authorized, LoopbackOp


def _with(callback: str, **changes: str | None) -> str:
    path, _, query = callback.partition("?")
    q = {k: v[0] for k, v in parse_qs(query).items()}
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return path + "?" + urlencode(q)


def _kept_cookies(browser: httpx.AsyncClient) -> dict[str, str]:
    return {c.name: c.value for c in browser.cookies.jar if c.value}


async def test_a_login_from_another_browser_is_refused(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as victim:
        started = await start(victim, tenant)
    # the attacker's own browser, with the callback URL but not the pending cookie
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as other:
        refused_without_session(await finish(other, started))
    assert not op.token_requests, "no code was exchanged for a login not started here"
    assert "not_started_in_this_browser" in audit_reasons(server, tenant.slug)


async def test_state_mismatch_is_refused(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        first = await start(browser, tenant)
        second = await start(browser, tenant)
        # a state no login of this browser has, and the first login's code with the
        # second's state (its PKCE verifier does not fit the first code: the OP refuses)
        forged = _with(first.callback, state="A" * 22)
        refused_without_session(await browser.get(forged))
        second_state = parse_qs(urlsplit(second.callback).query)["state"][0]
        swapped = _with(first.callback, state=second_state)
        refused_without_session(await browser.get(swapped))
    reasons = audit_reasons(server, tenant.slug)
    assert "not_started_in_this_browser" in reasons


async def test_a_code_is_used_once_and_an_id_token_accepted_once(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    op.claims = {"sub": "op-once", "email": f"once@{tenant.domain}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant)
        kept = _kept_cookies(browser)  # the pending cookie, before it is cleared
        ok = await finish(browser, started)
        assert ok.status_code == 302 and "propylon_session" in ok.headers["set-cookie"]
        # the same browser again: the pending cookie was cleared with the answer
        refused_without_session(await finish(browser, started))
    # a browser that kept the pending cookie: the OP refuses the second use of the code
    async with httpx.AsyncClient(base_url=server.url, cookies=kept, timeout=30) as replayer:
        refused_without_session(await finish(replayer, started))
    assert len(op.token_requests) == 2
    # an OP that (wrongly) answers a code twice with the same ID token: accepted once only
    issued: dict[str, str] = {}

    def same_token(op_: LoopbackOp, auth: Authorized) -> str:
        issued.setdefault("t", op_.sign(op_.id_claims(auth, jti="fixed-jti")))
        return issued["t"]

    op.mint = same_token
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant)
        kept = _kept_cookies(browser)
        assert (await finish(browser, started)).status_code == 302
    for auth in op.codes.values():
        auth.used = False  # the faulty OP forgets the code was used
    async with httpx.AsyncClient(base_url=server.url, cookies=kept, timeout=30) as replayer:
        refused_without_session(await finish(replayer, started))
    assert "id_token_replayed" in audit_reasons(server, tenant.slug)


async def test_a_response_of_another_tenants_op_is_refused(server: Server) -> None:
    """Mix-up: tenant A's login answered by tenant B's OP (its code and its ``iss``) at A's
    callback, or A's answer taken to B's callback."""
    op_a, op_b = LoopbackOp(), LoopbackOp()
    try:
        a = await new_tenant(server, op_a, jit=True)
        b = await new_tenant(server, op_b, jit=True)
        op_a.claims = op_b.claims = {"sub": "mixed", "email": f"mixed@{a.domain}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
            at_a = await start(browser, a)
            at_b = await start(browser, b)
            b_code = parse_qs(urlsplit(at_b.callback).query)["code"][0]
            # B's code and issuer with A's state at A's callback: RFC 9207 iss check
            mixed = _with(at_a.callback, code=b_code, iss=op_b.issuer)
            refused_without_session(await browser.get(mixed))
            # no iss at all, from an OP that advertises it: refused too
            refused_without_session(await browser.get(_with(at_a.callback, iss=None)))
            # A's answer taken to B's callback: A's pending cookie is not sent there, and
            # would not name B's connection
            a_at_b = at_a.callback.replace(f"/oidc/{a.connection_id}/", f"/oidc/{b.connection_id}/")
            refused_without_session(await browser.get(a_at_b))
        assert not op_b.token_requests and not op_a.token_requests
    finally:
        op_a.close()
        op_b.close()


async def test_malformed_callbacks_get_a_page_never_a_5xx(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op)
    path = f"/oidc/{tenant.connection_id}/callback"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        for query in (
            "",
            "state=a&state=b&code=c",
            "code=" + "x" * 10_000 + "&state=" + "A" * 22,
            "code=a%00b&state=" + "A" * 22,
            "error=" + "e" * 5000,
        ):
            refused_without_session(await browser.get(path + "?" + query))
        r = await browser.get("/oidc/no-such-connection/callback?code=a&state=" + "A" * 22)
        assert r.status_code == 404
