"""IdP-initiated SAML SSO (SAML Profiles §4.1.5) with pysaml2 as the IdP lands in a definite
app: the one the connection names (``--idp-initiated-app``), else the platform's only
confidential app; anything else is refused with a 400 page and an audited reason."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from propylon.db.tables_sso import OAuthClient
from propylon.runtime import build_runtime
from tests.conftest import Server, drop_backend, make_backend, start_server, stop_server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import REDIRECT, App, decode, new_app, token_request
from tests.saml.idp import make_keypair
from tests.sso.test_saml_pysaml2 import Idp, new_idp, pysaml2_response

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1")


def unsolicited_response(idp: Idp, email: str) -> str:
    """A signed Response answering no AuthnRequest (no InResponseTo), made by pysaml2."""
    return pysaml2_response(idp, None, email, sign_assertion=True)


async def post_unsolicited(server: Server, idp: Idp, email: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        return await browser.post(
            idp.acs_path, data={"SAMLResponse": unsolicited_response(idp, email)}
        )


async def lands_in(server: Server, idp: Idp, email: str, app: App) -> dict[str, Any]:
    """IdP-initiated login → straight to the app's first redirect URI with a code →
    tokens (redeemable by that app only)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.post(
            idp.acs_path, data={"SAMLResponse": unsolicited_response(idp, email)}
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith(REDIRECT + "?code=")
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        tokens = await token_request(browser, app, data)
        assert tokens.status_code == 200, tokens.text
    _, claims = await decode(server, tokens.json()["id_token"])
    assert claims["aud"] == app.client_id and claims["idp"] == idp.cid
    return claims


def refusals(server: Server, idp: Idp) -> list[str]:
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.login")
    return [r["reason"] for r in rows if r["outcome"] == "failure"]


async def revoke(server: Server, *apps: App) -> None:
    async with server.rt.db.write() as s:
        await s.execute(
            update(OAuthClient)
            .where(OAuthClient.id.in_([a.client_id for a in apps]))
            .values(revoked_at=server.rt.clock())
        )


async def test_lands_in_the_app_the_connection_names(server: Server, tmp_path: Path) -> None:
    idp = await new_idp(server, tmp_path, "--allow-idp-initiated", "--idp-initiated-app", "{app}")
    assert idp.connection["allow_idp_initiated"] is True
    assert idp.connection["idp_initiated_app"] == idp.app.client_id
    listed = server.cli_json("saml", "list-connections", idp.slug)
    assert listed[0]["idp_initiated_app"] == idp.app.client_id
    email = f"ada@{idp.domain}"
    uid = (await idp.scim.post("/Users", json=user_body(email))).json()["id"]
    # the shared server has many confidential apps: only the named one is chosen
    claims = await lands_in(server, idp, email, idp.app)
    assert claims["sub"] == uid and claims["email"] == email
    await revoke(server, idp.app)
    r = await post_unsolicited(server, idp, email)
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert "which application" in r.text
    assert "idp_initiated_app_unavailable" in refusals(server, idp)


@pytest.fixture
async def lone(server: Server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """A server of the same backend kind as ``server`` with a database of its own, so the
    only apps are the ones a test registers."""
    backend = make_backend(server.name, tmp_path_factory.mktemp(f"lone-{server.name}"))
    url, proc = start_server(backend)
    rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
    try:
        yield Server(backend, url, proc, rt)
    finally:
        await rt.close()
        stop_server(proc)
        drop_backend(backend)


async def test_without_a_named_app_only_a_sole_confidential_app_is_used(
    lone: Server, tmp_path: Path
) -> None:
    idp = await new_idp(lone, tmp_path, "--allow-idp-initiated")
    assert idp.connection["idp_initiated_app"] is None
    email = f"grace@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    await new_app(lone, public=True)  # public apps never receive IdP-initiated logins
    await lands_in(lone, idp, email, idp.app)  # the one confidential app
    second = await new_app(lone)
    r = await post_unsolicited(lone, idp, email)
    assert r.status_code == 400 and "set-cookie" not in r.headers
    await revoke(lone, idp.app, second)
    r = await post_unsolicited(lone, idp, email)
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert refusals(lone, idp) == ["idp_initiated_no_app", "idp_initiated_app_ambiguous"]


async def test_cli_and_api_refuse_an_app_logins_cannot_land_in(
    server: Server, tmp_path: Path
) -> None:
    public = await new_app(server, public=True)
    slug = f"land-{secrets.token_hex(4)}"
    server.cli("tenant", "create", slug, "--name", "Landing Corp")
    cert = tmp_path / "idp.pem"
    cert.write_bytes(make_keypair("landing idp").cert_pem)
    base = [
        "saml",
        "create-connection",
        slug,
        "--sso-url",
        "https://idp.example.org/sso",
        "--idp-entity-id",
        "https://idp.example.org",
        "--cert-file",
        str(cert),
    ]
    for client_id, why in (("app_nope", "no app"), (public.client_id, "public app")):
        out = server.cli(*base, "--idp-initiated-app", client_id, check=False)
        assert out.returncode == 1 and why in out.stderr, out.stderr
    assert server.cli_json("saml", "list-connections", slug) == []
    confidential = await new_app(server)
    body = {
        "sso_url": "https://idp.example.org/sso",
        "idp_entity_id": "https://idp.example.org",
        "certificates_pem": [cert.read_text()],
        "allow_idp_initiated": True,
    }
    async with server.api() as c:
        url = f"/api/v1/tenants/{slug}/saml-connections"
        r = await c.post(url, json={**body, "idp_initiated_app": public.client_id})
        assert r.status_code == 400, r.text
        r = await c.post(url, json={**body, "idp_initiated_app": confidential.client_id})
        assert r.status_code == 201, r.text
        assert r.json()["idp_initiated_app"] == confidential.client_id
        listed = (await c.get(url)).json()["data"]
        assert [x["idp_initiated_app"] for x in listed] == [confidential.client_id]
