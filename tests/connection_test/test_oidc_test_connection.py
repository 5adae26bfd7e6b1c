"""Test connection against npm ``oidc-provider`` as the OpenID Provider: a draft (disabled)
connection is testable though no normal sign-in goes through it; the callback records the
test's result (code redeemed with the test's PKCE verifier, ID token validated) and signs
nobody in. Named failures: a wrong client secret fails ``token``, a person without an email
claim fails ``attributes``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from propylon.admin import tenants as tenant_ops
from propylon.admin.audited import CLI
from propylon.audit import Actor
from propylon.sessions.pending_cookie import COOKIE_PREFIX
from propylon.setup.model import ConnectionTest
from propylon.setup.tests_store import get_test
from propylon.signin.connection_test import start_test
from propylon.signin.saml_sso import StartedLogin
from tests.conftest import Server
from tests.interop.oidc_op import Op, has_oidc_provider, start_op
from tests.interop.test_oidc_provider_e2e import follow

pytestmark = pytest.mark.skipif(
    not has_oidc_provider(), reason="needs node and oidc-provider (scripts/test)"
)
RESULT = "/portal/sso/tests/{test_id}"
SECRET = "op-secret-" + "s" * 24


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Op]:
    running = start_op(tmp_path_factory.mktemp("op"), clients=[], users=[])
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Org:
    slug: str
    domain: str
    tenant_id: str
    connection: dict[str, Any]

    @property
    def cid(self) -> str:
        return str(self.connection["connection_id"])


async def draft_org(
    server: Server, op: Op, users: list[dict[str, Any]], secret: str = SECRET
) -> Org:
    """A tenant with a disabled OIDC connection (JIT on) to ``op``, which knows the client
    with :data:`SECRET` (the connection has ``secret``) and ``users``."""
    slug = f"ct-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    tenant = await tenant_ops.create_tenant(
        server.rt, CLI, slug=slug, name="Test Corp", domains=[domain], seats=None
    )
    conn = server.cli_json(
        "oidc", "create-connection", slug, "--issuer", op.url, "--client-id",
        f"propylon-{slug}", "--client-secret", secret, "--jit",
    )  # fmt: skip
    server.cli("oidc", "update", conn["connection_id"], "--disable")
    client = {
        "client_id": conn["client_id"],
        "client_secret": SECRET,
        "redirect_uris": [conn["redirect_uri"]],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    op.restart(clients=[client], users=users)
    return Org(slug, domain, tenant.id, conn)


def person(domain: str, **extra: Any) -> dict[str, Any]:
    return {
        "sub": f"op-ada-{secrets.token_hex(3)}",
        "email": f"ada@{domain}",
        "email_verified": True,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "groups": ["engineering"],
        **extra,
    }


async def run_test(server: Server, org: Org, login: str) -> tuple[str, httpx.Response]:
    """Start a test, go through the OP (signing in ``login`` by its hint) and bring the
    authorization response back to the callback in the browser that started the test."""
    started, test_id = await start_test(
        server.rt, org.cid, org.tenant_id, Actor("portal", "plk_test"), RESULT, login_hint=login
    )
    callback = f"{server.url}/oidc/{org.cid}/callback"
    async with httpx.AsyncClient(timeout=30) as at_op:
        r = await follow(at_op, started.url, callback)
    assert r.status_code in (302, 303) and r.headers["location"].startswith(callback), r.text
    async with httpx.AsyncClient(timeout=30) as browser:
        done = await browser.get(r.headers["location"], headers=cookie(started))
    return test_id, done


def cookie(started: StartedLogin) -> dict[str, str]:
    return {"Cookie": f"{started.cookie_name}={started.cookie_value}"}


def recorded(r: httpx.Response, test_id: str) -> None:
    assert r.status_code == 303, r.text
    assert r.headers["location"] == RESULT.format(test_id=test_id)
    assert "propylon_session" not in r.headers.get("set-cookie", "")


def states(test: ConnectionTest) -> list[tuple[str, str]]:
    return [(s.name, s.state) for s in test.stages]


async def test_success_on_a_draft_connection(server: Server, op: Op) -> None:
    org = await draft_org(server, op, [])
    ada = person(org.domain)
    op.restart(users=[ada])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get(
            f"/oidc/{org.cid}/login", params={"return_to": "/oauth2/authorize?x=1"}
        )
    assert r.status_code == 404  # not live for anyone
    test_id, done = await run_test(server, org, ada["email"])
    recorded(done, test_id)
    test = await get_test(server.rt, test_id, org.tenant_id)
    assert test.status == "passed" and test.protocol == "oidc", test
    assert {state for _, state in states(test)} == {"passed"}
    assert test.mapped["email"] == ada["email"] and test.mapped["given_name"] == "Ada"
    assert test.mapped["groups"] == ["engineering"]
    assert test.attributes["sub"] == [ada["sub"]]
    assert test.user["outcome"] == "would_create"
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.oidc.login")
    assert rows == []  # nobody signed in


async def test_a_wrong_client_secret_fails_the_token_stage(server: Server, op: Op) -> None:
    org = await draft_org(server, op, [], secret="not-the-" + SECRET)
    ada = person(org.domain)
    op.restart(users=[ada])
    test_id, done = await run_test(server, org, ada["email"])
    recorded(done, test_id)
    test = await get_test(server.rt, test_id, org.tenant_id)
    assert test.failed_stage == "token" and test.reason == "token_error", test
    assert states(test)[:3] == [
        ("idp_reached", "passed"),
        ("response_received", "passed"),
        ("token", "failed"),
    ]
    assert all(state == "not_reached" for _, state in states(test)[3:])
    assert test.remedy is not None and "client secret" in test.remedy


async def test_a_person_without_an_email_fails_the_attributes_stage(server: Server, op: Op) -> None:
    org = await draft_org(server, op, [])
    nobody = person(org.domain)
    del nobody["email"], nobody["email_verified"]
    op.restart(users=[nobody])
    test_id, done = await run_test(server, org, nobody["sub"])
    recorded(done, test_id)
    test = await get_test(server.rt, test_id, org.tenant_id)
    assert test.failed_stage == "attributes" and test.reason == "email_missing", test
    failing = dict(states(test))
    assert failing["nonce"] == "passed" and failing["user"] == "not_reached"
    assert test.remedy is not None and "email" in test.remedy


async def test_an_error_from_the_provider_fails_response_received(server: Server, op: Op) -> None:
    """The OP answers ``error=access_denied`` (Core §3.1.2.6): the test names the error and
    the provider's description; no code was exchanged."""
    org = await draft_org(server, op, [person("unused.example")])
    started, test_id = await start_test(
        server.rt, org.cid, org.tenant_id, Actor("portal", "plk_t"), RESULT
    )
    state = started.cookie_name.removeprefix(COOKIE_PREFIX)
    params = {
        "state": state,
        "error": "access_denied",
        "error_description": "ada is not assigned to this app",
        "iss": op.url,
    }
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        done = await browser.get(
            f"/oidc/{org.cid}/callback", params=params, headers=cookie(started)
        )
    recorded(done, test_id)
    test = await get_test(server.rt, test_id, org.tenant_id)
    assert test.failed_stage == "response_received" and test.reason == "idp_error", test
    failing = next(s for s in test.stages if s.name == "response_received")
    assert failing.facts["error"] == "access_denied"
    assert "ada is not assigned to this app" in failing.detail
    assert test.remedy is not None and "access_denied" in test.remedy
