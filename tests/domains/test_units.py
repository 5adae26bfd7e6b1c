"""The pure parts: which domains are consumer mail domains, the DNS proof's outcomes, the
nameserver setting, and the page that sends a person from a refused method to SSO."""

from __future__ import annotations

import dns.nameserver
import pytest

from propylon.api.email_first import sso_required_page, with_params
from propylon.tenants.consumer_domains import is_consumer_domain
from propylon.tenants.domain_proof import (
    DNS_ERROR,
    RECORD_MISSING,
    VALUE_MISMATCH,
    VERIFIED,
    TxtAnswer,
    parse_nameservers,
    proof_outcome,
)
from propylon.tenants.login_routes import LoginRoute


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "googlemail.com",
        "hotmail.co.uk",
        "outlook.fr",
        "gmx.de",
        "gmx.net",
        "yahoo.co.jp",
        "icloud.com",
        "proton.me",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "eu.gmail.com",
    ],
)
def test_consumer_mail_domains_are_recognised(domain: str) -> None:
    assert is_consumer_domain(domain)


@pytest.mark.parametrize(
    "domain", ["acme.com", "notgmail.com", "gmail.acme.com", "gmx.acme.com", "proton.acme.io"]
)
def test_organisation_domains_are_not_consumer_domains(domain: str) -> None:
    assert not is_consumer_domain(domain)


def test_proof_outcomes() -> None:
    value = "propylon-domain-verification=abc"
    assert proof_outcome(TxtAnswer(("v=spf1 -all", value + " ")), value) == VERIFIED
    assert proof_outcome(TxtAnswer((value + "d",)), value) == VALUE_MISMATCH
    assert proof_outcome(TxtAnswer(("é",)), value) == VALUE_MISMATCH
    assert proof_outcome(TxtAnswer(absent=True), value) == RECORD_MISSING
    assert proof_outcome(TxtAnswer(error="timeout"), value) == DNS_ERROR


def test_nameservers_setting() -> None:
    parsed = parse_nameservers("10.0.0.53, 127.0.0.1:5353, [::1]:5300, ::1")
    assert all(isinstance(n, dns.nameserver.Do53Nameserver) for n in parsed)
    assert [(n.address, n.port) for n in parsed] == [
        ("10.0.0.53", 53),
        ("127.0.0.1", 5353),
        ("::1", 5300),
        ("::1", 53),
    ]


def test_a_refused_method_sends_the_person_to_sso() -> None:
    route = LoginRoute(
        "sso",
        tenant_name="Acme",
        tenant_slug="acme",
        connection_id="conn_1",
        protocol="saml",
        enforce_sso=True,
    )
    assert route.refuses("password") and route.refuses("google")
    resume = "/oauth2/authorize?client_id=c&login_hint=old%40x.test"
    r = sso_required_page(route, resume, "ada@acme.com")
    html = bytes(r.body).decode()
    assert r.status_code == 403 and "Acme signs its people in through single sign-on only" in html
    link = with_params(resume, login_hint="ada@acme.com", organization="acme")
    assert f'id="sso-link" href="{link.replace("&", "&amp;")}"' in html
    # never a link off the platform
    r = sso_required_page(route, "https://evil.test/", "ada@acme.com")
    assert "sso-link" not in bytes(r.body).decode()
    assert not LoginRoute("methods", methods=("password",)).refuses("password")
