"""Domains claimed through self-service route only once proved in DNS, against the tests'
own DNS server on loopback: the CLI and management API contract, each way a proof fails,
the periodic re-check that lapses a domain whose record is gone, and the domains no tenant
may have."""

from __future__ import annotations

import json
import secrets

import httpx

from propylon.admin import domains as domain_ops
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.domains.dns_server import DnsServer
from tests.provider.helpers import App, auth_params
from tests.sso.test_saml_login import SSO, new_org


async def goes_to(server: Server, app: App, email: str) -> str:
    """Where an authorization request for ``email`` without a session leads: the IdP's
    URL, or the page's text."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=auth_params(app, login_hint=email))
    if r.status_code == 302:
        return r.headers["location"].split("?", 1)[0]
    return r.text


def claim(site: Server, slug: str, domain: str) -> dict[str, object]:
    out: dict[str, object] = site.cli_json("domain", "verify-start", slug, domain)
    return out


def verify(site: Server, slug: str, domain: str) -> tuple[int, dict[str, object]]:
    r = site.cli("domain", "verify", slug, domain, "--json", check=False)
    return r.returncode, json.loads(r.stdout)


async def test_a_claimed_domain_routes_only_once_its_txt_record_is_found(
    site: Server, dns_server: DnsServer
) -> None:
    org = await new_org(site)
    domain = f"claimed-{secrets.token_hex(4)}.example.org"
    started = claim(site, org.slug, domain)
    assert started["record_type"] == "TXT"
    assert started["record_name"] == f"_propylon-challenge.{domain}"
    value = str(started["record_value"])
    assert value.startswith("propylon-domain-verification=") and len(value) > 50
    assert started["source"] == "self_service" and started["verified"] is False
    # a second start keeps the value, so a record already published stays good
    assert claim(site, org.slug, domain)["record_value"] == value

    # unproved: the domain is no tenant's, so its people see the individual sign-in
    assert "No organisation uses the domain" in await goes_to(site, org.app, f"al@{domain}")

    code, out = verify(site, org.slug, domain)
    assert code == 1 and out["outcome"] == "record_missing" and out["verified"] is False
    dns_server.publish(f"_propylon-challenge.{domain}", "propylon-domain-verification=wrong")
    code, out = verify(site, org.slug, domain)
    assert code == 1 and out["outcome"] == "value_mismatch"
    assert "No organisation uses the domain" in await goes_to(site, org.app, f"al@{domain}")

    dns_server.publish(f"_propylon-challenge.{domain}", "v=spf1 -all", value)
    code, out = verify(site, org.slug, domain)
    assert code == 0 and out["outcome"] == "verified" and out["verified"] is True
    assert out["verified_at"] is not None and out["lapsed_at"] is None
    assert await goes_to(site, org.app, f"al@{domain}") == SSO
    audit = site.cli_json("audit", "list", org.slug, "--action", "domain.verify")
    assert [e["outcome"] for e in audit][:3] == ["success"] * 3


async def test_a_verified_domain_whose_record_is_gone_lapses_and_stops_routing(
    site: Server, dns_server: DnsServer
) -> None:
    org = await new_org(site)
    domain = f"lapsing-{secrets.token_hex(4)}.example.org"
    value = str(claim(site, org.slug, domain)["record_value"])
    name = f"_propylon-challenge.{domain}"
    dns_server.publish(name, value)
    assert verify(site, org.slug, domain)[0] == 0

    # still there: the re-check keeps it
    outcomes = await domain_ops.recheck_due(site.rt)
    assert outcomes[domain] == "verified"
    assert await goes_to(site, org.app, f"bo@{domain}") == SSO

    # the DNS cannot be asked: no lapse on a failure to ask
    dns_server.failing.add(name)
    assert (await domain_ops.recheck_due(site.rt))[domain] == "dns_error"
    assert await goes_to(site, org.app, f"bo@{domain}") == SSO
    dns_server.failing.discard(name)

    dns_server.withdraw(name)
    assert (await domain_ops.recheck_due(site.rt))[domain] == "record_missing"
    listed = {d["domain"]: d for d in site.cli_json("domain", "list", org.slug)}
    assert listed[domain]["lapsed_at"] is not None and listed[domain]["verified"] is False
    assert "No organisation uses the domain" in await goes_to(site, org.app, f"bo@{domain}")
    lapses = site.cli_json("audit", "list", org.slug, "--action", "domain.lapse")
    assert len(lapses) == 1 and lapses[0]["outcome"] == "success"
    # a lapsed domain is not re-checked again; proving it anew restores it
    assert domain not in await domain_ops.recheck_due(site.rt)
    dns_server.publish(name, value)
    assert verify(site, org.slug, domain)[0] == 0
    assert await goes_to(site, org.app, f"bo@{domain}") == SSO


async def test_the_management_api_proves_a_domain_like_the_cli(
    site: Server, dns_server: DnsServer
) -> None:
    org = await new_org(site)
    domain = f"api-{secrets.token_hex(4)}.example.org"
    async with site.api("/api/v1") as api:
        r = await api.post(f"/tenants/{org.slug}/domains/{domain}/verification")
        assert r.status_code == 201, r.text
        value = r.json()["record_value"]
        r = await api.post(f"/tenants/{org.slug}/domains/{domain}/verify")
        assert r.status_code == 200 and r.json()["outcome"] == "record_missing"
        dns_server.publish(f"_propylon-challenge.{domain}", value)
        r = await api.post(f"/tenants/{org.slug}/domains/{domain}/verify")
        assert r.json()["outcome"] == "verified" and r.json()["verified"] is True


async def test_consumer_mail_domains_can_never_be_added_or_claimed(site: Server) -> None:
    org = await new_org(site)
    # the CLI's answer for a claim and an addition (each CLI call starts a process) ...
    r = site.cli("domain", "verify-start", org.slug, "gmail.com", "--json", check=False)
    assert r.returncode == 1 and '"invalid_input"' in r.stdout, r.stdout
    r = site.cli("domain", "add", org.slug, "gmx.de", "--json", check=False)
    assert r.returncode == 1 and "consumer mail domain" in r.stdout
    r = site.cli(
        "tenant",
        "create",
        f"c-{secrets.token_hex(3)}",
        "--name",
        "C",
        "--domain",
        "hotmail.com",
        "--json",
        check=False,
    )
    assert r.returncode == 1 and "consumer mail domain" in r.stdout
    # ... and the same service through the API for more of the list
    async with site.api("/api/v1") as api:
        for domain in ("outlook.com", "yahoo.co.uk", "qq.com", "proton.me", "icloud.com"):
            r = await api.post(f"/tenants/{org.slug}/domains", json={"domain": domain})
            assert r.status_code == 400 and "consumer mail domain" in r.text, (domain, r.text)
            r = await api.post(f"/tenants/{org.slug}/domains/{domain}/verification")
            assert r.status_code == 400, (domain, r.text)


async def test_a_domain_of_another_tenant_cannot_be_claimed(site: Server) -> None:
    owner = await new_org(site)
    other = f"o-{secrets.token_hex(4)}"
    await ops.create_tenant(site.rt, CLI, slug=other, name="Other", domains=[], seats=None)
    r = site.cli("domain", "verify-start", other, owner.domain, "--json", check=False)
    assert r.returncode == 1 and '"already_exists"' in r.stdout
    # the operator's own domain needs no proof
    r = site.cli("domain", "verify-start", owner.slug, owner.domain, "--json", check=False)
    assert r.returncode == 1 and "needs no DNS proof" in r.stdout
    assert await goes_to(site, owner.app, f"cy@{owner.domain}") == SSO
