"""IdP certificate rotation through a metadata URL: two certificates trusted at once, the old one
dropped on refresh; the background refresh task; certificates near expiry."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server, backend_env_server
from tests.http.test_scim_users import user_body
from tests.loopback_http import LoopbackHttp
from tests.provider.helpers import new_app
from tests.saml.idp import KeyPair, make_keypair
from tests.sso.test_saml_login import IDP, SSO, Org, response_for, start
from tests.sso.test_saml_pysaml2 import idp_metadata

SLO = "https://acme.okta.test/app/slo/saml"
MEDIA_TYPE = "application/samlmetadata+xml"


class MetadataHost(LoopbackHttp):
    """A loopback HTTP server serving one mutable metadata document."""

    def __init__(self) -> None:
        self.body = b""
        super().__init__(lambda _path: (200, {"Content-Type": MEDIA_TYPE}, self.body))
        self.url = f"http://127.0.0.1:{self.port}/metadata.xml"

    def serve(self, *certs: x509.Certificate, sso: str = SSO) -> None:
        self.body = idp_metadata(IDP, list(certs), sso, SLO, signed_requests=False)


@pytest.fixture
def host() -> Iterator[MetadataHost]:
    h = MetadataHost()
    yield h
    h.close()


def keypair_expiring_in(days: int) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "soon")])
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
    return KeyPair(key, cert)


async def org_from_url(server: Server, url: str, idp: KeyPair) -> Org:
    slug = f"md-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Rotating Corp", domains=[domain], seats=None
    )
    d = await ops.create_directory(server.rt, CLI, slug)
    conn = await operations_saml.create_connection(
        server.rt, CLI, slug, IdpSource(metadata_url=url)
    )
    scim = httpx.AsyncClient(
        base_url=d["base_url"], headers={"Authorization": f"Bearer {d['token']}"}, timeout=30
    )
    return Org(slug, domain, conn, idp, scim, await new_app(server))


async def login_status(server: Server, org: Org, email: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        r = await browser.post(
            urlsplit(org.connection["acs_url"]).path,
            data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay},
        )
        if r.status_code != 303:
            assert "set-cookie" not in r.headers
        return r.status_code


async def test_rotation_two_certs_then_old_one_dropped(server: Server, host: MetadataHost) -> None:
    old, new = make_keypair("idp-2024"), make_keypair("idp-2025")
    host.serve(old.cert, new.cert)
    org = await org_from_url(server, host.url, old)
    assert org.connection["metadata_url"] == host.url
    assert len(org.connection["idp_certificates_expire"]) == 2
    assert org.connection["idp_slo_url"] == SLO
    email = f"rot@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    with_new = dataclasses.replace(org, idp=new)
    assert await login_status(server, org, email) == 303
    assert await login_status(server, with_new, email) == 303

    host.serve(new.cert)  # the IdP finished its rotation
    cid = org.connection["connection_id"]
    out = await operations_saml.refresh_metadata(server.rt, CLI, cid)
    assert len(out["idp_certificates_expire"]) == 1
    assert await login_status(server, org, email) == 400
    assert await login_status(server, with_new, email) == 303
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    assert "signature_invalid" in {r["reason"] for r in rows if r["outcome"] == "failure"}
    # the CLI does the same
    host.serve(old.cert, new.cert)
    listed = server.cli_json("saml", "refresh-metadata", cid)
    assert len(listed["idp_certificates_expire"]) == 2


async def test_refresh_all_keeps_going_past_a_broken_idp_and_flags_expiry(
    server: Server, host: MetadataHost
) -> None:
    soon = keypair_expiring_in(10)
    host.serve(make_keypair("fine").cert)
    org = await org_from_url(server, host.url, soon)
    assert org.connection["expiring_soon"] is False
    broken = MetadataHost()
    broken.serve(make_keypair("x").cert)
    other = await org_from_url(server, broken.url, soon)
    broken.close()  # unreachable from now on
    host.serve(soon.cert)
    results = await operations_saml.refresh_all_metadata(server.rt)
    assert results[org.connection["connection_id"]] == "ok"
    assert results[other.connection["connection_id"]] != "ok"
    (view,) = [
        c
        for c in await operations_saml.list_connections(server.rt, org.slug)
        if c["connection_id"] == org.connection["connection_id"]
    ]
    assert view["expiring_soon"] is True


async def test_background_task_refreshes_on_its_interval(
    server: Server, host: MetadataHost
) -> None:
    first, second = make_keypair("bg-1"), make_keypair("bg-2")
    host.serve(first.cert)
    org = await org_from_url(server, host.url, first)
    cid = org.connection["connection_id"]
    before = org.connection["idp_certificates_expire"]
    host.serve(first.cert, second.cert)
    async with backend_env_server(server, {"PROPYLON_SAML_METADATA_REFRESH_SECONDS": "1"}):
        for _ in range(100):
            views = await operations_saml.list_connections(server.rt, org.slug)
            if len(views[0]["idp_certificates_expire"]) == 2:
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail("the background task did not refresh the metadata")
    assert len(before) == 1 and views[0]["connection_id"] == cid
    assert host.hits >= 2


async def test_a_refreshed_sso_url_is_used_at_once(server: Server, host: MetadataHost) -> None:
    """A running server that has just started a login with a connection (in production mode
    it keeps a copy of it) sends the next person to the IdP's new SSO URL as soon as a
    refresh in another process committed: the refresh publishes, every process drops its
    copy."""
    idp = make_keypair("idp")
    host.serve(idp.cert)
    org = await org_from_url(server, host.url, idp)
    email = f"moved@{org.domain}"
    async with httpx.AsyncClient(base_url=server.url) as browser:
        await start(browser, org, email)  # asserts the redirect goes to SSO
        moved = "https://acme.okta.test/app/sso-v2/saml"
        host.serve(idp.cert, sso=moved)
        await operations_saml.refresh_metadata(server.rt, CLI, org.connection["connection_id"])
        await asyncio.sleep(0.2)  # the fan-out's delivery; far below the copies' lifetime
        r = await browser.get(
            f"/saml/{org.connection['connection_id']}/login",
            params={"return_to": "/oauth2/authorize?client_id=x"},
        )
        assert r.status_code == 302 and r.headers["location"].startswith(moved + "?")
