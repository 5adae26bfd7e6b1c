"""OpenID Connect sign-in through a tenant's OP, end to end on both backends: the app's
authorization request → ``/oidc/{id}/login`` → the OP → the real callback → session and code
→ the app's tokens. The OP is a real HTTP server on loopback (tests/oidc_signin/op.py)."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from propylon.db.tables import User
from tests.conftest import Server
from tests.oidc_signin.helpers import (
    audit_reasons,
    finish,
    new_tenant,
    refused_without_session,
    scim_user,
    sign_in,
    start,
    tokens_for,
)
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import decode


async def test_login_reaches_the_app_with_a_session_saying_oidc(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=False)
    email = f"ada@{tenant.domain}"
    uid = await scim_user(server, tenant, email)
    op.claims = {"sub": "op-ada", "email": email.upper(), "email_verified": True}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant, login_hint=email)
        sent = started.authorize_query
        # the authentication request: code flow, PKCE S256, state and nonce, the hint
        assert sent["response_type"] == "code" and sent["code_challenge_method"] == "S256"
        assert sent["client_id"] == tenant.client_id and sent["login_hint"] == email
        assert sent["state"] and sent["nonce"] and "prompt" not in sent
        assert sent["redirect_uri"] == f"{server.url}/oidc/{tenant.connection_id}/callback"
        r = await finish(browser, started)
        assert "propylon_session" in r.headers["set-cookie"]
        tokens = await tokens_for(browser, tenant.app, r, started.verifier)
    # the OP saw the code with our PKCE verifier and our client authentication
    (exchange,) = op.token_requests
    assert exchange["grant_type"] == ["authorization_code"] and exchange["code_verifier"]
    _, claims = await decode(server, tokens["id_token"])
    assert claims["sub"] == uid and claims["auth_method"] == "oidc"
    assert claims["idp"] == tenant.connection_id and claims["nonce"] == "app-nonce"
    rows = server.cli_json("audit", "list", tenant.slug, "--action", "sso.oidc.login")
    (ok,) = [row for row in rows if row["outcome"] == "success"]
    assert ok["target_id"] == uid and ok["diff"]["session"]["after"] == claims["sid"]


async def test_force_authn_asks_the_op_for_a_fresh_login(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant, force_authn="1")
    assert started.authorize_query["prompt"] == "login"


async def test_jit_provisions_a_user_named_by_the_claims(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op, jit=True)
    email = f"grace@{tenant.domain}"
    op.claims = {"sub": "op-grace", "email": email, "given_name": "Grace", "family_name": "Hopper"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(browser, tenant)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["email"] == email and claims["given_name"] == "Grace"
    assert claims["family_name"] == "Hopper" and claims["org_slug"] == tenant.slug


async def test_jit_refuses_an_email_of_a_domain_the_tenant_does_not_own(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    op.claims = {"sub": "op-mallory", "email": "mallory@elsewhere.example", "email_verified": True}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await finish(browser, await start(browser, tenant))
        refused_without_session(r)
        assert r.status_code == 403 and "not of a domain of this organization" in r.text
    assert "email_domain_not_owned" in audit_reasons(server, tenant.slug)


async def test_unverified_email_is_not_linked_nor_provisioned(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True)
    email = f"mallory@{tenant.domain}"
    await scim_user(server, tenant, email)
    op.claims = {"sub": "op-mallory", "email": email, "email_verified": False}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        refused_without_session(await finish(browser, await start(browser, tenant)))
    assert "email_not_verified" in audit_reasons(server, tenant.slug)


async def test_unknown_user_without_jit_is_refused(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op, jit=False)
    op.claims = {"sub": "op-nobody", "email": f"nobody@{tenant.domain}", "email_verified": True}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await finish(browser, await start(browser, tenant))
        refused_without_session(r)
        assert r.status_code == 403 and "Sign-in failed" in r.text
    assert "unknown_user" in audit_reasons(server, tenant.slug)


async def test_an_op_error_response_is_shown_plainly_and_audited(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant)
        state = started.callback.split("state=", 1)[1].split("&", 1)[0]
        path = started.callback.split("?", 1)[0]
        query = {"error": "access_denied", "error_description": "User said no", "state": state}
        r = await browser.get(path, params={**query, "iss": op.issuer})
        refused_without_session(r)
        assert "access_denied" in r.text and "User said no" in r.text
    assert "idp_error" in audit_reasons(server, tenant.slug)


async def test_userinfo_adds_claims_and_must_name_the_same_subject(
    server: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(server, op, jit=True, use_userinfo=True)
    email = f"info@{tenant.domain}"
    op.claims = {"sub": "op-info"}  # the ID token carries no email: UserInfo does
    op.userinfo = {"sub": "op-info", "email": email, "given_name": "Info"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        started = await start(browser, tenant)
        r = await finish(browser, started)
        tokens = await tokens_for(browser, tenant.app, r, started.verifier)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["email"] == email and claims["given_name"] == "Info"
    op.userinfo = {"sub": "someone-else", "email": f"other@{tenant.domain}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        refused_without_session(await finish(browser, await start(browser, tenant)))
    assert "subject_mismatch" in audit_reasons(server, tenant.slug)


async def test_a_deactivated_user_is_refused(server: Server, op: LoopbackOp) -> None:
    tenant = await new_tenant(server, op, jit=False)
    email = f"gone@{tenant.domain}"
    uid = await scim_user(server, tenant, email)
    async with server.rt.db.write() as s:
        await s.execute(update(User).where(User.id == uid).values(active=False))
    op.claims = {"sub": "op-gone", "email": email, "email_verified": True}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await finish(browser, await start(browser, tenant))
        refused_without_session(r)
    assert "user_deactivated" in audit_reasons(server, tenant.slug)
