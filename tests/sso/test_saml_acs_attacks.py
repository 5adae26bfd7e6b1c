"""HTTP-level attacks at the ACS: every malformed or hostile POST gets a readable 4xx page,
never a 500 and never a session cookie; the audit trail says why."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.saml.idp import DIGEST_SHA1, SIG_RSA_SHA1, Spec, build, make_keypair, response_xml
from tests.sso.test_saml_login import IDP, Org, new_org, start

ATTACKER = make_keypair("attacker")


def spec_for(org: Org, email: str, request_id: str, **kw: object) -> Spec:
    acs = org.connection["acs_url"]
    return Spec(
        now=dt.datetime.now(dt.UTC),
        issuer=IDP,
        destination=acs,
        recipient=acs,
        audience=org.connection["sp_entity_id"],
        in_response_to=request_id,
        name_id=email,
        attributes={"email": [email]},
        assertion_id="id" + request_id,
        response_id="idr" + request_id,
    ).replace(**kw)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def refused(r: httpx.Response, status: int | tuple[int, ...] = 400) -> None:
    allowed = (status,) if isinstance(status, int) else status
    assert r.status_code in allowed, (r.status_code, r.text[:300])
    assert "set-cookie" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower() and "Traceback" not in r.text


@pytest.fixture
async def org(server: Server) -> Org:
    return await new_org(server)


async def _post_for(
    server: Server, org: Org, email: str, make: object, **post_kw: object
) -> httpx.Response:
    """Start a real SP-initiated login, then post what ``make(request_id)`` builds."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        saml = make(request_id)  # type: ignore[operator]
        acs = urlsplit(org.connection["acs_url"]).path
        return await browser.post(acs, data={"SAMLResponse": saml, "RelayState": relay})


async def test_malformed_bodies_get_a_page_not_a_500(server: Server, org: Org) -> None:
    email = f"m@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    acs = urlsplit(org.connection["acs_url"]).path
    valid = response_xml(spec_for(org, email, "_x")).encode()
    bad_values = [
        "%%% not base64 %%%",
        b64(valid[: len(valid) // 2]),  # truncated XML
        b64(valid.replace(b"<saml2:Issuer", b"<saml2:Issuer\x00", 1)),  # NUL byte
        b64(b"\xff\xfe" + valid.decode().encode("utf-16-le")),  # UTF-16 with BOM
        b64(b"\xef\xbb\xbf" + valid),  # UTF-8 BOM in front of unsigned XML
        b64(b"not xml at all"),
        b64(b""),
        "",
    ]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        for value in bad_values:
            refused(await c.post(acs, data={"SAMLResponse": value, "RelayState": "x"}))
        refused(await c.post(acs, data={}))
        refused(await c.post(acs, content=b""))
        refused(
            await c.post(acs, json={"SAMLResponse": b64(valid)}),  # wrong content type
        )
        refused(
            await c.post(acs, files={"SAMLResponse": ("r.xml", valid)}),  # multipart
        )
        refused(
            await c.post(
                acs,
                content=b"SAMLResponse=" + b"A" * (server.rt.settings.saml_max_response_bytes * 3),
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            (400, 413),
        )
        refused(
            await c.post(
                acs,
                content="SAMLResponse=é".encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        )
        refused(await c.post("/saml/samlc_unknown/acs", data={"SAMLResponse": b64(valid)}), 404)
        r = await c.get(acs)
        assert r.status_code == 405 and "set-cookie" not in r.headers


async def test_hostile_responses_are_refused_with_the_reason_audited(
    server: Server, org: Org
) -> None:
    email = f"h@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))

    def signed(request_id: str, **kw: object) -> str:
        return b64(build(spec_for(org, email, request_id, **kw), idp=org.idp))

    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;'
        b"</samlp:Response>"
    )
    cases = {
        "doctype": lambda rid: b64(xxe),
        "attacker_key": lambda rid: b64(
            build(spec_for(org, email, rid), idp=ATTACKER, sign_response=True)
        ),
        "unsigned_tampered": lambda rid: b64(
            build(
                spec_for(org, email, rid, name_id=f"admin@{org.domain}"),
                idp=org.idp,
                sign_assertion=False,
            )
        ),
        "sha1": lambda rid: b64(
            build(spec_for(org, email, rid), idp=org.idp, method=SIG_RSA_SHA1, digest=DIGEST_SHA1)
        ),
        "audience": lambda rid: signed(rid, audience="https://other-sp.example/"),
        "destination": lambda rid: signed(rid, destination="https://evil.example/acs"),
        "expired": lambda rid: signed(rid, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)),
    }
    for name, make in cases.items():
        r = await _post_for(server, org, email, make)
        refused(r)
        assert "Sign-in failed" in r.text, name
    # the tampered, unsigned assertion carried a signature taken from a valid one
    valid = build(spec_for(org, email, "_y"), idp=org.idp)
    tampered = valid.replace(email.encode(), f"admin@{org.domain}".encode())
    refused(await _post_for(server, org, email, lambda rid: b64(tampered)))

    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login", "--limit", "50")
    reasons = {r["reason"] for r in rows if r["outcome"] == "failure"}
    assert {
        "doctype_forbidden",
        "sha1_forbidden",
        "audience_mismatch",
        "destination_mismatch",
    } <= reasons, reasons
    assert reasons & {"signature_invalid", "signature_missing", "assertion_signature_missing"}
    assert reasons & {"assertion_expired", "subject_confirmation_expired"}
    assert not [r for r in rows if r["outcome"] == "success"]
