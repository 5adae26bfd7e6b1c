"""The SSO pages of the setup portal over HTTP (a browser's requests, no JavaScript): the
guide's values name the connection the form then creates, as a draft live for no one;
activate and deactivate; the attribute mapping; refusals (no ``sso`` intent, no anti-forgery
token, unusable metadata, another tenant's connection or test) that store nothing. Live
server, both backends."""

from __future__ import annotations

import datetime as dt
import secrets

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from propylon.admin import saml_connections as saml_ops
from propylon.admin.audited import CLI
from propylon.db.tables import AuditEntry
from propylon.setup.tests_store import latest_test
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.portal.helpers import new_tenant, portal_browser
from tests.portal_walk.sso_helpers import create_saml_draft, csrf, draft_mac, guide, show
from tests.saml.idp import make_keypair

SSO = "https://idp.example.org/sso"


async def test_the_guide_names_the_draft_the_form_creates(server: Server) -> None:
    tenant = await new_tenant(server)
    key = make_keypair("portal idp")
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        home = await client.get("/portal/sso")
        assert home.status_code == 200 and "No connection yet" in home.text
        chosen = await client.get("/portal/sso/new", params={"protocol": "saml", "idp": "okta"})
        assert chosen.headers["location"] == "/portal/sso/saml/new?idp=okta"
        html, draft = await guide(client, "saml", "okta")
        acs = f"{server.url}/saml/{draft}/acs"
        assert acs in html and "Single sign-on URL" in html and "Audience URI" in html
        key_ = draft_mac(html)
        reload = f"/portal/sso/saml/new?idp=okta&draft={draft}&key={key_}"
        assert (await client.get(reload)).text.count(acs) >= 2  # a reload keeps the id
        answer, draft = await create_saml_draft(client, key, "https://idp.example.org", SSO)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(f"/portal/sso/connections/{draft}")
        view = await show(server.rt, draft)
        assert view["disabled"] is True and view["tenant_id"] == tenant.id
        assert view["acs_url"] == f"{server.url}/saml/{draft}/acs" and view["jit"] is True
        assert view["attribute_map"]["given_name"] == ["firstName"]  # Okta's preset
        page = await client.get(answer.headers["location"])
        assert page.status_code == 200 and "Draft" in page.text and 'id="activate"' in page.text
        assert view["sp_entity_id"] in page.text and "No test yet" in page.text
        # the same draft id cannot be created twice
        again = await client.post(
            "/portal/sso/saml/new?idp=okta",
            data={"csrf_token": csrf(page.text), "draft": draft, "idp_entity_id": "x"},
        )
        assert again.status_code == 400 and "There is a problem" in again.text
        async with server.rt.db.read() as s:
            entry = (
                await s.scalars(
                    select(AuditEntry).where(
                        AuditEntry.target_id == draft, AuditEntry.action == "saml.connection.create"
                    )
                )
            ).one()
        assert entry.actor_type == "portal" and entry.diff["disabled"]["after"] is True
        # a test started here is the portal link's: recorded as such and audited as such
        started = await client.post(
            f"/portal/sso/connections/{draft}/test", data={"csrf_token": csrf(page.text)}
        )
        assert started.status_code == 303 and started.headers["location"].startswith(SSO)
        test = await latest_test(server.rt, draft, tenant.id)
        assert test is not None and test.started_by.startswith("portal:plk_")
        async with server.rt.db.read() as s:
            tested = (
                await s.scalars(
                    select(AuditEntry).where(
                        AuditEntry.target_id == draft, AuditEntry.action == "sso.connection.test"
                    )
                )
            ).one()
        assert (tested.actor_type, tested.actor_id) == ("portal", test.started_by[7:])
        assert entry.actor_id == tested.actor_id
        # the SP metadata: built in one place, the portal's download = the public document
        download = await client.get(f"/portal/sso/connections/{draft}/metadata")
        public = await client.get(f"/saml/{draft}/metadata")
        assert download.status_code == 200 and public.status_code == 200
        assert download.content == public.content and view["sp_entity_id"] in public.text
        assert "attachment" in download.headers["content-disposition"]


async def test_activate_deactivate_and_the_mapping(server: Server) -> None:
    tenant = await new_tenant(server)
    key = make_keypair("portal idp 2")
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        _answer, cid = await create_saml_draft(client, key, "https://idp2.example.org", SSO)
        page = (await client.get(f"/portal/sso/connections/{cid}")).text
        token = csrf(page)

        async def post(action: str, **data: str) -> httpx.Response:
            """The form's POST, then the page it leads back to (Post/Redirect/Get)."""
            url = f"/portal/sso/connections/{cid}/{action}"
            done = await client.post(url, data={"csrf_token": token, **data})
            assert done.status_code == 303, done.text
            assert done.headers["location"].startswith(f"/portal/sso/connections/{cid}?")
            return await client.get(done.headers["location"])

        on = await post("activate")
        assert "Activated" in on.text and 'id="deactivate"' in on.text
        assert (await show(server.rt, cid))["disabled"] is False
        mapped = await post("mapping", map_department="dept, ou", map_email="email")
        assert "Attribute mapping saved" in mapped.text
        view = await show(server.rt, cid)
        assert view["attribute_map"]["department"] == ["dept", "ou"]
        assert view["attribute_map"]["email"] == ["email"]
        assert "Nothing changed" in (await post("mapping", map_email="email")).text
        off = await post("deactivate")
        assert "Deactivated" in off.text and (await show(server.rt, cid))["disabled"] is True
        listed = await client.get("/portal/sso")
        assert cid in listed.text and "Draft" in listed.text


