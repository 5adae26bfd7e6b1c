"""The portal's pages over HTTP: intents scope the sections (403 otherwise), every form needs
its session's token, each page works on the session's tenant only (another tenant's
directory or domain is a 404 and stays untouched), domains proved in DNS with "check now",
a SCIM directory's token shown once and its requests listed, role rules previewed and saved."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
from html import unescape

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from propylon.admin import domains as domain_ops
from propylon.admin import saml_connections
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.domains.dns_server import DnsServer
from tests.entitlements.helpers import clinical_rules, suffix
from tests.portal.helpers import csrf_of, new_tenant, portal_browser

COPY = re.compile(r'<input id="([\w-]+)" value="([^"]*)" readonly')

@pytest.fixture(autouse=True)
def _one_backend(site: Server) -> None:
    """The pages call the service layer the management API's tests try on both backends;
    walking them once is enough."""
    if site.name != "sqlite":
        pytest.skip("the pages are the same on both backends")


def copied(html: str) -> dict[str, str]:
    """The values of the page's copy fields, by id."""
    return {k: unescape(v) for k, v in COPY.findall(html)}


async def test_intents_scope_the_sections(site: Server) -> None:
    tenant = await new_tenant(site)
    async with portal_browser(site, tenant.slug, ["domains"]) as client:
        overview = await client.get("/portal")
        assert overview.status_code == 200
        assert 'href="/portal/domains"' in overview.text
        for path in ("/portal/sso", "/portal/scim", "/portal/roles"):
            assert f'href="{path}"' not in overview.text
        for path in ("/portal/scim", "/portal/roles", "/portal/scim/dir_x"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "does not cover this section" in refused.text
        csrf = csrf_of(overview.text)
        refused = await client.post("/portal/scim", data={"csrf_token": csrf})
        assert refused.status_code == 403
        assert await ops.list_directories(site.rt, tenant.slug) == []
        assert (await client.get("/portal/domains")).status_code == 200


async def test_every_form_needs_this_sessions_token(site: Server) -> None:
    tenant = await new_tenant(site)
    async with (
        portal_browser(site, tenant.slug) as client,
        portal_browser(site, tenant.slug) as other,
    ):
        theirs = csrf_of((await other.get("/portal")).text)
        domain = f"csrf-{secrets.token_hex(4)}.example.org"
        for form in ({}, {"csrf_token": "0" * 64}, {"csrf_token": theirs}):
            for path in ("/portal/domains", "/portal/scim", "/portal/roles", "/portal/sign-out"):
                answer = await client.post(path, data=form | {"domain": domain, "rules": "{}"})
                assert answer.status_code == 403, (path, form)
        assert await domain_ops.list_domains(site.rt, tenant.slug) == []
        assert await ops.list_directories(site.rt, tenant.slug) == []
        big = await client.post("/portal/roles", content=b"rules=" + b"x" * 300_000)
        assert big.status_code == 413


async def test_a_session_never_reads_or_changes_another_tenants_objects(site: Server) -> None:
    a, b = await new_tenant(site), await new_tenant(site)
    theirs = await ops.create_directory(site.rt, CLI, b.slug, name="theirs")
    domain = f"b-{secrets.token_hex(4)}.example.org"
    await domain_ops.start_verification(site.rt, CLI, b.slug, domain)
    async with portal_browser(site, a.slug) as client:
        csrf = csrf_of((await client.get("/portal")).text)
        seen = await client.get(f"/portal/scim/{theirs['directory_id']}")
        assert seen.status_code == 404
        assert theirs["base_url"] not in seen.text
        rotate = await client.post(
            f"/portal/scim/{theirs['directory_id']}/rotate", data={"csrf_token": csrf}
        )
        assert rotate.status_code == 404
        check = await client.post(
            "/portal/domains/check", data={"csrf_token": csrf, "domain": domain}
        )
        assert check.status_code == 404
        claim = await client.post("/portal/domains", data={"csrf_token": csrf, "domain": domain})
        assert claim.status_code == 400
        assert "cannot be added" in claim.text
        listing = (await client.get("/portal/scim")).text + (await client.get("/portal")).text
        assert theirs["directory_id"] not in listing and domain not in listing
    # B's token still works (nothing rotated), B's domain still B's alone
    async with httpx.AsyncClient(
        base_url=theirs["base_url"], headers={"Authorization": f"Bearer {theirs['token']}"}
    ) as scim:
        assert (await scim.get("/Users")).status_code == 200
    assert [d.domain for d in await domain_ops.list_domains(site.rt, a.slug)] == []
    trail = await ops.audit_trail(site.rt, b.slug, limit=50)
    assert not [e for e in trail if e["action"] in ("scim.token.rotate", "domain.verify")]


async def test_a_domain_is_claimed_and_proved_with_check_now(
    site: Server, portal_dns: DnsServer
) -> None:
    tenant = await new_tenant(site)
    domain = f"proved-{secrets.token_hex(4)}.example.org"
    async with portal_browser(site, tenant.slug, ["domains"]) as client:
        page = await client.get("/portal/domains")
        csrf = csrf_of(page.text)
        empty = await client.post("/portal/domains", data={"csrf_token": csrf, "domain": ""})
        assert empty.status_code == 400 and "Enter a domain" in empty.text
        gmail = await client.post(
            "/portal/domains", data={"csrf_token": csrf, "domain": "gmail.com"}
        )
        assert gmail.status_code == 400
        claimed = await client.post("/portal/domains", data={"csrf_token": csrf, "domain": domain})
        assert claimed.status_code == 200
        fields = copied(claimed.text)
        assert fields["type-1"] == "TXT"
        assert fields["name-1"] == f"_propylon-challenge.{domain}"
        value = fields["value-1"]
        assert value.startswith("propylon-domain-verification=")
        assert "Not verified" in claimed.text
        missing = await client.post(
            "/portal/domains/check", data={"csrf_token": csrf, "domain": domain}
        )
        assert "No TXT record was found yet" in missing.text
        portal_dns.publish(f"_propylon-challenge.{domain}", value)
        proved = await client.post(
            "/portal/domains/check", data={"csrf_token": csrf, "domain": domain}
        )
        assert proved.status_code == 200
        assert "Verified: the TXT record was found" in proved.text
        assert "Verified</span>" in proved.text
    views = await domain_ops.list_domains(site.rt, tenant.slug)
    assert [(v.domain, v.routes) for v in views] == [(domain, True)]
    trail = await ops.audit_trail(site.rt, tenant.slug, limit=20)
    assert {"domain.verify_start", "domain.verify"} <= {e["action"] for e in trail}
    assert {e["actor_type"] for e in trail if e["action"] == "domain.verify"} == {"portal"}


async def test_a_scim_directory_token_is_shown_once_and_its_requests_are_listed(
    site: Server,
) -> None:
    tenant = await new_tenant(site)
    async with portal_browser(site, tenant.slug, ["scim"]) as client:
        csrf = csrf_of((await client.get("/portal/scim")).text)
        made = await client.post("/portal/scim", data={"csrf_token": csrf, "name": "Okta"})
        assert made.status_code == 201
        fields = copied(made.text)
        token, base = fields["issued-token"], fields["issued-base-url"]
        assert token.startswith("scim_") or len(token) > 30
        directory_id = base.rstrip("/").rsplit("/", 1)[1]
        listing = await client.get("/portal/scim")
        assert token not in listing.text and "Okta" in listing.text
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}
        ) as scim:
            created = await scim.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"ann-{secrets.token_hex(3)}@example.org",
                },
            )
            assert created.status_code == 201, created.text
            dup = await scim.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": created.json()["userName"],
                },
            )
            assert dup.status_code == 409
        for _ in range(50):  # the audit writer may batch the entries
            detail = await client.get(f"/portal/scim/{directory_id}")
            if "Create user" in detail.text and "Failed" in detail.text:
                break
            await asyncio.sleep(0.1)
        assert detail.status_code == 200
        assert "Create user" in detail.text and "Succeeded" in detail.text
        assert "Failed" in detail.text and "409" in detail.text
        assert token not in detail.text
        rotated = await client.post(
            f"/portal/scim/{directory_id}/rotate", data={"csrf_token": csrf}
        )
        assert rotated.status_code == 200
        new_token = copied(rotated.text)["issued-token"]
        assert new_token != token
        assert "previous token keeps working" in rotated.text
        # only requests are listed, not the admin's changes; failed authentications are
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": "Bearer scim_not-a-token"}
        ) as stranger:
            assert (await stranger.get("/Users")).status_code == 401
        for _ in range(100):  # failed authentications reach the trail through its writer
            detail = await client.get(f"/portal/scim/{directory_id}")
            if "Authentication failed" in detail.text:
                break
            await asyncio.sleep(0.1)
        assert "Authentication failed" in detail.text and "401" in detail.text
        assert detail.text.count("Rotate token") == 1  # the button, not a listed request
        assert "Create directory" not in detail.text
        assert "token.rotate" not in detail.text and "directory.create" not in detail.text
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {new_token}"}
    ) as scim:
        assert (await scim.get("/Users")).status_code == 200


