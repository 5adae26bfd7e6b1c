"""Email-first sign-in through the real authorization endpoint: SAML and OIDC tenants go to
their IdP, a tenant without SSO and the platform's individual users get the methods allowed,
the vanity entry points go to the tenant's SSO, and discovery tells a host platform the same."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx

from propylon.admin import apps
from propylon.admin.audited import CLI
from propylon.cache.fanout import publish_committed
from propylon.db.tables_oidc import OidcConnection
from propylon.runtime import SIGN_IN_CHANNEL
from propylon.tenants.service import get_tenant
from tests.conftest import Server
from tests.domains.helpers import add_oidc_connection, arrive, location, new_tenant
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import auth_params, new_app
from tests.sso.test_saml_login import SSO, new_org


async def test_a_saml_tenant_sends_the_person_to_its_idp(site: Server) -> None:
    org = await new_org(site)
    idp, query = location(await arrive(site, org.app, login_hint=f"ana@{org.domain}"))
    assert idp == SSO and "SAMLRequest" in query


async def test_an_oidc_tenant_sends_the_person_to_its_openid_provider(
    site: Server, op: LoopbackOp
) -> None:
    tenant = await new_tenant(site)
    connection = await add_oidc_connection(site, tenant.id, op.issuer)
    app = await new_app(site)
    email = f"ben@{tenant.domain}"
    path, query = location(await arrive(site, app, login_hint=email))
    assert path == f"{op.issuer}/authorize"
    assert query["login_hint"] == email and "prompt" not in query
    assert query["redirect_uri"] == f"{site.url}/oidc/{connection}/callback"
    # a fresh authentication asked for is passed on
    _, query = location(await arrive(site, app, login_hint=email, prompt="login"))
    assert query["prompt"] == "login"
    # by organisation too
    path, _ = location(await arrive(site, app, organization=tenant.slug))
    assert path == f"{op.issuer}/authorize"
    # disabled, it routes no one (as its commands do, the change is published to every process)
    async with site.rt.db.write() as s:
        row = await s.get(OidcConnection, connection)
        assert row is not None
        row.disabled_at = site.rt.clock()
    await publish_committed(site.rt.cache, SIGN_IN_CHANNEL, connection, 30)
    r = await arrive(site, app, login_hint=email)
    assert r.status_code == 200 and 'action="/password/sign-in"' in r.text


async def test_a_domain_bound_to_an_oidc_connection_goes_there_beside_saml(
    site: Server, op: LoopbackOp
) -> None:
    org = await new_org(site)
    async with site.rt.db.read() as s:
        tenant_id = (await get_tenant(s, org.slug)).id
    connection = await add_oidc_connection(site, tenant_id, op.issuer)
    merged = f"m-{secrets.token_hex(3)}.example.net"
    site.cli_json("domain", "add", org.slug, merged, "--connection", connection)
    path, query = location(await arrive(site, org.app, login_hint=f"cy@{merged}"))
    assert path == f"{op.issuer}/authorize"
    assert query["redirect_uri"].endswith(f"/oidc/{connection}/callback")
    site.cli_json(
        "domain", "bind", org.slug, org.domain, "--connection", org.connection["connection_id"]
    )
    idp, _ = location(await arrive(site, org.app, login_hint=f"cy@{org.domain}"))
    assert idp == SSO


async def test_a_tenant_without_sso_offers_the_methods_it_allows(site: Server) -> None:
    tenant = await new_tenant(site)
    app = await new_app(site)
    email = f"dee@{tenant.domain}"
    r = await arrive(site, app, login_hint=email)
    assert r.status_code == 200 and f"Sign in to Org {tenant.slug}" in r.text
    assert 'action="/password/sign-in"' in r.text and f'value="{email}"' in r.text
    assert 'name="return_to"' in r.text
    assert "/password/reset?" in r.text and "/password/sign-up?" in r.text
    assert 'id="google-link" href="/google/login?return_to=' in r.text
    site.cli_json("tenant", "update", tenant.slug, "--no-google")
    r = await arrive(site, app, login_hint=email)
    assert 'action="/password/sign-in"' in r.text and "google-link" not in r.text
    site.cli_json("tenant", "update", tenant.slug, "--google", "--no-password")
    r = await arrive(site, app, login_hint=email)
    assert "google-link" in r.text and "/password/sign-in" not in r.text
    site.cli_json("tenant", "update", tenant.slug, "--no-google")
    r = await arrive(site, app, login_hint=email)
    assert "no SSO connection configured yet" in r.text and "/password/" not in r.text


async def test_individuals_get_password_and_google(site: Server) -> None:
    app = await new_app(site)
    email = f"eve@personal-{secrets.token_hex(3)}.example"
    r = await arrive(site, app, login_hint=email)
    assert r.status_code == 200 and "No organisation uses the domain personal-" in r.text
    assert 'action="/password/sign-in"' in r.text
    google = r.text.split('id="google-link" href="', 1)[1].split('"', 1)[0]
    assert google.startswith("/google/login?return_to=%2Foauth2%2Fauthorize%3F")
    assert "login_hint=eve%40personal-" in google
    # a way back: another email
    assert 'id="back-link"' in r.text and "Use another email" in r.text


async def test_the_vanity_path_goes_to_the_tenants_sso(site: Server) -> None:
    org = await new_org(site)
    resume = "/oauth2/authorize?" + urlencode(auth_params(org.app))
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as browser:
        r = await browser.get(f"/login/{org.slug}", params={"return_to": resume})
        path, query = location(r)
        assert path == "/oauth2/authorize" and query["organization"] == org.slug
        assert query["client_id"] == org.app.client_id
        idp, _ = location(await browser.get(r.headers["location"]))
        assert idp == SSO
        # only the platform's own authorization endpoint is resumed
        r = await browser.get(f"/login/{org.slug}", params={"return_to": "https://evil.test/"})
        assert r.status_code == 400 and 'id="back-link"' in r.text
        # without one, several confidential apps: no guess
        await apps.create_app(site.rt, CLI, name="x", redirect_uris=["https://x.test/cb"])
        r = await browser.get(f"/login/{org.slug}")
        assert r.status_code == 400 and "Start from your application" in r.text


async def test_a_tenants_host_name_goes_to_its_sso(site: Server) -> None:
    org = await new_org(site)
    host = f"{org.slug}.login.example.net"
    site.cli_json("tenant", "update", org.slug, "--hostname", host)
    idp, _ = location(await arrive(site, org.app, headers={"Host": host}))
    assert idp == SSO
    idp, _ = location(await arrive(site, org.app, headers={"Host": f"{host}:443"}))
    assert idp == SSO
    # the platform's own host name asks for the email
    r = await arrive(site, org.app)
    assert r.status_code == 200 and 'name="login_hint"' in r.text


async def test_discovery_says_where_to_send_the_person(site: Server) -> None:
    org = await new_org(site)
    async with site.api("/api/v1") as api:
        r = await api.get("/discovery", params={"email": f"fay@{org.domain}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["sso"] is True and body["tenant"]["slug"] == org.slug
        assert body["connection"] == {
            "id": org.connection["connection_id"],
            "protocol": "saml",
        }
        assert body["methods"][0] == "sso"
        assert body["login_url"].startswith(f"{site.url}/login/{org.slug}?login_hint=fay%40")

        email = f"gus@home-{secrets.token_hex(3)}.example"
        resume = "/oauth2/authorize?" + urlencode(auth_params(org.app))
        r = await api.get("/discovery", params={"email": email, "return_to": resume})
        body = r.json()
        assert body["sso"] is False and body["tenant"] is None and body["connection"] is None
        assert body["methods"] == ["password", "google"]
        async with httpx.AsyncClient(timeout=30, follow_redirects=True) as browser:
            page = await browser.get(body["login_url"])
        assert 'action="/password/sign-in"' in page.text and "google-link" in page.text

        r = await api.get("/discovery", params={"email": "no-domain"})
        assert r.status_code == 400
        r = await api.get("/discovery", params={"email": email, "return_to": "https://x.test/"})
        assert r.status_code == 400
    async with httpx.AsyncClient(base_url=site.url) as anonymous:
        r = await anonymous.get("/api/v1/discovery", params={"email": email})
        assert r.status_code == 401


async def test_error_pages_carry_the_brand_and_a_way_back(site: Server) -> None:
    async with httpx.AsyncClient(base_url=site.url) as browser:
        r = await browser.get("/oauth2/authorize", params={"response_type": "code"})
    assert r.status_code == 400
    html = r.text
    assert '<html lang="en">' in html and html.count("<h1") == 1
    assert "· Acme Cloud</title>" in html and 'role="alert"' in html
    assert 'id="back-link" href="https://cloud.example.com/"' in html


async def test_hostile_sign_in_input_gets_no_server_error(site: Server) -> None:
    app = await new_app(site)
    for hint in ("a@\x00b.test", "a@" + "x" * 5000 + ".test", "@", "a@."):
        r = await arrive(site, app, login_hint=hint)
        assert r.status_code < 500, (hint[:20], r.status_code)
    query = urlencode(auth_params(app)) + "&login_hint=a%40%ED%A0%80.test"  # a lone surrogate
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as browser:
        assert (await browser.get("/oauth2/authorize?" + query)).status_code < 500
    for host in ("h" * 300 + ".test", "[::1]:80", "a..b", "xn--zz.test:99999"):
        r = await arrive(site, app, headers={"Host": host})
        assert r.status_code < 500, host[:20]
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as browser:
        for path in ("/login/%00", "/login/" + "s" * 300, "/login/x?return_to=%00"):
            assert (await browser.get(path)).status_code < 500, path[:20]
    async with site.api("/api/v1") as api:
        for email in ("a@\x00.test", "a@" + "d" * 400):
            assert (await api.get("/discovery", params={"email": email})).status_code < 500


async def test_google_is_offered_only_where_the_platform_configured_it(server: Server) -> None:
    app = await new_app(server)  # the shared server has no PROPYLON_GOOGLE_CLIENT_ID
    r = await arrive(server, app, login_hint=f"ivy@home-{secrets.token_hex(3)}.example")
    assert r.status_code == 200 and 'action="/password/sign-in"' in r.text
    assert "google-link" not in r.text and "/google/login" not in r.text