async def test_refusals_store_nothing(server: Server) -> None:
    tenant = await new_tenant(server)
    key = make_keypair("portal idp 3")
    async with portal_browser(server, tenant.slug, ["domains"]) as client:
        assert (await client.get("/portal/sso")).status_code == 403
        assert (await client.get("/portal/sso/saml/new?idp=okta")).status_code == 403
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        html, draft = await guide(client, "saml", "generic")
        # no anti-forgery token
        r = await client.post(
            "/portal/sso/saml/new?idp=generic", data={"draft": draft, "idp_entity_id": "x"}
        )
        assert r.status_code == 403
        # metadata that is not metadata; a certificate that is not one; nothing at all
        for data, files in (
            ({}, {"metadata_file": ("x.xml", b"<nope/>", "text/xml")}),
            ({"idp_entity_id": "e", "sso_url": SSO, "cert": "-----BEGIN CERTIFICATE-----"}, None),
            ({}, None),
        ):
            form = {"csrf_token": csrf(html), "draft": draft, "draft_mac": draft_mac(html), **data}
            r = await client.post("/portal/sso/saml/new?idp=generic", data=form, files=files)
            assert r.status_code == 400 and 'role="alert"' in r.text, r.text
        # hostile values are pages, never a 5xx
        for path in (
            "/portal/sso/pingone/new",
            "/portal/sso/saml/new?idp=nope",
            "/portal/sso/connections/conn_%00",
            "/portal/sso/connections/" + "x" * 500,
            "/portal/sso/tests/ctest_nope",
        ):
            assert (await client.get(path)).status_code == 404, path
        assert await saml_ops.list_connections(server.rt, tenant.id) == []
        # by hand: entity id, SSO URL and certificate
        form = {
            "csrf_token": csrf(html),
            "draft": draft,
            "draft_mac": draft_mac(html),
            "idp_entity_id": "https://idp3.example.org",
            "sso_url": SSO,
            "cert": key.cert_pem.decode(),
            "name": "By hand",
        }
        r = await client.post("/portal/sso/saml/new?idp=generic", data=form)
        assert r.status_code == 303 and (await show(server.rt, draft))["name"] == "By hand"


async def test_another_tenants_connection_is_not_found(server: Server) -> None:
    mine, theirs = await new_tenant(server), await new_tenant(server)
    key = make_keypair("other idp")
    other = await saml_ops.create_connection(
        server.rt,
        CLI,
        theirs.slug,
        IdpSource(sso_url=SSO, idp_entity_id="https://o.example", certificates=(key.cert,)),
    )
    cid = other["connection_id"]
    async with portal_browser(server, mine.slug, ["sso"]) as client:
        html, _ = await guide(client, "saml", "okta")
        token = csrf(html)
        assert (await client.get(f"/portal/sso/connections/{cid}")).status_code == 404
        for action in ("activate", "deactivate", "mapping", "test"):
            r = await client.post(
                f"/portal/sso/connections/{cid}/{action}",
                data={"csrf_token": token, "map_email": "mine"},
            )
            assert r.status_code == 404, action
        assert cid not in (await client.get("/portal/sso")).text
        assert (await client.get(f"/portal/sso/connections/{cid}/metadata")).status_code == 404
        assert (await client.get("/portal/sso/connections/conn_%00/metadata")).status_code == 404
    view = await show(server.rt, cid)
    assert view["disabled"] is False and view["attribute_map"]["email"] != ["mine"]
    assert secrets.compare_digest(view["tenant_id"], theirs.id)


async def test_hostile_uploads_are_4xx_pages(server: Server) -> None:
    tenant = await new_tenant(server)
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        html, draft = await guide(client, "saml", "generic")
        form = {"csrf_token": csrf(html), "draft": draft, "draft_mac": draft_mac(html)}
        url = "/portal/sso/saml/new?idp=generic"
        huge = {"metadata_file": ("big.xml", b"<x>" + b"a" * 1_100_000 + b"</x>", "text/xml")}
        assert (await client.post(url, data=form, files=huge)).status_code == 413
        latin = {"metadata_file": ("l.xml", "<é/>".encode("latin-1"), "text/xml")}
        assert (await client.post(url, data=form, files=latin)).status_code == 400
        garbage = await client.post(
            url,
            content=b"--b\r\nContent-Disposition: form-data\r\n\r\nx",
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert garbage.status_code in (400, 403)
        unreachable = {**form, "metadata_url": "http://127.0.0.1:9/metadata"}
        r = await client.post(url, data=unreachable)
        assert r.status_code == 400 and 'role="alert"' in r.text
        assert await saml_ops.list_connections(server.rt, tenant.id) == []
    # no portal session: refused, nothing written
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        for path in ("/portal/sso", f"/portal/sso/connections/{draft}", "/portal/sso/tests/x"):
            assert (await anonymous.get(path)).status_code == 401
        r = await anonymous.post(url, data={"draft": draft, "idp_entity_id": "e"})
        assert r.status_code == 401


def expiring_cert(days: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expiring idp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=300))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def test_certificate_expiry_is_warned(server: Server) -> None:
    tenant = await new_tenant(server)
    async with portal_browser(server, tenant.slug, ["sso"]) as client:
        html, draft = await guide(client, "saml", "generic")
        form = {
            "csrf_token": csrf(html),
            "draft": draft,
            "draft_mac": draft_mac(html),
            "idp_entity_id": "https://expiring.example.org",
            "sso_url": SSO,
            "cert": expiring_cert(5),
            "name": "Expiring",
        }
        assert (await client.post("/portal/sso/saml/new?idp=generic", data=form)).status_code == 303
        listing = await client.get("/portal/sso")
        assert "Certificate expiring" in listing.text and "expires soon" in listing.text
        page = await client.get(f"/portal/sso/connections/{draft}")
        assert "signing certificate expires soon" in page.text