async def test_role_rules_are_previewed_then_saved(site: Server) -> None:
    tenant = await new_tenant(site)
    s = suffix()
    rules = await clinical_rules(site, s)
    directory = await ops.create_directory(site.rt, CLI, tenant.slug)
    async with httpx.AsyncClient(
        base_url=directory["base_url"], headers={"Authorization": f"Bearer {directory['token']}"}
    ) as scim:
        user = await scim.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"nurse-{s}@example.org",
                "emails": [{"value": f"nurse-{s}@example.org", "primary": True}],
            },
        )
        assert user.status_code == 201
        group = await scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"Nurses-{s}",
                "members": [{"value": user.json()["id"]}],
            },
        )
        assert group.status_code == 201
    async with portal_browser(site, tenant.slug, ["roles"]) as client:
        page = await client.get("/portal/roles")
        assert page.status_code == 200
        assert f"clinician-{s}" in page.text  # the catalogue is listed
        csrf = csrf_of(page.text)
        text = json.dumps(rules)
        bad = await client.post(
            "/portal/roles", data={"csrf_token": csrf, "rules": "{nope", "action": "preview"}
        )
        assert bad.status_code == 400 and "not valid JSON" in bad.text
        unknown = json.dumps({"rules": [{"name": "x", "grant": {"roles": [f"ghost-{s}"]}}]})
        refused = await client.post(
            "/portal/roles", data={"csrf_token": csrf, "rules": unknown, "action": "save"}
        )
        assert refused.status_code == 400 and "not in the platform catalogue" in refused.text
        preview = await client.post(
            "/portal/roles", data={"csrf_token": csrf, "rules": text, "action": "preview"}
        )
        assert preview.status_code == 200
        assert "1 of 1 users would change" in preview.text
        assert f"nurse-{s}@example.org" in preview.text and f"clinician-{s}" in preview.text
        assert (await ops_rules_version(site, tenant.slug)) == 0
        saved = await client.post(
            "/portal/roles", data={"csrf_token": csrf, "rules": text, "action": "save"}
        )
        assert saved.status_code == 200
        assert "Saved as version 1" in saved.text
    assert await ops_rules_version(site, tenant.slug) == 1


async def ops_rules_version(site: Server, tenant: str) -> int:
    from propylon.admin import entitlements

    version: int = (await entitlements.rules_show(site.rt, tenant))["version"]
    return version


def _certificate(days: int) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expiring-idp")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=300))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


async def test_the_overview_warns_of_an_expiring_idp_certificate_of_its_tenant_only(
    site: Server,
) -> None:
    a, b = await new_tenant(site), await new_tenant(site)
    for tenant, name, days in ((a, "Okta soon", 5), (b, "Theirs", 3)):
        source = IdpSource(
            sso_url="https://idp.example.org/sso",
            idp_entity_id=f"https://idp.example.org/{tenant.slug}",
            certificates=(_certificate(days),),
        )
        await saml_connections.create_connection(site.rt, CLI, tenant.slug, source, name=name)
    async with portal_browser(site, a.slug, ["sso"]) as client:
        page = await client.get("/portal")
        assert page.status_code == 200
        assert "Okta soon" in page.text and "Theirs" not in page.text
        assert "expires soon" in page.text and "Certificate expiring" in page.text
        assert "Verify your email domain" not in page.text  # not in this link's intents
